namespace AgentCorex.Bench.LoadGenerator;

/// <summary>What one load run does; every field has a command-line flag of the same name in kebab-case.</summary>
internal sealed record LoadOptions
{
    public const string DefaultBody = """{"tool":"echo","arguments":{"message":"hello"}}""";

    public required Uri Url { get; init; }
    public string Label { get; init; } = "target";
    public int Connections { get; init; } = 32;
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(15);
    public string Body { get; init; } = DefaultBody;
    public string? Bearer { get; init; }
    public int? ServerPid { get; init; }
    public string? Tsv { get; init; }

    /// <summary>A hard cap on requests sent, so a run ends even if the clock misbehaves.</summary>
    public long MaxRequests { get; init; } = 10_000_000;

    public static LoadOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected '--name value' pairs, got '{args[i]}'.");
            }
            values[args[i][2..]] = args[i + 1];
        }

        var url = new Uri(Take(values, "url") ?? throw new ArgumentException("--url is required (e.g. http://127.0.0.1:5080/execute_tool)."));
        // This tool sends load; it must never be pointed at anything but this machine.
        if (!url.IsLoopback)
        {
            throw new ArgumentException($"--url must be a loopback address, not '{url.Host}'.");
        }
        var options = new LoadOptions
        {
            Url = url,
            Label = Take(values, "label") ?? "target",
            Connections = Take(values, "connections") is { } c ? Positive(int.Parse(c), "connections") : 32,
            Warmup = TimeSpan.FromSeconds(Take(values, "warmup") is { } w ? double.Parse(w) : 30),
            Duration = TimeSpan.FromSeconds(Take(values, "duration") is { } d ? Positive(double.Parse(d), "duration") : 15),
            Body = Take(values, "body") ?? DefaultBody,
            Bearer = Take(values, "bearer") ?? NonEmpty(Environment.GetEnvironmentVariable("BENCH_BEARER")),
            ServerPid = Take(values, "server-pid") is { } p ? int.Parse(p) : null,
            Tsv = Take(values, "tsv"),
            MaxRequests = Take(values, "max-requests") is { } m ? Positive(long.Parse(m), "max-requests") : 10_000_000,
        };
        if (values.Count > 0)
        {
            throw new ArgumentException($"Unknown option(s): {string.Join(", ", values.Keys.Select(k => "--" + k))}.");
        }
        return options;
    }

    private static string? Take(Dictionary<string, string> values, string name) => values.Remove(name, out var value) ? value : null;

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static T Positive<T>(T value, string name) where T : System.Numerics.INumber<T> =>
        value > T.Zero ? value : throw new ArgumentException($"--{name} must be positive.");
}
