using AgentCorex.Web.Concurrency;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>The database a fixture's server runs on: the embedded default, or the throwaway PostgreSQL cluster.</summary>
public enum TestStorage
{
    Embedded,
    PostgreSql,
}

/// <summary>
/// A fixture with one server for all its tests; each test still makes its own keys and jobs. Fixtures that
/// take a <see cref="TestStorage"/> run once per database ([TestFixture(TestStorage.Embedded)] and
/// [TestFixture(TestStorage.PostgreSql)]); the PostgreSQL run is skipped where PostgreSQL is absent.
/// </summary>
public abstract class ServerTest(TestStorage storage = TestStorage.Embedded)
{
    protected TestStorage Storage => storage;

    protected AgentCorexApp App { get; private set; } = null!;

    /// <summary>A client with the configured admin key.</summary>
    protected HttpClient Admin { get; private set; } = null!;

    /// <summary>Configuration this fixture's server runs with, beside the test defaults.</summary>
    protected virtual IDictionary<string, string?>? Settings => null;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        var settings = new Dictionary<string, string?>(Settings ?? new Dictionary<string, string?>());
        if (storage == TestStorage.PostgreSql)
        {
            foreach (var (key, value) in await PostgreSqlSettingsAsync())
            {
                settings[key] = value;
            }
        }
        App = new AgentCorexApp(settings);
        Admin = App.CreateAdminClient();
    }

    /// <summary>Settings that put a server on a new database of the test cluster.</summary>
    public static async Task<Dictionary<string, string?>> PostgreSqlSettingsAsync()
    {
        var cluster = await PostgresCluster.RequireAsync();
        return new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["ConnectionStrings:AgentCorex"] = await cluster.CreateDatabaseAsync(),
        };
    }

    /// <summary>
    /// On PostgreSQL, what KeySlotCompaction does at its next pass: each key's slot changes moved into key_slots (a key
    /// without a limit is bounded from that count, Jobs/JobLedger.Queue.cs); nothing on the embedded database.
    /// </summary>
    protected async Task MoveKeySlotChangesAsync()
    {
        if (storage == TestStorage.PostgreSql)
        {
            await App.Services.GetRequiredService<KeySlotCompaction>().CompactAsync(CancellationToken.None);
        }
    }

    [OneTimeTearDown]
    public void StopServer()
    {
        Admin?.Dispose();
        App?.Dispose();
    }
}
