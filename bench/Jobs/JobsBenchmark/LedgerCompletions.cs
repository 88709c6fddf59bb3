using System.Diagnostics;
using System.Linq.Expressions;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Bench.Jobs;

/// <summary>
/// Completed jobs as the ledger holds them, which is when a client sees them so: on the embedded database a worker may
/// end a job a moment before the ledger has committed its end.
/// </summary>
internal static class LedgerCompletions
{
    /// <summary>The API runs' jobs: every job but the ablations' own.</summary>
    public static readonly Expression<Func<JobEntry, bool>> ApiJobs = j => j.OwnerKeyId != LedgerAblation.OwnerKeyId;

    public static async Task<int> CountAsync(IServiceProvider services, Expression<Func<JobEntry, bool>> which, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        return await db.Jobs.Where(j => j.Status == JobStatus.Completed).Where(which).CountAsync(cancellationToken);
    }

    /// <summary>Waits (at most 10 s) until the ledger holds <paramref name="expected"/> of these jobs completed; returns how many it holds.</summary>
    public static async Task<int> UntilAsync(IServiceProvider services, Expression<Func<JobEntry, bool>> which, long expected, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
        int completed;
        while ((completed = await CountAsync(services, which, cancellationToken)) < expected && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(1, cancellationToken);
        }
        return completed;
    }
}
