using FluentValidation;

namespace AgentCorex.Tools.BuiltIn.Wait;

public sealed record WaitArguments(int DurationMs, int Steps = 1);

public sealed record WaitResult(long WaitedMs);

public sealed class WaitArgumentsValidator : AbstractValidator<WaitArguments>
{
    public WaitArgumentsValidator()
    {
        RuleFor(a => a.DurationMs).InclusiveBetween(0, 86_400_000);
        RuleFor(a => a.Steps).InclusiveBetween(1, 1000);
    }
}

/// <summary>Sleeps in equal parts, reporting progress after each: the reference long-running tool.</summary>
public sealed class WaitTool(TimeProvider time) : Tool<WaitArguments, WaitResult>
{
    public override string Name => "wait";

    public override string Description =>
        "Waits duration_ms milliseconds in `steps` equal parts, reporting progress after each part.";

    public override bool SafeToRetry => true;

    public override bool NeverBlocks => true;

    public override TimeSpan EstimatedDuration => TimeSpan.FromSeconds(10);

    public override async Task<WaitResult> ExecuteAsync(WaitArguments arguments, IToolContext context, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        context.ReportTotalSteps(arguments.Steps);
        for (var step = 1; step <= arguments.Steps; step++)
        {
            // Each part ends at its share of the whole, so rounding never adds up across parts.
            var partEnd = TimeSpan.FromMilliseconds((double)arguments.DurationMs * step / arguments.Steps);
            // Again until it has passed: a timer keeps a coarse clock, and may end a few ms early.
            for (var remaining = partEnd - time.GetElapsedTime(started); remaining > TimeSpan.Zero; remaining = partEnd - time.GetElapsedTime(started))
            {
                await Task.Delay(remaining, time, cancellationToken);
            }
            context.ReportProgress($"step-{step}", arguments.Steps);
        }
        return new WaitResult(arguments.DurationMs);
    }
}
