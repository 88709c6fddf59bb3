using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace AgentCorex.Bench.Jobs;

/// <summary>The bench's side of one <see cref="PgNode"/> process: starts it, sends its commands, keeps what it reports.</summary>
internal sealed class NodeProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly Lock gate = new();
    private readonly Dictionary<string, (long Ended, long Failed, long At)> ended = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource<(Uri Url, int Workers)> ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<string[]>? reply;
    private readonly Task reading;

    private NodeProcess(string name, Process process)
    {
        Name = name;
        this.process = process;
        reading = Task.WhenAll(ReadAsync(process.StandardOutput), Pass(process.StandardError));
    }

    public string Name { get; }

    public Uri Url { get; private set; } = null!;

    public int Workers { get; private set; }

    /// <summary>(kind, id, Stopwatch timestamp) of each run this node began while tracing.</summary>
    public ConcurrentQueue<(string Kind, string Id, long At)> Performed { get; } = new();

    public TimeSpan Cpu
    {
        get
        {
            process.Refresh();
            return process.TotalProcessorTime;
        }
    }

    public static async Task<NodeProcess> StartAsync(string name, BenchOptions options, string adminKey, bool apiOnly)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(typeof(NodeProcess).Assembly.Location);
        foreach (var argument in new[] { "--role", "node", "--storage", "postgresql", "--connection-string", options.ConnectionString! })
        {
            start.ArgumentList.Add(argument);
        }
        if (options.Workers is { } workers)
        {
            start.ArgumentList.Add("--workers");
            start.ArgumentList.Add(workers.ToString(CultureInfo.InvariantCulture));
        }
        foreach (var setting in options.NodeSettings)
        {
            start.ArgumentList.Add("--setting");
            start.ArgumentList.Add(setting);
        }
        if (apiOnly)
        {
            start.ArgumentList.Add("--api-only");
        }
        start.Environment[PgNode.AdminKeyVariable] = adminKey;
        var node = new NodeProcess(name, Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start"));
        var (url, count) = await node.ready.Task.WaitAsync(TimeSpan.FromSeconds(120));
        node.Url = url;
        node.Workers = count;
        return node;
    }

    public (long Ended, long Failed, long At) Ended(string kind)
    {
        lock (gate)
        {
            return ended.GetValueOrDefault(kind);
        }
    }

    /// <summary>Sends a command and waits for its one-line answer (one command at a time).</summary>
    public async Task<string[]> AskAsync(string command)
    {
        var answer = new TaskCompletionSource<string[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            reply = answer;
        }
        await process.StandardInput.WriteLineAsync(command);
        await process.StandardInput.FlushAsync();
        return await answer.Task.WaitAsync(TimeSpan.FromSeconds(600));
    }

    private async Task ReadAsync(StreamReader output)
    {
        while (await output.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("@@ ", StringComparison.Ordinal))
            {
                Console.Error.WriteLine($"[node {Name}] {line}");
                continue;
            }
            var words = line[3..].Split(' ');
            switch (words[0])
            {
                case "ready":
                    ready.TrySetResult((new Uri(words[1]), int.Parse(words[2], CultureInfo.InvariantCulture)));
                    break;
                case "ended":
                    lock (gate)
                    {
                        ended[words[1]] = (long.Parse(words[2], CultureInfo.InvariantCulture), long.Parse(words[3], CultureInfo.InvariantCulture), long.Parse(words[4], CultureInfo.InvariantCulture));
                    }
                    break;
                case "perform":
                    Performed.Enqueue((words[1], words[2], long.Parse(words[3], CultureInfo.InvariantCulture)));
                    break;
                default:
                    TaskCompletionSource<string[]>? answer;
                    lock (gate)
                    {
                        (answer, reply) = (reply, null);
                    }
                    answer?.TrySetResult(words);
                    break;
            }
        }
        ready.TrySetException(new InvalidOperationException($"node {Name} exited before it was ready"));
    }

    private async Task Pass(StreamReader error)
    {
        while (await error.ReadLineAsync() is { } line)
        {
            Console.Error.WriteLine($"[node {Name}] {line}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await process.StandardInput.WriteLineAsync("quit");
            await process.StandardInput.FlushAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (Exception e) when (e is IOException or TimeoutException)
        {
            process.Kill(entireProcessTree: true);
        }
        await reading.WaitAsync(TimeSpan.FromSeconds(10));
        process.Dispose();
    }
}

/// <summary>The nodes of one measured topology, seen together.</summary>
internal sealed class Cluster(IReadOnlyList<NodeProcess> nodes)
{
    public IReadOnlyList<NodeProcess> Nodes => nodes;

    public long Ended(string kind) => nodes.Sum(n => n.Ended(kind).Ended);

    public long Failed(string kind) => nodes.Sum(n => n.Ended(kind).Failed);

    /// <summary>Waits until the nodes together have ended <paramref name="target"/> runs of a kind; the Stopwatch time of the last end.</summary>
    public async Task<long> WaitForAsync(string kind, long target, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Ended(kind) < target)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"Only {Ended(kind)} of {target} {kind} runs ended within {timeout.TotalSeconds:0} s.");
            }
            await Task.Delay(2);
        }
        return nodes.Max(n => n.Ended(kind).At);
    }

    public TimeSpan Cpu => TimeSpan.FromTicks(nodes.Sum(n => n.Cpu.Ticks));
}
