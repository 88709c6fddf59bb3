using AgentCorex.Web.Api;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AgentCorex.Web.Storage;

public static class StorageExtensions
{
    /// <summary>
    /// The app's database, chosen by Storage:Provider in this one place (Hangfire's storage follows it, see
    /// JobsExtensions); its schema is brought up to date at start.
    /// </summary>
    public static WebApplicationBuilder AddStorage(this WebApplicationBuilder builder)
    {
        var options = StorageOptions.From(builder.Configuration);
        var connectionString = StorageOptions.ConnectionString(builder.Configuration, options.Provider);

        switch (options.Provider)
        {
            case StorageProvider.Embedded:
                var (sqlite, file) = Parsed(options.Provider, () => EmbeddedDatabase(connectionString, builder.Environment.ContentRootPath));
                var synchronous = options.SqliteSynchronous.ToUpperInvariant() is "NORMAL" or "FULL" or "EXTRA"
                    ? options.SqliteSynchronous.ToUpperInvariant()
                    : throw new StartupRefusedException($"Storage:SqliteSynchronous must be NORMAL, FULL or EXTRA, not '{options.SqliteSynchronous}'.");
                var watched = file is null ? null : new EmbeddedDatabaseFile(file);
                if (watched is not null) // an in-memory database is no other process's to open
                {
                    var held = EmbeddedDatabaseLock.Take(watched.Path);
                    builder.Services.AddHostedService(_ => held); // made by the container, so let go of with it; first of the hosted services
                    builder.Services.AddSingleton(watched);
                    builder.Services.AddHostedService<EmbeddedDatabaseWatch>();
                }
                builder.Services.AddDbContextPool<AgentCorexDb>(db => db.UseSqlite(sqlite).AddInterceptors(new SqlitePragmas(synchronous, watched)).WithoutNoise());
                var gate = new WriteGate(serialize: true);
                builder.Services.AddSingleton(gate);
                builder.Services.AddSingleton(_ => new SqliteWriter(sqlite, synchronous, gate, watched)); // made by the container, so disposed with it
                builder.Services.AddSingleton(_ => new SqliteReadPool(sqlite, synchronous));
                break;
            case StorageProvider.PostgreSql:
                var ledger = Parsed(options.Provider, () => LedgerConnectionString(WithHost(connectionString)));
                builder.Services.AddDbContextPool<AgentCorexDb, PostgreSqlAgentCorexDb>(
                    (services, db) => db.UseNpgsql(ledger).AddInterceptors(services.GetRequiredService<LostConnections>()).WithoutNoise());
                builder.Services.AddSingleton(_ => new AsyncCommitDataSource(connectionString));
                builder.Services.AddSingleton<LostConnections>();
                builder.Services.AddHostedService<PostgreSqlRestartWatch>();
                builder.Services.AddSingleton(new WriteGate(serialize: false));
                break;
            case StorageProvider.SqlServer:
                Parsed(options.Provider, () => new Microsoft.Data.SqlClient.SqlConnectionStringBuilder(connectionString));
                builder.Services.AddDbContextPool<AgentCorexDb, SqlServerAgentCorexDb>(db => db.UseSqlServer(connectionString).WithoutNoise());
                builder.Services.AddSingleton(new WriteGate(serialize: false));
                break;
            default:
                throw new StartupRefusedException($"Storage:Provider '{options.Provider}' is not supported: use Embedded, PostgreSql or SqlServer.");
        }

        builder.Services.AddSingleton(new StorageConnection(options.Provider, connectionString));
        builder.Services.AddHostedService<StorageInitializer>();
        // In the database, not in a node's folder: what one node protects (webhook secrets), every node reads.
        // After the initializer, whose migrations make the table that Data Protection's start-up service reads.
        builder.Services.AddDataProtection().SetApplicationName("AgentCorex").PersistKeysToDbContext<AgentCorexDb>();
        return builder;
    }

