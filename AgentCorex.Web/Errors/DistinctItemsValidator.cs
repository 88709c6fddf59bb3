using FluentValidation;
using FluentValidation.Validators;

namespace AgentCorex.Web.Errors;

/// <summary>A check that a list names nothing twice, which the OpenAPI document can read as <c>uniqueItems</c> (a Must cannot be).</summary>
public interface IDistinctItemsValidator : IPropertyValidator;

/// <summary>No item twice, compared ordinally; null passes, as for FluentValidation's own checks (NotNull refuses it).</summary>
public sealed class DistinctItemsValidator<T> : PropertyValidator<T, IReadOnlyList<string>?>, IDistinctItemsValidator
{
    public override string Name => "DistinctItemsValidator";

    public override bool IsValid(ValidationContext<T> context, IReadOnlyList<string>? value) =>
        value is null || value.Distinct(StringComparer.Ordinal).Count() == value.Count;

    protected override string GetDefaultMessageTemplate(string errorCode) => "'{PropertyName}' must not name anything twice";
}
