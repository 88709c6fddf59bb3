namespace AgentCorex.Web.Execution;

public static class ExecutionExtensions
{
    public static WebApplicationBuilder AddExecution(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ExecutionOptions>().BindConfiguration(ExecutionOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.DefaultTimeoutMs <= o.MaxTimeoutMs, "Execution:DefaultTimeoutMs must not exceed Execution:MaxTimeoutMs.")
            .ValidateOnStart();
        builder.Services.AddSingleton<ToolRunner>();
        builder.Services.AddSingleton<RunningExecutions>();
        return builder;
    }
}
