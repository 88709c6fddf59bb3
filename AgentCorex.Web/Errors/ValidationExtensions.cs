using System.Reflection;
using System.Text.Json.Serialization.Metadata;
using FluentValidation;
using FluentValidation.Internal;
using FluentValidation.Validators;

namespace AgentCorex.Web.Errors;

public static class ValidationExtensions
{
    /// <summary>
    /// Validates a request (its rules are all synchronous); the first failure becomes INVALID_ARGUMENTS naming the field,
    /// or no field for a rule on the whole request (FluentValidation gives it an empty name).
    /// </summary>
    public static void ValidateOrThrow<T>(this IValidator<T> validator, T instance)
    {
        var result = validator.Validate(instance);
        if (!result.IsValid)
        {
            var first = result.Errors[0];
            throw ApiErrors.InvalidArguments(first.ErrorMessage, first.PropertyName is { Length: > 0 } name ? name : null);
        }
    }

    /// <summary>A listing's limit: 1 to <see cref="Api.PageQuery.MaxLimit"/> items a page.</summary>
    public static IRuleBuilderOptions<T, int> IsAPageLimit<T>(this IRuleBuilder<T, int> limit) =>
        limit.InclusiveBetween(1, Api.PageQuery.MaxLimit);

    /// <summary>A listing's offset: 0 or more, said in the words of the other bounds ("... You entered -1.").</summary>
    public static IRuleBuilderOptions<T, int> IsAnOffset<T>(this IRuleBuilder<T, int> offset) =>
        offset.GreaterThanOrEqualTo(0).WithMessage("'{PropertyName}' must be 0 or more. You entered {PropertyValue}.");

    /// <summary>One of these words; the OpenAPI document gives them as the field's or the query parameter's enum.</summary>
    public static IRuleBuilderOptions<T, string?> IsOneOf<T>(this IRuleBuilder<T, string?> value, IReadOnlyList<string> values) =>
        value.SetValidator(new OneOfValidator<T>(values));

    /// <summary>No item twice; the OpenAPI document says <c>uniqueItems</c>.</summary>
    public static IRuleBuilderOptions<T, IReadOnlyList<string>?> HasNoRepeats<T>(this IRuleBuilder<T, IReadOnlyList<string>?> list) =>
        list.SetValidator(new DistinctItemsValidator<T>());

    /// <summary>
    /// A validator's rules for one property of a JSON type that always apply (no condition on the rule), found by
    /// every name FluentValidation may have given them: its resolver's at the time (the JSON name, once the tools
    /// have set it), and the member's (its default, for rules made before).
    /// </summary>
    public static IEnumerable<IValidationRule> UnconditionalRulesFor(this IValidatorDescriptor descriptor, Type type, JsonPropertyInfo property)
    {
        List<string?> names = [property.Name];
        if (property.AttributeProvider is MemberInfo member)
        {
            names.Add(member.Name);
            names.Add(ValidatorOptions.Global.PropertyNameResolver(type, member, null));
        }
        return names.OfType<string>().Distinct(StringComparer.Ordinal)
            .SelectMany(descriptor.GetRulesForMember)
            .Distinct()
            .Where(rule => !rule.HasCondition && !rule.HasAsyncCondition);
    }

    /// <summary>The checks that always apply to the property itself (not to each of its items), in no rule or check with a condition.</summary>
    public static IEnumerable<IPropertyValidator> UnconditionalChecksOf(this IValidatorDescriptor descriptor, Type type, JsonPropertyInfo property) =>
        descriptor.UnconditionalRulesFor(type, property)
            .Where(rule => !rule.IsForEachItem())
            .SelectMany(rule => rule.Components)
            .Where(c => !c.HasCondition && !c.HasAsyncCondition)
            .Select(c => c.Validator);

    /// <summary>The checks that always apply to each item of the property, a list (a RuleForEach without a condition).</summary>
    public static IEnumerable<IPropertyValidator> UnconditionalItemChecksOf(this IValidatorDescriptor descriptor, Type type, JsonPropertyInfo property) =>
        descriptor.UnconditionalRulesFor(type, property)
            .Where(rule => rule.IsForEachItem())
            .SelectMany(rule => rule.Components)
            .Where(c => !c.HasCondition && !c.HasAsyncCondition)
            .Select(c => c.Validator);

    /// <summary>Whether the validator insists on a value: an unconditional NotNull or NotEmpty on the property itself, not on each of its items.</summary>
    public static bool Demands(this IValidatorDescriptor descriptor, Type type, JsonPropertyInfo property) =>
        descriptor.UnconditionalChecksOf(type, property).Any(check => check is INotNullValidator or INotEmptyValidator);

    /// <summary>A RuleForEach: its rules are for each item of a list, not for the list.</summary>
    public static bool IsForEachItem(this IValidationRule rule) =>
        rule.GetType().GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ICollectionRule<,>));
}
