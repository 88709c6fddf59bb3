using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AgentCorex.Web.Health;

/// <summary>
/// The database probe of /health/ready, shared by every request: at most one runs at a time, and its answer stands for
/// <see cref="Reuse"/> once it ends. Readiness needs no key: a probe per request let a flood of them pile probes on a
/// database that stopped answering, each running on for 15 to 35 s after its check gave up on it. A probe still running
/// at <see cref="HealthExtensions.DatabaseCheckTimeout"/> is given up on, and the next request starts another: one stuck
/// on a dead connection would otherwise keep the node unready for as long, though a new connection worked again. The
/// requests waiting on it are answered unready as it is given up on: one that came to it late would otherwise wait out
/// its own check's timeout, up to that long again, on a probe nobody waits for any more.
/// </summary>
/// <remarks>
/// Neither a token nor a statement timeout bounds a call to a database that stopped answering (Npgsql waits out its
/// connect timeout, or an answer to its cancel request): the probe runs in a scope of its own, so that a check that
/// gives up on it at its timeout leaves it to end by itself without its context going back to the pool in use. On
/// PostgreSQL a probe that meets a connection a restart of the database killed tries once more (<see cref="LostConnections"/>).
/// </remarks>
internal sealed partial class DatabaseProbe(
    IServiceScopeFactory scopes, TimeProvider time, ILogger<DatabaseProbe> logger, LostConnections? lostConnections = null)
{
    /// <summary>How long an ended probe's answer is given again: a load balancer probes every few seconds, a flood far more often.</summary>
    public static readonly TimeSpan Reuse = TimeSpan.FromSeconds(1);

    private readonly Lock gate = new();
    private Run? current;
    private long started;

    /// <summary>How many probes have started: what a flood of readiness requests costs the database.</summary>
    public long Started => Interlocked.Read(ref started);

    /// <summary>The running probe's answer, or the last one's while it stands, or a new probe's.</summary>
    public Task<HealthCheckResult> ResultAsync()
    {
        lock (gate)
        {
            if (current is null || IsSpent(current))
            {
                // One given up on is left to end by itself (its scope is its own); its answer, when it comes, goes to no one.
                current = new Run(time.GetTimestamp());
                current.Probe = RunAsync(current);
                current.Answer = AnswerAsync(current);
            }
            return current.Answer;
        }
    }

    /// <summary>
    /// Ended and no longer standing, or given up on (running for as long as a check waits): a flood still starts at most
    /// one a check's timeout. One given up on that ends late is not given again: its requests were told it gave no answer.
    /// </summary>
    private bool IsSpent(Run run) => Volatile.Read(ref run.GivenUp) || (run.Probe.IsCompleted
        ? time.GetElapsedTime(Volatile.Read(ref run.EndedAt)) >= Reuse
        : time.GetElapsedTime(run.StartedAt) >= HealthExtensions.DatabaseCheckTimeout);

    private async Task<HealthCheckResult> RunAsync(Run run)
    {
        Interlocked.Increment(ref started);
        // Off the lock: opening a connection may take a while before its first await.
        await Task.Yield();
        try
        {
            // Its own token, stopped as it is given up on: no one request's token (its client may go) ends it for the others.
            return await ProbeAsync(run.Stop.Token);
        }
        finally
        {
            // Its own end, before its answer completes: one given up on that ends late does not stretch its successor's.
            Volatile.Write(ref run.EndedAt, time.GetTimestamp());
        }
    }

    /// <summary>The probe's answer, or unready once it has run for as long as a check waits: the moment it is given up on.</summary>
    private async Task<HealthCheckResult> AnswerAsync(Run run)
    {
        try
        {
            return await run.Probe.WaitAsync(HealthExtensions.DatabaseCheckTimeout, time);
        }
        catch (TimeoutException)
        {
            Volatile.Write(ref run.GivenUp, true);
            // Told to stop off this thread, so that its requests are answered first: Npgsql's cancel request to a silent
            // database holds the thread that cancels for as long as its own timeouts.
            _ = run.Stop.CancelAsync();
            return HealthCheckResult.Unhealthy($"{Unreachable} (no answer in {HealthExtensions.DatabaseCheckTimeout.TotalSeconds:0} s)");
        }
    }

    private async Task<HealthCheckResult> ProbeAsync(CancellationToken cancellationToken)
    {
        // A context each time: one whose connection broke under it is not to be used again. A statement rather than
        // CanConnect, which answers false for a lost connection instead of throwing, so that it could not be retried.
        async Task<bool> ReachableAndUpToDate()
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
            await db.Database.ExecuteSqlRawAsync("SELECT 1", cancellationToken);
            return !(await db.Database.GetPendingMigrationsAsync(cancellationToken)).Any();
        }
        try
        {
            return await (lostConnections?.RetryOnceAsync(ReachableAndUpToDate) ?? ReachableAndUpToDate())
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy(Unreachable);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or OperationCanceledException)
        {
            // The cause's message, not the exception: a probe every few seconds through an outage would carry a stack
            // trace each time (the outage's own lines say it once). Also the end of a probe nobody waits for.
            return HealthCheckResult.Unhealthy($"{Unreachable} ({e.GetBaseException().Message})");
        }
        catch (Exception e)
        {
            // Not an outage but a fault of the probe's own: logged whole here, as the health check service's lines are
            // held back (LogCaps), so that a node kept unready by it does not stay so with nothing in the log.
            LogProbeFailed(logger, e);
            return HealthCheckResult.Unhealthy($"The database probe failed: {e.GetType().Name} (logged by the server).");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The readiness probe of the database failed unexpectedly: the node answers /health/ready 503")]
    private static partial void LogProbeFailed(ILogger logger, Exception exception);

    private const string Unreachable = "The database cannot be reached or its schema is not up to date.";

    /// <summary>One probe: when it started and ended, its own end, and the answer its requests get.</summary>
    private sealed class Run(long startedAt)
    {
        public long StartedAt { get; } = startedAt;
        public long EndedAt;
        public bool GivenUp;
        public CancellationTokenSource Stop { get; } = new(); // no timer: nothing to let go of
        public Task<HealthCheckResult> Probe = null!;
        public Task<HealthCheckResult> Answer = null!;
    }
}
