using System.Text.RegularExpressions;
using FluentValidation;
using FluentValidation.Validators;

namespace AgentCorex.Tools;

/// <summary>
/// A pattern published in a schema, where JSON Schema reads it as ECMA-262 does (<c>$</c> the very end), checked in .NET
/// without backtracking (<see cref="RegexOptions.NonBacktracking"/>), in time linear in the client's string. Every
/// <c>$</c> outside a character class, and every <c>(?!\n)$</c>, is checked as <c>\z</c>: .NET's own <c>$</c> also
/// matches before a final newline, and the lookahead <c>(?!\n)</c> that makes it agree cannot run without backtracking.
/// <c>\d</c>, <c>\w</c>, <c>\s</c>, their negations and <c>.</c> are checked as ECMA-262's sets (ASCII digits, not
/// <c>١٢٣</c>; see <see cref="EcmaPatternTranslation"/>).
/// </summary>
/// <remarks>
/// Without backtracking .NET has no lookarounds (but that <c>(?!\n)$</c>), backreferences, atomic groups nor
/// conditionals, nor a word boundary by ASCII's word characters: a pattern with one, with <c>\b</c> or <c>\B</c>, or with
/// syntax of .NET's alone, which ECMA-262 reads otherwise or refuses (inline options, <c>\A</c>, <c>\z</c>, <c>\p{L}</c>, a
/// class subtraction...: see <see cref="EcmaPatternTranslation"/>), is refused with an <see cref="ArgumentException"/>
/// naming it when its regex or validator is made (a tool's validator is made at start, which it then stops).
/// </remarks>
public static class PublishedPatterns
{
    /// <summary>The regex that checks <paramref name="pattern"/> as published (see the class).</summary>
    /// <exception cref="ArgumentException">The pattern is not a .NET regex, or one that cannot run without backtracking.</exception>
    public static Regex Strict(string pattern)
    {
        try
        {
            return new Regex(EcmaPatternTranslation.ToDotNet(pattern), RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
        }
        catch (NotSupportedException e)
        {
            throw new ArgumentException(
                $"The pattern '{pattern}' cannot be checked without backtracking: {e.Message} Write it without lookarounds "
                + $"(other than {EcmaPatternTranslation.LookaheadEnd}), backreferences, atomic groups and conditionals.", nameof(pattern), e);
        }
        catch (RegexParseException e)
        {
            // Its message quotes the pattern as translated (\d as [0-9]); the one written is what its author looks for.
            throw new ArgumentException($"The pattern '{pattern}' is not a valid regular expression: {e.Message}", nameof(pattern), e);
        }
    }

    /// <summary>
    /// As FluentValidation's <c>Matches</c>, publishing <paramref name="pattern"/> as written, checked by <see cref="Strict"/>
    /// (every <c>$</c> the end of the string; no lookarounds, backreferences, atomic groups nor conditionals). Null passes.
    /// </summary>
    /// <exception cref="ArgumentException">The pattern is not a .NET regex, or one that cannot run without backtracking.</exception>
    public static IRuleBuilderOptions<T, string?> MatchesPublished<T>(this IRuleBuilder<T, string?> rule, string pattern) =>
        rule.SetValidator(new PublishedPatternValidator<T>(pattern));

    private sealed class PublishedPatternValidator<T>(string pattern) : PropertyValidator<T, string?>, IRegularExpressionValidator
    {
        private readonly Regex strict = Strict(pattern);

        public override string Name => "RegularExpressionValidator";

        public string Expression => pattern;

        public override bool IsValid(ValidationContext<T> context, string? value) => value is null || strict.IsMatch(value);

        protected override string GetDefaultMessageTemplate(string errorCode) => Localized(errorCode, Name);
    }
}
