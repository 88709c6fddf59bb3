using FluentValidation;

namespace AgentCorex.Web.Errors;

public static class ValidationExtensions
{
    /// <summary>Validates a request (its rules are all synchronous); the first failure becomes INVALID_ARGUMENTS naming the field.</summary>
    public static void ValidateOrThrow<T>(this IValidator<T> validator, T instance)
    {
        var result = validator.Validate(instance);
        if (!result.IsValid)
        {
            var first = result.Errors[0];
            throw ApiErrors.InvalidArguments(first.ErrorMessage, first.PropertyName);
        }
    }
}
