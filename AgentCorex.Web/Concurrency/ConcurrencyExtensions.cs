using AgentCorex.Web.Storage;

namespace AgentCorex.Web.Concurrency;

public static class ConcurrencyExtensions
{
    /// <summary>Each key's limit of tool executions at once (its plan's max_concurrent, or its own), held on every node.</summary>
    public static WebApplicationBuilder AddConcurrencyLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<KeySlotLock>();
        if (StorageOptions.From(builder.Configuration).Provider == StorageProvider.Embedded)
        {
            builder.Services.AddSingleton<IDirectExecutions, InMemoryDirectExecutions>();
            builder.Services.AddSingleton<ISlotQueries, SqliteSlotQueries>();
        }
        else
        {
            builder.Services.AddSingleton<IDirectExecutions, DatabaseDirectExecutions>();
            builder.Services.AddSingleton<ISlotQueries, CompiledSlotQueries>();
        }
        builder.Services.AddSingleton<FailedHandOvers>();
        builder.Services.AddScoped<ExecutionSlots>();
        builder.Services.AddHostedService<ParkedJobsSweeper>();
        return builder;
    }
}
