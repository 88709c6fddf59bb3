using AgentCorex.Tools;
using FluentValidation;

namespace AgentCorex.Bench.Upgrade;

public sealed record SideEffectArguments(int DurationMs);

public sealed record SideEffectResult(long WaitedMs);

public sealed class SideEffectArgumentsValidator : AbstractValidator<SideEffectArguments>
{
    public SideEffectArgumentsValidator() => RuleFor(a => a.DurationMs).InclusiveBetween(0, 3_600_000);
}

/// <summary>
/// A tool not safe to retry (the default), for the upgrade run's interrupted jobs: one that was running when the old
/// server died must end failed SERVER_RESTARTED under the new one, never run again.
/// </summary>
public sealed class SideEffectTool : Tool<SideEffectArguments, SideEffectResult>
{
    public override string Name => "upgrade_side_effect";

    public override string Description => "Waits duration_ms milliseconds; not safe to run twice.";

    public override async Task<SideEffectResult> ExecuteAsync(SideEffectArguments arguments, IToolContext context, CancellationToken cancellationToken)
    {
        await Task.Delay(arguments.DurationMs, cancellationToken);
        return new SideEffectResult(arguments.DurationMs);
    }
}
