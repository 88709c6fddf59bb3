using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>
/// The real server in-process. It swaps only infrastructure: the database is a real SQLite file in a
/// temporary folder, the admin key is a known one, and this test assembly is loaded as a tool plugin
/// (its tools misbehave on purpose).
/// </summary>
public sealed class AgentCorexApp : WebApplicationFactory<Program>
{
    public const string AdminKey = "test-admin-key-0123456789";

    private readonly Dictionary<string, string?> settings;
    private readonly bool ownsDataDirectory;

    /// <param name="dataDirectory">A folder to keep the database in, to start a second server on the same data; the caller deletes it.</param>
    public AgentCorexApp(IDictionary<string, string?>? overrides = null, string? dataDirectory = null)
    {
        ownsDataDirectory = dataDirectory is null;
        DataDirectory = dataDirectory ?? Directory.CreateTempSubdirectory("agentcorex-test-").FullName;
        settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:AgentCorex"] = $"Data Source={Path.Combine(DataDirectory, "agentcorex.db")}",
            ["Auth:AdminKey"] = AdminKey,
            ["Tools:PluginPaths:0"] = typeof(AgentCorexApp).Assembly.Location,
            // Fixtures are disposed with jobs still running: a production drain of 30 s each would only slow the suite.
            ["Jobs:ShutdownTimeout"] = "00:00:00.5",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
    }

    public string DataDirectory { get; }

    /// <summary>
    /// Waits until a disposed server has let go of the embedded database in <paramref name="dataDirectory"/> (its lock
    /// file), so that a second server can start on the same data: an in-process host lets go of it as its disposal
    /// ends, sometimes a second or two after Dispose returns.
    /// </summary>
    public static async Task LetGoOfDatabaseAsync(string dataDirectory)
    {
        var lockFile = Path.Combine(dataDirectory, "agentcorex.db.lock");
        for (var tries = 0; ; tries++)
        {
            try
            {
                await using var free = new FileStream(lockFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                return;
            }
            catch (IOException) when (tries < 100)
            {
                await Task.Delay(100);
            }
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
    }

    /// <summary>
    /// The server on Kestrel at a free loopback port, and its address: for what the in-memory TestServer does not do
    /// (Kestrel's HTTP parsing and limits, its body data rate, chunked bodies).
    /// </summary>
    public static (AgentCorexApp App, Uri Address) StartOnKestrel()
    {
        var app = new AgentCorexApp(new Dictionary<string, string?> { ["urls"] = "http://127.0.0.1:0" });
        app.UseKestrel();
        using var started = app.CreateClient();
        return (app, started.BaseAddress!);
    }

    public HttpClient CreateClient(string? apiKey)
    {
        var client = CreateClient();
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }
        return client;
    }

    public HttpClient CreateAdminClient() => CreateClient(AdminKey);

    /// <summary>Creates a key of the test's own through the API, as a client would.</summary>
    public async Task<CreatedKey> CreateKeyAsync(string plan = "free", bool admin = false, string? name = null)
    {
        using var client = CreateAdminClient();
        return await CreateKeyAsync(client, plan, admin, name);
    }

    /// <summary>Creates a key through <paramref name="adminClient"/>, a client of a server this class does not start (one made WithWebHostBuilder).</summary>
    public static async Task<CreatedKey> CreateKeyAsync(HttpClient adminClient, string plan = "free", bool admin = false, string? name = null)
    {
        var response = await adminClient.PostAsJsonAsync("/api_keys", new { name = name ?? "test-" + Guid.NewGuid().ToString("N")[..8], plan, admin });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<CreatedKey>(Json.Options))!;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Npgsql.NpgsqlConnection.ClearAllPools();
        if (disposing && ownsDataDirectory)
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // a file still held open is left to the OS's temp cleanup
            }
        }
    }
}

public sealed record CreatedKey(string KeyId, string ApiKey, string Name, string Plan, bool Admin, long CreatedAt);
