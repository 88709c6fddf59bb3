using System.Text.RegularExpressions;
using FluentValidation;
using FluentValidation.Validators;

namespace AgentCorex.Tools;

/// <summary>
/// A pattern published in a schema, where JSON Schema reads it as ECMA-262 does (<c>$</c> the very end), checked in .NET
/// without backtracking, in time linear in the client's string: its end (<c>(?!\n)$</c> or <c>$</c>) is <c>\z</c>,
/// as the lookahead <c>(?!\n)</c> that makes .NET's <c>$</c> agree cannot run without backtracking.
/// </summary>
public static class PublishedPatterns
{
    public static Regex Strict(string pattern) => new(
        pattern.EndsWith(LookaheadEnd, StringComparison.Ordinal) ? pattern[..^LookaheadEnd.Length] + @"\z"
            : pattern.EndsWith('$') && !pattern.EndsWith(@"\$", StringComparison.Ordinal) ? pattern[..^1] + @"\z"
            : pattern,
        RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);

    private const string LookaheadEnd = @"(?!\n)$";

    /// <summary>As FluentValidation's <c>Matches</c>, publishing <paramref name="pattern"/> as written, checked by <see cref="Strict"/>. Null passes.</summary>
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
