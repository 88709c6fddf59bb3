using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL cluster for the whole test run, made with the machine's own binaries (initdb and
/// pg_ctl, run as the postgres user when the tests run as root) in a temporary folder, on a free loopback
/// port. Each fixture gets a database of its own. Where no binaries exist, the tests that need it are skipped.
/// </summary>
public sealed class PostgresCluster
{
    private static readonly SemaphoreSlim StartGate = new(1, 1);
    private static PostgresCluster? shared;
    private static string? unavailable;

    private readonly string binDirectory;
    private readonly string dataDirectory;
    private readonly string? runAs;

    private PostgresCluster(string binDirectory, string dataDirectory, int port, string? runAs)
    {
        this.binDirectory = binDirectory;
        this.dataDirectory = dataDirectory;
        this.runAs = runAs;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database }.ToString();

    /// <summary>The cluster, started on first use; marks the calling test or fixture skipped when PostgreSQL is absent.</summary>
    public static async Task<PostgresCluster> RequireAsync()
    {
        await StartGate.WaitAsync();
        try
        {
            if (shared is null && unavailable is null)
            {
                var bin = FindBinaries();
                if (bin is null)
                {
                    unavailable = "no PostgreSQL binaries (initdb, pg_ctl) found: install postgresql or set AGENTCOREX_PG_BIN";
                }
                else
                {
                    shared = await StartAsync(bin);
                }
            }
        }
        finally
        {
            StartGate.Release();
        }
        if (shared is null)
        {
            Assert.Ignore(unavailable ?? "PostgreSQL is not available");
        }
        return shared!;
    }

    /// <summary>
    /// A cluster of the calling test's own, for a test that restarts it (the shared one serves every fixture); the test
    /// stops it with <see cref="StopAsync"/>. Marks the test skipped when PostgreSQL is absent.
    /// </summary>
    public static async Task<PostgresCluster> StartPrivateAsync()
    {
        if (FindBinaries() is not { } bin)
        {
            Assert.Ignore("no PostgreSQL binaries (initdb, pg_ctl) found: install postgresql or set AGENTCOREX_PG_BIN");
            return null!;
        }
        return await StartAsync(bin);
    }

    /// <summary>Restarts the cluster as an operator's `pg_ctl restart` does (fast shutdown: every session is ended), and waits until it accepts connections.</summary>
    public Task RestartAsync() =>
        RunAsync("pg_ctl", "-D", dataDirectory, "-l", Path.Combine(dataDirectory, "server.log"), "-m", "fast", "-w", "-t", "60", "restart");

    /// <summary>Stops a cluster of <see cref="StartPrivateAsync"/> and deletes its files.</summary>
    public async Task StopAsync()
    {
        await RunAsync("pg_ctl", "-D", dataDirectory, "-m", "immediate", "-w", "stop");
        TryDelete(dataDirectory);
    }

    /// <summary>A new, empty database on the cluster; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "acx_" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await create.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    internal static async Task StopSharedAsync()
    {
        if (shared is { } cluster)
        {
            shared = null;
            NpgsqlConnection.ClearAllPools();
            await cluster.StopAsync();
        }
    }

    private static async Task<PostgresCluster> StartAsync(string bin)
    {
        var runAs = Environment.UserName == "root" ? "postgres" : null;
        var data = Directory.CreateTempSubdirectory("agentcorex-pg-").FullName;
        var cluster = new PostgresCluster(bin, data, FreePort(), runAs);
        if (runAs is not null)
        {
            await Exec("chown", runAs, data);
        }
        await cluster.RunAsync("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C");
        // A test cluster: fsync off speeds it up and changes nothing the tests can observe; many fixtures and
        // two-node tests open many connections.
        var settings = $"-p {cluster.Port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off -c full_page_writes=off";
        await cluster.RunAsync("pg_ctl", "-D", data, "-l", Path.Combine(data, "server.log"), "-o", settings, "-w", "-t", "60", "start");
        return cluster;
    }

    private async Task RunAsync(string program, params string[] arguments)
    {
        var path = Path.Combine(binDirectory, program);
        if (runAs is null)
        {
            await Exec(path, arguments);
        }
        else
        {
            await Exec("runuser", ["-u", runAs, "--", path, .. arguments]);
        }
    }

    private static async Task Exec(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await output}\n{await error}");
        }
    }

    private static string? FindBinaries()
    {
        var configured = Environment.GetEnvironmentVariable("AGENTCOREX_PG_BIN");
        var candidates = configured is not null
            ? [configured]
            : Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql").Select(v => Path.Combine(v, "bin")).OrderByDescending(v => v, StringComparer.Ordinal).ToArray()
                : [];
        return candidates.FirstOrDefault(bin => File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "pg_ctl")));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // left to the OS's temp cleanup
        }
        catch (UnauthorizedAccessException)
        {
            // left to the OS's temp cleanup
        }
    }
}
