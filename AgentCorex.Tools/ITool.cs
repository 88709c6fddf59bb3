namespace AgentCorex.Tools;

/// <summary>
/// What the host sees of a tool. Plugins derive from <see cref="Tool{TArguments, TResult}"/> rather than
/// implementing this directly; any public, non-abstract implementation in a scanned assembly is a tool.
/// </summary>
public interface ITool
{
    /// <summary>The snake_case name clients call the tool by.</summary>
    string Name { get; }

    string Description { get; }

    Type ArgumentsType { get; }

    Type ResultType { get; }

    /// <summary>
    /// Whether running the tool twice for one request is harmless. Only such tools are re-run after a
    /// crash or retried; the default is no, since most tools have side effects.
    /// </summary>
    bool SafeToRetry { get; }

    /// <summary>
    /// Whether the tool never blocks the thread that calls it: <c>ExecuteAsync</c> returns its task at once and
    /// awaits whatever it waits for. The host then starts such a tool on the caller's thread instead of handing it
    /// to the thread pool first. The default is no, so that a tool that blocks (a synchronous call before its
    /// first await) still cannot hold up its deadline.
    /// </summary>
    bool NeverBlocks { get; }

    /// <summary>The tool's own guess of how long a run takes, used until there is history.</summary>
    TimeSpan EstimatedDuration { get; }

    Task<object?> ExecuteAsync(object arguments, IToolContext context, CancellationToken cancellationToken);
}
