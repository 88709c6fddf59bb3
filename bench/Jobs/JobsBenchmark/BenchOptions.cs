using System.Globalization;

namespace AgentCorex.Bench.Jobs;

/// <summary>The bench's flags; every count and duration is bounded, so a typo cannot run for hours.</summary>
internal sealed record BenchOptions
{
    public int Jobs { get; init; } = 20_000;
    public int Rounds { get; init; } = 2;
    public int Connections { get; init; } = 32;
    public int RawProducers { get; init; } = 2;
    public int WarmupJobs { get; init; } = 2_000;
    public int IdleJobs { get; init; } = 200;
    public int LedgerRows { get; init; } = 100_000;
    public int QueuedRows { get; init; } = 1_000;
    public TimeSpan GetWarmup { get; init; } = TimeSpan.FromSeconds(3);
    public TimeSpan GetDuration { get; init; } = TimeSpan.FromSeconds(10);
    public int? Workers { get; init; }
    public int AblationJobs { get; init; } = 2_000;
    public int ListRows { get; init; } = 1_000_000;
    public int ListRequests { get; init; } = 30;

    /// <summary>What-if, not the shipped configuration: sets PRAGMA busy_timeout on the server's SQLite connections (after its own).</summary>
    public int? SqliteBusyTimeoutMs { get; init; }

    /// <summary>
    /// What-if, not the shipped configuration: the server's EF Core writes are not queued behind its WriteGate. Since
    /// the SQLite writer thread (SqliteWriter) the hot ledger writes are one at a time regardless: it keeps the real gate.
    /// </summary>
    public bool NoWriteGate { get; init; }

    /// <summary>What-if, not the shipped configuration: ThreadPool.SetMinThreads for this process.</summary>
    public int? MinThreads { get; init; }

    /// <summary>Diagnosis: counts the server's SQL statements per job (an EF Core interceptor; slightly slows the server).</summary>
    public bool ObserveLedger { get; init; }

    /// <summary>embedded (in this process, SQLite + Hangfire.InMemory) or postgresql (server processes on one database).</summary>
    public string Storage { get; init; } = "embedded";

    /// <summary>PostgreSQL: the database every node and the bench itself use.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>Internal: "node" makes this process one server node driven over stdin/stdout by the PostgreSQL bench.</summary>
    public string? Role { get; init; }

    /// <summary>Internal, with --role node: this node takes API requests but runs no Hangfire workers.</summary>
    public bool ApiOnly { get; init; }

    /// <summary>PostgreSQL, what-if: server settings (KEY=VALUE, e.g. Jobs:QueuePollInterval=00:00:01) given to every node.</summary>
    public IReadOnlyList<string> NodeSettings { get; init; } = [];

    /// <summary>PostgreSQL: how many nodes each measured topology has (1 and 2 by default).</summary>
    public IReadOnlyList<int> Nodes { get; init; } = [1, 2];

    /// <summary>Which phases run: idle, throughput, ablations, get, list by default; memory only when asked for.</summary>
    public IReadOnlySet<string> Phases { get; init; } = AllPhases;

    public static readonly IReadOnlySet<string> AllPhases = new HashSet<string>(["idle", "throughput", "ablations", "get", "list"]);

    public static readonly IReadOnlySet<string> KnownPhases = new HashSet<string>([.. AllPhases, "memory"]);

    /// <summary>The memory phase's jobs: echo only, or a mix of echo, waits reporting progress and failures.</summary>
    public IReadOnlyList<string> MemoryMixes { get; init; } = ["echo", "mix"];

    public bool IsWhatIf => SqliteBusyTimeoutMs is not null || MinThreads is not null || NoWriteGate || NodeSettings.Count > 0;
    public string? Out { get; init; }

