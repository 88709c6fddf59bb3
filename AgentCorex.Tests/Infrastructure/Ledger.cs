using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>Jobs put straight into the ledger, for figures that real runs cannot be made to give (chosen times, past days).</summary>
public static class Ledger
{
    public static JobEntry Job(string owner, string tool, string status, long? executionTimeMs = null, DateTime? at = null, string? errorMessage = null)
    {
        var when = at ?? DateTime.UtcNow;
        return new JobEntry
        {
            Id = "job_seed" + Guid.NewGuid().ToString("N")[..12],
            OwnerKeyId = owner,
            Tool = tool,
            Arguments = """{"message":"seeded"}""",
            Status = status,
            TimeoutMs = 30_000,
            Attempt = 1,
            CreatedAt = when,
            StartedAt = status is JobStatus.Canceled or JobStatus.Queued ? null : when,
            CompletedAt = status is JobStatus.Running or JobStatus.Queued ? null : when,
            ExecutionTimeMs = executionTimeMs,
            ErrorMessage = errorMessage,
        };
    }

    public static async Task AddJobsAsync(this AgentCorexApp app, IEnumerable<JobEntry> jobs)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        db.Jobs.AddRange(jobs);
        await db.SaveChangesAsync();
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