    /// <summary>
    /// A key's slots are counted up to a limit with Take and no order (SlotQueries), on purpose: which rows are counted
    /// does not matter. EF Core warns of that once a process on each such query, which is only noise in the log.
    /// </summary>
    /// <summary>
    /// EF Core's own failure events at Debug: a failed command, connection or query is an exception that reaches
    /// whoever made it, which reports it (a request's 500 with its stack trace, an outage's 503 as one line, a background
    /// pass's failure), so EF Core's error line with the stack trace said it twice, and during an outage once per
    /// statement. Also the first start's probe of a migrations table that does not exist yet, logged as an error.
    /// </summary>
    private static DbContextOptionsBuilder WithoutNoise(this DbContextOptionsBuilder db) =>
        db.ConfigureWarnings(warnings => warnings
            .Ignore(CoreEventId.RowLimitingOperationWithoutOrderByWarning)
            .Log(
                (RelationalEventId.CommandError, LogLevel.Debug),
                (RelationalEventId.ConnectionError, LogLevel.Debug),
                (CoreEventId.QueryIterationFailed, LogLevel.Debug),
                (CoreEventId.SaveChangesFailed, LogLevel.Debug)));

    /// <summary>A connection string its provider cannot read stops the start, naming the setting (never the string: it may hold a password).</summary>
    private static T Parsed<T>(StorageProvider provider, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (ArgumentException e)
        {
            throw new StartupRefusedException($"ConnectionStrings:AgentCorex is not a connection string {provider} can use: {e.Message}", e);
        }
    }

    /// <summary>
    /// Npgsql reads a connection string without Host and refuses it only as a connection is made of it, which Hangfire's
    /// set-up did first, outside the start's checks: the process crashed with a stack trace.
    /// </summary>
    private static string WithHost(string connectionString) =>
        string.IsNullOrWhiteSpace(new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Host)
            ? throw new ArgumentException("it names no Host (the PostgreSQL server's name or address).")
            : connectionString;

    /// <summary>
    /// The ledger's own pool. Its connections leave no session state (no LISTEN, SET or temporary table), so
    /// they skip the reset Npgsql sends as one goes back to its pool, and they keep the ledger's few statements
    /// prepared instead of having PostgreSQL parse and plan them on every job. Hangfire's connections keep
    /// Npgsql's defaults: a LISTEN of theirs must end with a worker's wait. A setting the connection string
    /// gives itself wins.
    /// </summary>
    private static string LedgerConnectionString(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        var ledger = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        if (!given.ContainsKey("No Reset On Close"))
        {
            ledger.NoResetOnClose = true;
        }
        if (!given.ContainsKey("Max Auto Prepare"))
        {
            ledger.MaxAutoPrepare = 16;
        }
        return ledger.ConnectionString;
    }

    /// <summary>
    /// The embedded database's connection string and its file (null for an in-memory database). A relative path is
    /// taken from the content root, and the file and its folder are made on first start. Connections never make the file
    /// themselves: one deleted while the server runs would be made again, empty, by the next connection to open, which
    /// would then answer that the ledger has no tables (see <see cref="EmbeddedDatabaseFile"/>).
    /// </summary>
    private static (string ConnectionString, string? File) EmbeddedDatabase(string connectionString, string contentRoot)
    {
        var csb = new SqliteConnectionStringBuilder(connectionString);
        if (csb.DataSource is ":memory:" or "" || csb.Mode == SqliteOpenMode.Memory)
        {
            return (csb.ToString(), null);
        }
        csb.DataSource = Path.GetFullPath(csb.DataSource, contentRoot);
        var folder = Path.GetDirectoryName(csb.DataSource)!;
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupRefusedException($"the embedded database's folder '{folder}' cannot be made: {e.Message}", e);
        }
        if (csb.Mode == SqliteOpenMode.ReadWriteCreate)
        {
            MakeIfMissing(csb.DataSource);
            csb.Mode = SqliteOpenMode.ReadWrite;
        }
        return (csb.ToString(), csb.DataSource);
    }

    /// <summary>An empty file is an empty SQLite database. A file that exists is left unopened: closing a descriptor of it would let go of SQLite's locks on it.</summary>
    private static void MakeIfMissing(string file)
    {
        try
        {
            if (!File.Exists(file))
            {
                using (new FileStream(file, FileMode.CreateNew, FileAccess.Write))
                {
                }
            }
        }
        catch (IOException) when (File.Exists(file))
        {
            // made meanwhile
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupRefusedException($"the embedded database's file '{file}' cannot be made: {e.Message}", e);
        }
    }
}

/// <summary>The database this node uses, for the parts that share it with the app's tables (Hangfire's storage).</summary>
public sealed record StorageConnection(StorageProvider Provider, string ConnectionString);