    public const string Usage = """
        JobsBenchmark [--jobs 20000] [--rounds 2] [--connections 32] [--raw-producers 2] [--warmup-jobs 2000]
                      [--idle-jobs 200] [--ledger-rows 100000] [--queued-rows 1000] [--get-warmup 3] [--get-seconds 10]
                      [--workers N] [--ablation-jobs 2000] [--list-rows 1000000] [--list-requests 30]
                      [--phases idle,throughput,ablations,get,list,memory] [--memory-mixes echo,mix]
                      [--observe-ledger] [--out DIR]
                      [--storage embedded|postgresql] [--connection-string CS] [--nodes 1,2] [--setting KEY=VALUE]...  (postgresql: phases idle,throughput)
                      what-if (not the shipped configuration): [--sqlite-busy-timeout MS] [--no-write-gate] [--min-threads N]
        """;

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "--observe-ledger" or "--no-write-gate" or "--api-only")
            {
                options = name switch
                {
                    "--observe-ledger" => options with { ObserveLedger = true },
                    "--no-write-gate" => options with { NoWriteGate = true },
                    _ => options with { ApiOnly = true },
                };
                continue;
            }
            var value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.\n{Usage}");
            options = name switch
            {
                "--jobs" => options with { Jobs = Int(name, value, 1, 200_000) },
                "--rounds" => options with { Rounds = Int(name, value, 1, 10) },
                "--connections" => options with { Connections = Int(name, value, 1, 256) },
                "--raw-producers" => options with { RawProducers = Int(name, value, 1, 64) },
                "--warmup-jobs" => options with { WarmupJobs = Int(name, value, 0, 50_000) },
                "--idle-jobs" => options with { IdleJobs = Int(name, value, 1, 5_000) },
                "--ledger-rows" => options with { LedgerRows = Int(name, value, 1, 2_000_000) },
                "--queued-rows" => options with { QueuedRows = Int(name, value, 0, 100_000) },
                "--get-warmup" => options with { GetWarmup = TimeSpan.FromSeconds(Int(name, value, 0, 300)) },
                "--get-seconds" => options with { GetDuration = TimeSpan.FromSeconds(Int(name, value, 1, 300)) },
                "--workers" => options with { Workers = Int(name, value, 1, 1000) },
                "--ablation-jobs" => options with { AblationJobs = Int(name, value, 1, 50_000) },
                "--list-rows" => options with { ListRows = Int(name, value, 1, 5_000_000) },
                "--list-requests" => options with { ListRequests = Int(name, value, 1, 1_000) },
                "--sqlite-busy-timeout" => options with { SqliteBusyTimeoutMs = Int(name, value, 0, 60_000) },
                "--min-threads" => options with { MinThreads = Int(name, value, 1, 1000) },
                "--phases" => options with { Phases = PhaseSet(value) },
                "--memory-mixes" => options with { MemoryMixes = MixList(value) },
                "--out" => options with { Out = value },
                "--storage" when value is "embedded" or "postgresql" => options with { Storage = value },
                "--connection-string" => options with { ConnectionString = value },
                "--role" when value == "node" => options with { Role = value },
                "--setting" when value.Contains('=', StringComparison.Ordinal) => options with { NodeSettings = [.. options.NodeSettings, value] },
                "--nodes" => options with { Nodes = value.Split(',').Select(n => Int(name, n, 1, 2)).Distinct().Order().ToList() },
                _ => throw new ArgumentException($"Unknown flag {name}.\n{Usage}"),
            };
        }
        return options.Storage == "postgresql" && string.IsNullOrEmpty(options.ConnectionString)
            ? throw new ArgumentException("--storage postgresql needs --connection-string.")
            : options;
    }

    private static HashSet<string> PhaseSet(string value)
    {
        var phases = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var unknown = phases.Except(KnownPhases).ToList();
        return unknown.Count == 0 && phases.Count > 0
            ? phases
            : throw new ArgumentException($"--phases takes some of {string.Join(",", KnownPhases)}, not '{value}'.");
    }

    private static List<string> MixList(string value)
    {
        var mixes = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
        return mixes.Count > 0 && mixes.All(m => m is "echo" or "mix")
            ? mixes
            : throw new ArgumentException($"--memory-mixes takes echo, mix or both, not '{value}'.");
    }

    private static int Int(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new ArgumentException($"{name} must be a whole number from {min} to {max}, not '{value}'.");
}
