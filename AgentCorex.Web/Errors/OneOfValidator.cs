using FluentValidation;
using FluentValidation.Validators;

namespace AgentCorex.Web.Errors;

/// <summary>A check that a value is one of a fixed set of words, which the OpenAPI document can read (a Must cannot be).</summary>
public interface IOneOfValidator : IPropertyValidator
{
    IReadOnlyList<string> Values { get; }
}

/// <summary>One of <see cref="Values"/>, compared ordinally; null passes, as for FluentValidation's own checks (NotEmpty refuses it).</summary>
public sealed class OneOfValidator<T>(IReadOnlyList<string> values) : PropertyValidator<T, string?>, IOneOfValidator
{
    public IReadOnlyList<string> Values => values;

    public override string Name => "OneOfValidator";

    public override bool IsValid(ValidationContext<T> context, string? value) => value is null || values.Contains(value, StringComparer.Ordinal);

    protected override string GetDefaultMessageTemplate(string errorCode) => $"'{{PropertyName}}' must be one of: {string.Join(", ", values)}";
}
