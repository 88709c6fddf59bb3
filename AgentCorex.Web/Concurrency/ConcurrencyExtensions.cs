using AgentCorex.Web.Storage;

namespace AgentCorex.Web.Concurrency;

public static class ConcurrencyExtensions
{
    /// <summary>Each key's limit of tool executions at once (its plan's max_concurrent, or its own), held on every node.</summary>
    public static WebApplicationBuilder AddConcurrencyLimits(this WebApplicationBuilder builder)
    {
        var provider = StorageOptions.From(builder.Configuration).Provider;
        builder.Services.AddSingleton<KeySlotLock>();
        if (provider == StorageProvider.Embedded)
        {
            builder.Services.AddSingleton<IDirectExecutions, InMemoryDirectExecutions>();
            builder.Services.AddSingleton<ISlotQueries, SqliteSlotQueries>();
        }
        else
        {
            builder.Services.AddSingleton<IDirectExecutions, DatabaseDirectExecutions>();
            builder.Services.AddSingleton<ISlotQueries, DatabaseSlotQueries>();
            if (provider == StorageProvider.PostgreSql)
            {
                builder.Services.AddSingleton<KeySlotCompaction>();
                builder.Services.AddHostedService(services => services.GetRequiredService<KeySlotCompaction>());
            }
        }
        builder.Services.AddSingleton<FailedHandOvers>();
        builder.Services.AddScoped<ExecutionSlots>();
        builder.Services.AddHostedService<ParkedJobsSweeper>();
        return builder;
    }
}
