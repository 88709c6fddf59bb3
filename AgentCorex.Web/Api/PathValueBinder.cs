using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.Mvc.ModelBinding.Validation;

namespace AgentCorex.Web.Api;

/// <summary>
/// Reads a path segment (a tool name, a job, key or webhook id) as the client wrote it. MVC's own binding turns a
/// segment of whitespace (<c>/tools/%20</c>) into null and then refuses the non-nullable parameter as missing, a
/// 400 INVALID_ARGUMENTS; but the route matched and the segment is there: it names nothing, and the action answers
/// its own 404 (TOOL_NOT_FOUND, JOB_NOT_FOUND...) as for any other name that names nothing.
/// </summary>
internal sealed class PathValueBinder : IModelBinder
{
    public Task BindModelAsync(ModelBindingContext context)
    {
        var value = context.ValueProvider.GetValue(context.ModelName).FirstValue;
        if (value is not null)
        {
            context.Result = ModelBindingResult.Success(value);
            // A segment is never empty, and whitespace is a value here: nothing to validate.
            context.ValidationState[value] = new ValidationStateEntry { SuppressValidation = true };
        }
        return Task.CompletedTask;
    }
}

/// <summary>Puts <see cref="PathValueBinder"/> on every string parameter bound from the path.</summary>
internal sealed class PathValueBinderProvider : IModelBinderProvider
{
    public IModelBinder? GetBinder(ModelBinderProviderContext context) =>
        context.BindingInfo.BindingSource == BindingSource.Path && context.Metadata.ModelType == typeof(string) ? new PathValueBinder() : null;
}
