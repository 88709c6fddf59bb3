using FluentValidation;

namespace AgentCorex.Web.Errors;

public static class ValidationExtensions
{
    /// <summary>Validates a request; the first failure becomes INVALID_ARGUMENTS naming the field.</summary>
    public static async Task ValidateOrThrowAsync<T>(this IValidator<T> validator, T instance, CancellationToken cancellationToken)
    {
        var result = await validator.ValidateAsync(instance, cancellationToken);
        if (!result.IsValid)
        {
            var first = result.Errors[0];
            throw ApiErrors.InvalidArguments(first.ErrorMessage, first.PropertyName);
        }
    }
}
