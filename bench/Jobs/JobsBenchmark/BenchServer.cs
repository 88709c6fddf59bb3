using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using AgentCorex.Web.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Bench.Jobs;

/// <summary>
/// The real AgentCorex server in this process, on real Kestrel on a loopback port, with the embedded default
/// (SQLite ledger + Hangfire.InMemory), or a node on a PostgreSQL database (--storage postgresql). Only infrastructure is swapped: a fresh database file, a known admin
/// key, Production (Development would validate DI scopes on every resolve), and logs at Warning.
/// </summary>
internal sealed class BenchServer : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> settings;

    private readonly BenchOptions options;
    private readonly LedgerObserver? observer;

    public BenchServer(string dataDirectory, string adminKey, BenchOptions options, LedgerObserver? observer = null)
    {
        this.options = options;
        this.observer = observer;
        DatabasePath = Path.Combine(dataDirectory, "agentcorex.db");
        AdminKey = adminKey;
        settings = new()
        {
            ["ConnectionStrings:AgentCorex"] = $"Data Source={DatabasePath}",
            ["Auth:AdminKey"] = adminKey,
            ["Logging:LogLevel:Default"] = "Warning",
            // The GET phase reads thousands of times a second with one key: above the per-key flood guard of other
            // endpoints (1,200 a minute), which would answer 429.
            ["RateLimits:ApiRequestsPerMinute"] = "1000000000",
        };
        if (options.Storage == "postgresql")
        {
            // A node on the shared database: the server's own PostgreSQL settings, nothing tuned for the bench.
            settings["Storage:Provider"] = "PostgreSql";
            settings["ConnectionStrings:AgentCorex"] = options.ConnectionString;
        }
        foreach (var setting in options.NodeSettings)
        {
            settings[setting[..setting.IndexOf('=', StringComparison.Ordinal)]] = setting[(setting.IndexOf('=', StringComparison.Ordinal) + 1)..];
        }
        if (options.ApiOnly)
        {
            settings["Jobs:WorkerCount"] = "0";
        }
        else if (options.Workers is { } workers)
        {
            settings["Jobs:WorkerCount"] = workers.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    public string DatabasePath { get; }

    public string AdminKey { get; }

    public Uri Start()
    {
        UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        return new Uri(addresses.Single());
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
        // What-ifs only, never the figures of the goals: run after the server's own pragmas, and replace its gate.
        if (options.SqliteBusyTimeoutMs is { } busy)
        {
            builder.ConfigureServices(services => services.ConfigureDbContext<AgentCorexDb>(db =>
                db.AddInterceptors(new BenchSqlitePragmas($"PRAGMA busy_timeout={busy};"))));
        }
        if (options.NoWriteGate)
        {
            builder.ConfigureServices(services => services.AddSingleton(new WriteGate(serialize: false)));
        }
        if (observer is not null)
        {
            builder.ConfigureServices(services => services.ConfigureDbContext<AgentCorexDb>(db => db.AddInterceptors(observer)));
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        SqliteConnection.ClearAllPools();
        Npgsql.NpgsqlConnection.ClearAllPools();
    }
}
