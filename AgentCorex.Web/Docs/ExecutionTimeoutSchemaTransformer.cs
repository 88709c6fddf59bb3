using System.Reflection;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Jobs;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// POST /execute_tool's timeout_ms is bounded by its mode: a direct run's by Execution:MaxTimeoutMs, a job's by
/// Jobs:MaxTimeoutMs. A schema has one maximum, the larger (ValidatorBoundsSchemaTransformer); without this description
/// a client checking against it alone would send a direct run 300001 and be refused (JSON Schema's if/then could tie a bound
/// to the mode, but no generator reads it). The numbers are the settings in force.
/// </summary>
internal sealed class ExecutionTimeoutSchemaTransformer(IOptions<ExecutionOptions> execution, IOptions<JobsOptions> jobs) : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonPropertyInfo is { AttributeProvider: PropertyInfo { Name: nameof(ExecuteToolRequest.TimeoutMs) } property }
            && property.DeclaringType == typeof(ExecuteToolRequest))
        {
            var (direct, job) = (execution.Value, jobs.Value);
            schema.Description = $"Milliseconds the tool may run, by mode: 1 to {direct.MaxTimeoutMs} (Execution:MaxTimeoutMs) run directly "
                + $"(\"sync\", or mode left out), 1 to {job.MaxTimeoutMs} (Jobs:MaxTimeoutMs) as a job (\"async\"). The schema's maximum is "
                + $"the larger, yet a direct run given more than {direct.MaxTimeoutMs} is refused: 400 INVALID_ARGUMENTS, argument timeout_ms. "
                + $"Left out: {direct.DefaultTimeoutMs} (Execution:DefaultTimeoutMs), or {job.DefaultTimeoutMs} (Jobs:DefaultTimeoutMs) for a job.";
        }
        return Task.CompletedTask;
    }
}
