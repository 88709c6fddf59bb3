using AgentCorex.Web.Api;

namespace AgentCorex.Web.Storage;

public enum StorageProvider
{
    /// <summary>A SQLite file next to the server: nothing to install; one node.</summary>
    Embedded,

    /// <summary>A shared PostgreSQL database: any number of nodes.</summary>
    PostgreSql,

    /// <summary>A shared SQL Server database: any number of nodes.</summary>
    SqlServer,
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

    /// <summary>
    /// ConnectionStrings:AgentCorex; the embedded default needs none, a server database does. White space alone is unset:
    /// SQLite read it as an in-memory database, Npgsql as one with no host.
    /// </summary>
    public static string ConnectionString(IConfiguration configuration, StorageProvider provider) =>
        configuration.GetConnectionString("AgentCorex") switch
        {
            { } configured when !string.IsNullOrWhiteSpace(configured) => configured,
            _ when provider == StorageProvider.Embedded => DefaultConnectionString,
            _ => throw new StartupRefusedException(
                $"Storage:Provider is {provider}: set ConnectionStrings:AgentCorex (env ConnectionStrings__AgentCorex) to its database."),
        };
}
