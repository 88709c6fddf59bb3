namespace AgentCorex.Web.Storage;

public enum StorageProvider
{
    /// <summary>A SQLite file next to the server: nothing to install.</summary>
    Embedded,
}

public sealed class StorageOptions
{
    public const string Section = "Storage";

    public const string DefaultConnectionString = "Data Source=data/agentcorex.db";

    public StorageProvider Provider { get; set; } = StorageProvider.Embedded;

    /// <summary>The embedded database's PRAGMA synchronous: NORMAL (durable across process crashes) or FULL (also across power loss).</summary>
    public string SqliteSynchronous { get; set; } = "NORMAL";

    public static StorageOptions From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<StorageOptions>() ?? new StorageOptions();
}
