using System.ComponentModel.DataAnnotations;

namespace AgentCorex.Web.Streaming;

public sealed class StreamingOptions
{
    public const string Section = "Streaming";

    /// <summary>How often this node looks at the jobs its streams watch (one query for all of them).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often an idle stream sends a comment line, so proxies keep it open.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Open streams this node serves at most; more are refused with 503 until some close.</summary>
    [Range(1, 100_000)]
    public int MaxStreams { get; set; } = 5_000;

    /// <summary>
    /// Open streams one key may have on this node; more are refused with 429 until some close. Admin keys are not
    /// limited. Without it one key could take every stream of <see cref="MaxStreams"/>.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxStreamsPerKey { get; set; } = 100;
}
