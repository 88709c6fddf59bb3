using AgentCorex.Web.Monitoring;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Webhooks;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// A revoked key's queued jobs never start: they are canceled as it is revoked. One submitted by a node that
/// had not yet heard of the revocation is canceled by the worker that picks it up (see <see cref="JobLedger.TryStartAsync"/>),
/// or, parked, by the next sweep of parked jobs (<see cref="Concurrency.ParkedJobsSweeper"/>), as are those a cancel
/// cut short (a stop) left. Its running jobs run to their end.
/// </summary>
public sealed partial class RevokedKeyJobs(
    AgentCorexDb db, JobLedger ledger, WebhookEvents webhooks, AgentCorexMetrics metrics, ILogger<RevokedKeyJobs> logger)
{
    private const int Batch = 500;

    public async Task<int> CancelQueuedAsync(string keyId, CancellationToken cancellationToken)
    {
        var canceled = 0;
        var raises = await webhooks.PendingAsync(keyId, JobEventNames.Canceled, cancellationToken);
        while (true)
        {
            var queued = await db.Jobs.AsNoTracking()
                .Where(j => j.OwnerKeyId == keyId && j.Status == JobStatus.Queued)
                .OrderBy(j => j.CreatedAt).ThenBy(j => j.Id)
                .Take(Batch)
                .ToListAsync(cancellationToken);
            if (queued.Count == 0)
            {
                if (canceled > 0)
                {
                    LogCanceled(logger, keyId, canceled);
                }
                return canceled;
            }
            foreach (var job in queued)
            {
                using var scope = JobLogScope.Begin(logger, job);
                // A job that started meanwhile is left to run.
                if (await ledger.TryCancelAsync(job.Id, JobStatus.Queued, JobCanceler.Revocation, raises, cancellationToken))
                {
                    metrics.JobFinished(job.Tool, JobStatus.Canceled);
                    await webhooks.RaiseAsync(job, JobEventNames.Canceled, raises, CancellationToken.None); // the cancel is stored
                    canceled++;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The revocation of API key {KeyId} canceled {Count} of its queued jobs")]
    private static partial void LogCanceled(ILogger logger, string keyId, int count);
}
