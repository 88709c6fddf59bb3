using System.Text;
using System.Text.RegularExpressions;
using FluentValidation;
using FluentValidation.Validators;

namespace AgentCorex.Tools;

/// <summary>
/// A pattern published in a schema, where JSON Schema reads it as ECMA-262 does (<c>$</c> the very end), checked in .NET
/// without backtracking (<see cref="RegexOptions.NonBacktracking"/>), in time linear in the client's string. Every
/// <c>$</c> outside a character class, and every <c>(?!\n)$</c>, is checked as <c>\z</c>: .NET's own <c>$</c> also
/// matches before a final newline, and the lookahead <c>(?!\n)</c> that makes it agree cannot run without backtracking.
/// </summary>
/// <remarks>
/// Without backtracking .NET has no lookarounds (but that <c>(?!\n)$</c>), backreferences, atomic groups nor
/// conditionals: a pattern with one, or with an inline <c>m</c> option (<c>$</c> the end of a line), is refused with
/// an <see cref="ArgumentException"/> naming it when its regex or validator is made (a tool's validator is made at
/// start, which it then stops).
/// </remarks>
public static partial class PublishedPatterns
{
    private const string LookaheadEnd = @"(?!\n)$";

    /// <summary>The regex that checks <paramref name="pattern"/> as published (see the class).</summary>
    /// <exception cref="ArgumentException">The pattern is not a .NET regex, or one that cannot run without backtracking.</exception>
    public static Regex Strict(string pattern)
    {
        try
        {
            return new Regex(AsPublished(pattern), RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
        }
        catch (NotSupportedException e)
        {
            throw new ArgumentException(
                $"The pattern '{pattern}' cannot be checked without backtracking: {e.Message} Write it without lookarounds "
                + $"(other than {LookaheadEnd}), backreferences, atomic groups and conditionals.", nameof(pattern), e);
        }
    }

    /// <summary>
    /// As FluentValidation's <c>Matches</c>, publishing <paramref name="pattern"/> as written, checked by <see cref="Strict"/>
    /// (every <c>$</c> the end of the string; no lookarounds, backreferences, atomic groups nor conditionals). Null passes.
    /// </summary>
    /// <exception cref="ArgumentException">The pattern is not a .NET regex, or one that cannot run without backtracking.</exception>
    public static IRuleBuilderOptions<T, string?> MatchesPublished<T>(this IRuleBuilder<T, string?> rule, string pattern) =>
        rule.SetValidator(new PublishedPatternValidator<T>(pattern));

    /// <summary>
    /// The pattern with each <c>$</c> (or <c>(?!\n)$</c>) outside a character class as <c>\z</c>. Escapes, character
    /// classes (a <c>]</c> first in one is literal; <c>-[...]</c> subtracts a nested one) and comments are read as .NET
    /// reads them; an inline <c>m</c> option, which makes <c>$</c> the end of a line, is refused.
    /// </summary>
    private static string AsPublished(string pattern)
    {
        var text = new StringBuilder(pattern.Length + 8);
        var classes = 0; // character classes open (a subtraction nests one)
        var literalBracketAt = -1;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                text.Append(c).Append(pattern[++i]);
                continue;
            }
            if (c == '[' && (classes == 0 || pattern[i - 1] == '-' && pattern[i - 2] != '\\'))
            {
                classes++;
                literalBracketAt = i + 1 < pattern.Length && pattern[i + 1] == '^' ? i + 2 : i + 1;
            }
            else if (classes > 0)
            {
                classes -= c == ']' && i != literalBracketAt ? 1 : 0;
            }
            else if (pattern.AsSpan(i).StartsWith("(?#"))
            {
                var end = pattern.IndexOf(')', i);
                text.Append(pattern, i, (end < 0 ? pattern.Length : end + 1) - i);
                i = end < 0 ? pattern.Length : end;
                continue;
            }
            else if (InlineMultiline().IsMatch(pattern.AsSpan(i)))
            {
                throw new ArgumentException(
                    $"The pattern '{pattern}' sets the inline option m: its $ would be the end of a line, where JSON Schema reads the end of the string.",
                    nameof(pattern));
            }
            else if (c == '$' || pattern.AsSpan(i).StartsWith(LookaheadEnd))
            {
                text.Append(@"\z");
                i += c == '$' ? 0 : LookaheadEnd.Length - 1;
                continue;
            }
            text.Append(c);
        }
        return text.ToString();
    }

    [GeneratedRegex(@"\A\(\?[imnsx-]*m[imnsx-]*[:)]", RegexOptions.CultureInvariant)]
    private static partial Regex InlineMultiline();

    private sealed class PublishedPatternValidator<T>(string pattern) : PropertyValidator<T, string?>, IRegularExpressionValidator
    {
        private readonly Regex strict = Strict(pattern);

        public override string Name => "RegularExpressionValidator";

        public string Expression => pattern;

        public override bool IsValid(ValidationContext<T> context, string? value) => value is null || strict.IsMatch(value);

        protected override string GetDefaultMessageTemplate(string errorCode) => Localized(errorCode, Name);
    }
}
