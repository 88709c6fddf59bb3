using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>Jobs put straight into the ledger, for figures that real runs cannot be made to give (chosen times, past days).</summary>
public static class Ledger
{
    public static JobEntry Job(string owner, string tool, string status, long? executionTimeMs = null, DateTime? at = null, string? errorMessage = null, string? arguments = null, string? idempotencyKey = null)
    {
        var when = at ?? DateTime.UtcNow;
        return new JobEntry
        {
            Id = "job_seed" + Guid.NewGuid().ToString("N")[..12],
            OwnerKeyId = owner,
            Tool = tool,
            Arguments = arguments ?? """{"message":"seeded"}""",
            Status = status,
            TimeoutMs = 30_000,
            Attempt = 1,
            CreatedAt = when,
            StartedAt = status is JobStatus.Canceled or JobStatus.Queued ? null : when,
            CompletedAt = status is JobStatus.Running or JobStatus.Queued ? null : when,
            ExecutionTimeMs = executionTimeMs,
            ErrorMessage = errorMessage,
            IdempotencyKey = idempotencyKey,
        };
    }

    /// <summary>A queued job parked behind its key's held slots, as admission stores one over the key's limit.</summary>
    public static JobEntry Parked(string owner, string tool = "echo", string? arguments = null)
    {
        var job = Job(owner, tool, JobStatus.Queued, arguments: arguments);
        job.Parked = true;
        return job;
    }

    public static async Task AddJobsAsync(this AgentCorexApp app, IEnumerable<JobEntry> jobs)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        db.Jobs.AddRange(jobs);
        await db.SaveChangesAsync();
    }

    /// <summary>
    /// A running job's run cut off and the job started again, as after a restart, straight in the ledger: running before
    /// and after, only its attempt and started_at change. The run is put its attempt's number of seconds ahead, so that
    /// its started_at, the one field of a running job's event a new run changes, is a later second than the last
    /// run's without waiting for one (nothing reads started_at but what shows it).
    /// </summary>
    public static async Task RunAgainAsync(this Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> app, string jobId)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var ledger = scope.ServiceProvider.GetRequiredService<JobLedger>();
        var row = (await ledger.FindAsync(jobId, CancellationToken.None))!;
        Assert.That(await ledger.TryInterruptAsync(jobId, row.Attempt, CutOffEnd.RunAgain, raisesWhenFailed: 0, CancellationToken.None), Is.True);
        Assert.That(await ledger.TryStartAsync(jobId, row.HangfireId!, row.Attempt + 1, DateTime.UtcNow.AddSeconds(row.Attempt), raises: 0, CancellationToken.None), Is.True);
    }

    /// <summary>The Hangfire job now carrying a ledger job, once a worker has started it.</summary>
    public static async Task<string> HangfireIdAsync(this Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> app, string jobId)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        var id = await db.Jobs.AsNoTracking().Where(j => j.Id == jobId).Select(j => j.HangfireId).SingleAsync();
        Assert.That(id, Is.Not.Null, $"{jobId} has not started");
        return id!;
    }
}
