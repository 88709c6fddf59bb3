namespace AgentCorex.Web.Jobs;

/// <summary>
/// Ends once <see cref="JobRecovery"/> has enqueued again what the ledger held queued at start (on the embedded
/// default, whose Hangfire forgot it). Whatever else hands jobs to Hangfire in the background at start waits for it:
/// the parked-jobs sweep, run alongside, took parked jobs out of parking and enqueued them, and the recovery, reading
/// the ledger's queued jobs a moment later, enqueued them a second time (found by a crash audit).
/// </summary>
public sealed class StartRecovery
{
    private readonly TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task WaitAsync(CancellationToken cancellationToken) => done.Task.WaitAsync(cancellationToken);

    internal void Ended() => done.TrySetResult();
}
