using System.Data.Common;
using AgentCorex.Web.Api;
using AgentCorex.Web.Storage;
using Hangfire;
using Hangfire.InMemory;
using Hangfire.PostgreSql;
using Hangfire.SqlServer;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// Hangfire's storage follows Storage:Provider: its tables live in the app's database (schema "hangfire"),
/// except on the embedded default, where it runs in memory and the ledger is the durable record.
/// </summary>
internal static class HangfireStorage
{
    public const string SchemaName = "hangfire";

    /// <summary>A server database that cannot be reached or refuses the node stops the start, saying why.</summary>
    public static IGlobalConfiguration UseAgentCorexStorage(this IGlobalConfiguration hangfire, StorageConnection storage, JobsOptions options)
    {
        try
        {
            return storage.Provider switch
            {
                StorageProvider.Embedded => hangfire.UseInMemoryStorage(new InMemoryStorageOptions
                {
                    MaxExpirationTime = options.InMemoryJobExpiration,
                    // Numbered ids start again at 1 in every process, while the ledger keeps the ids of earlier ones:
                    // the dashboard's links from the ledger (timed out, canceled) then opened other jobs after a restart.
                    IdType = InMemoryStorageIdType.Guid,
                }),
                StorageProvider.PostgreSql => hangfire.UseAgentCorexPostgreSql(storage.ConnectionString, options),
                StorageProvider.SqlServer => hangfire.UseSqlServerStorage(storage.ConnectionString, SqlServerOptions(options)),
                _ => throw new StartupRefusedException($"Storage:Provider '{storage.Provider}' has no Hangfire storage."),
            };
        }
        catch (DbException e)
        {
            throw new StartupRefusedException($"the {storage.Provider} database cannot be used: {e.Message}", e);
        }
        catch (NotSupportedException e) when (storage.Provider == StorageProvider.SqlServer)
        {
            // "Globalization Invariant Mode is not supported.": DOTNET_SYSTEM_GLOBALIZATION_INVARIANT is set.
            throw new StartupRefusedException($"the SqlServer database cannot be used: {e.Message} (SQL Server's client needs ICU: do not set DOTNET_SYSTEM_GLOBALIZATION_INVARIANT)", e);
        }
    }

    /// <summary>
    /// How long Hangfire keeps a job after it ends, as <paramref name="storage"/> does it: its expiration timeout (a day by
    /// default), which Hangfire.InMemory cuts to its own maximum (Jobs:InMemoryJobExpiration, 3 hours by default).
    /// </summary>
    public static TimeSpan JobExpiration(JobStorage storage) =>
        storage is InMemoryStorage { Options.MaxExpirationTime: { } max } && max < storage.JobExpirationTimeout ? max : storage.JobExpirationTimeout;

    /// <summary>
    /// Hangfire.PostgreSql's defaults poll every 15 s and hide a fetched job for a fixed 30 min, so a long job
    /// runs twice and a new one waits (its issues #130, #352, #381). Here a worker's heartbeat keeps its job
    /// hidden only while it lives (sliding), a job left by a dead node is taken over after
    /// Jobs:InvisibilityTimeout, and idle workers look for other nodes' jobs every Jobs:QueuePollInterval
    /// (LISTEN/NOTIFY long polling only when Jobs:LongPolling is set: see there why it is off by default).
    /// </summary>
    public static PostgreSqlStorageOptions PostgreSqlOptions(JobsOptions options) => new()
    {
        SchemaName = SchemaName,
        PrepareSchemaIfNecessary = false, // see InstallPostgreSqlSchema
        UseSlidingInvisibilityTimeout = true,
        InvisibilityTimeout = options.InvisibilityTimeout,
        // A lock row left by a node killed in the middle of a job's state change (hangfire.lock) blocked that job for
        // the library's 10 minutes, whatever Jobs:InvisibilityTimeout said (found by a crash audit). Hangfire's own
        // locks are held for a state change or one batch of its background work, far less than this.
        DistributedLockTimeout = options.InvisibilityTimeout,
        EnableLongPolling = options.LongPolling,
        QueuePollInterval = options.QueuePollInterval,
    };

    /// <summary>
    /// Creates or upgrades Hangfire's schema, one node at a time: Hangfire.PostgreSql's installer is not safe
    /// against itself (two nodes starting at once on an empty database both ran CREATE SCHEMA and one died of
    /// the duplicate), so it runs under a session advisory lock that the other nodes wait on.
    /// </summary>
    private static IGlobalConfiguration UseAgentCorexPostgreSql(this IGlobalConfiguration hangfire, string connectionString, JobsOptions options)
    {
        var key = $"{DatabaseLocks.SchemaClass}, {DatabaseLocks.HangfireSchema}";
        using (var connection = new Npgsql.NpgsqlConnection(connectionString))
        {
            connection.Open();
            using var take = new Npgsql.NpgsqlCommand($"SELECT pg_advisory_lock({key})", connection);
            take.ExecuteNonQuery();
            try
            {
                PostgreSqlObjectsInstaller.Install(connection, SchemaName);
            }
            finally
            {
                using var release = new Npgsql.NpgsqlCommand($"SELECT pg_advisory_unlock({key})", connection);
                release.ExecuteNonQuery();
            }
        }
        return hangfire.UsePostgreSqlStorage(pg => pg.UseNpgsqlConnection(connectionString), PostgreSqlOptions(options));
    }

    /// <summary>
    /// The storage the webhook workers fetch from. On PostgreSQL a second storage over the same tables that
    /// never long-polls (with Jobs:LongPolling on, every enqueue's NOTIFY would wake idle webhook workers too,
    /// a fetch query each) and polls every second, not at the tool workers' pace; deliveries enqueued on this
    /// node still wake them at once (Hangfire.PostgreSql signals its queues in-process). Elsewhere: the same storage.
    /// </summary>
    public static JobStorage? SeparateWebhookStorage(StorageConnection storage, JobsOptions options)
    {
        if (storage.Provider != StorageProvider.PostgreSql)
        {
            return null;
        }
        var webhooks = WebhookOptions(options);
        return new PostgreSqlStorage(new Hangfire.PostgreSql.Factories.NpgsqlConnectionFactory(storage.ConnectionString, webhooks), webhooks);
    }

    private static PostgreSqlStorageOptions WebhookOptions(JobsOptions options)
    {
        var webhooks = PostgreSqlOptions(options);
        webhooks.EnableLongPolling = false;
        webhooks.QueuePollInterval = TimeSpan.FromSeconds(1);
        return webhooks;
    }

    /// <summary>Hangfire.SqlServer's recommended options for 1.8 (its documentation's "configuration" page), on Microsoft.Data.SqlClient.</summary>
    public static SqlServerStorageOptions SqlServerOptions(JobsOptions options) => new()
    {
        SchemaName = SchemaName,
        PrepareSchemaIfNecessary = true,
        SqlClientFactory = Microsoft.Data.SqlClient.SqlClientFactory.Instance,
        CommandBatchMaxTimeout = TimeSpan.FromMinutes(5),
        SlidingInvisibilityTimeout = options.InvisibilityTimeout,
        QueuePollInterval = TimeSpan.Zero,
        UseRecommendedIsolationLevel = true,
        DisableGlobalLocks = true,
    };
}
