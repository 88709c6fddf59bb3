using System.Globalization;
using AgentCorex.Bench.LoadGenerator;

// Two commands:
//   LoadGenerator --url http://127.0.0.1:PORT/execute_tool [--label NAME] [--connections 32] [--warmup 30]
//                 [--duration 15] [--body JSON] [--server-pid PID] [--tsv FILE]   (bearer key from BENCH_BEARER)
//   LoadGenerator compare --tsv FILE --target NAME --baseline NAME [--min-ratio 0.7] [--max-p99-ms 10]
//                 [--goals no]   (the table and the ratio only)
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
try
{
    return args is ["compare", .. var rest] ? Compare(rest) : await RunAsync(args);
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync(e.Message);
    return 64;
}
catch (OperationCanceledException)
{
    await Console.Error.WriteLineAsync("Interrupted: no figures.");
    return 130;
}

static async Task<int> RunAsync(string[] args)
{
    var options = LoadOptions.Parse(args);
    using var cancel = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
    var loop = new ClosedLoop(options);

    var (status, body) = await loop.ProbeAsync(cancel.Token);
    Console.WriteLine($"{options.Label}: probe {(int)status} {body}");
    if ((int)status is < 200 or > 299)
    {
        await Console.Error.WriteLineAsync($"{options.Label}: the probe request failed, so no load was sent.");
        return 1;
    }

    Console.WriteLine($"{options.Label}: {options.Connections} connections, {options.Warmup.TotalSeconds} s warm-up, {options.Duration.TotalSeconds} s measured");
    var result = await loop.RunAsync(cancel.Token);
    Console.WriteLine(result);
    if (options.Tsv is { } tsv)
    {
        if (!File.Exists(tsv))
        {
            await File.WriteAllTextAsync(tsv, LoadResult.TsvHeader + Environment.NewLine);
        }
        await File.AppendAllTextAsync(tsv, result.ToTsv() + Environment.NewLine);
    }
    return result.Errors > 0 || result.Requests == 0 ? 2 : 0;
}

static int Compare(string[] args)
{
    var options = args.Chunk(2).ToDictionary(p => p[0].TrimStart('-'), p => p.Length > 1 ? p[1] : throw new ArgumentException($"{p[0]} needs a value."));
    var tsv = options.GetValueOrDefault("tsv") ?? throw new ArgumentException("compare needs --tsv FILE.");
    var results = File.ReadLines(tsv).Skip(1).Where(l => l.Length > 0).Select(LoadResult.FromTsv).ToList();
    Console.Write(Comparison.Render(
        results,
        options.GetValueOrDefault("target") ?? "agentcorex",
        options.GetValueOrDefault("baseline") ?? "bare",
        options.TryGetValue("min-ratio", out var ratio) ? double.Parse(ratio, CultureInfo.InvariantCulture) : 0.7,
        options.TryGetValue("max-p99-ms", out var p99) ? double.Parse(p99, CultureInfo.InvariantCulture) : 10,
        options.GetValueOrDefault("goals") switch
        {
            null or "yes" => true,
            "no" => false,
            var other => throw new ArgumentException($"--goals must be yes or no, not '{other}'."),
        }));
    return 0;
}
