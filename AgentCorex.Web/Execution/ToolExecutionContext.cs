using AgentCorex.Tools;

namespace AgentCorex.Web.Execution;

/// <summary>The context one execution hands its tool: progress and tokens as last reported, and a scoped logger.</summary>
public sealed class ToolExecutionContext(string executionId, ILogger logger) : IToolContext
{
    private long inputTokens;
    private long outputTokens;
    private volatile ToolProgress? progress;
    private readonly Lock gate = new();
    private int stepsReached;

    public string ExecutionId { get; } = executionId;

    public ILogger Logger { get; } = logger;

    public ToolProgress? Progress => progress;

    public TokensUsed Tokens => new(Interlocked.Read(ref inputTokens), Interlocked.Read(ref outputTokens));

    /// <summary>Told of each progress report; the job runner uses it to publish progress.</summary>
    public Action<ToolProgress>? ProgressReported { get; init; }

    public void ReportProgress(string currentStep, int totalSteps)
    {
        ArgumentNullException.ThrowIfNull(currentStep);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalSteps);
        lock (gate)
        {
            if (progress?.CurrentStep != currentStep || stepsReached == 0)
            {
                stepsReached++;
            }
            progress = new ToolProgress(currentStep, totalSteps, (int)Math.Min(100, 100L * stepsReached / totalSteps));
        }
        var reported = progress;
        ProgressReported?.Invoke(reported);
    }

    public void ReportTotalSteps(int totalSteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalSteps);
        ToolProgress planned;
        lock (gate)
        {
            if (stepsReached > 0)
            {
                return;
            }
            progress = planned = new ToolProgress(ToolProgress.StartingStep, totalSteps, 0);
        }
        ProgressReported?.Invoke(planned);
    }

    public void ReportTokens(int input, int output)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(input);
        ArgumentOutOfRangeException.ThrowIfNegative(output);
        Interlocked.Add(ref inputTokens, input);
        Interlocked.Add(ref outputTokens, output);
    }
}

public sealed record TokensUsed(long Input, long Output);

/// <summary>The percentage is the share of steps reached: each new current_step counts as one.</summary>
public sealed record ToolProgress(string CurrentStep, int TotalSteps, int Percentage)
{
    /// <summary>The current step of a run that has reached none yet.</summary>
    public const string StartingStep = "starting";
}
