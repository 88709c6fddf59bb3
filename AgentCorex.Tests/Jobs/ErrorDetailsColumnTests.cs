using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// What the ledger's error_details holds, as README's jobs table says analysts find it: a JSON object for every
/// EXECUTION_ERROR and EXECUTION_TIMEOUT, null for the other failures (which the API shows as details {}).
/// </summary>
public sealed class ErrorDetailsColumnTests : ServerTest
{
    [Test]
    public async Task AnExecutionErrorOutsideTheToolsRun_HoldsAnEmptyObject_AsOneWhoseToolSaidNothingDoes()
    {
        // The validator throws as the job runs: EXECUTION_ERROR saying nothing of it, where the row held null.
        var faulted = await Admin.SubmitAsync("test_flaky_check", new { label = "flaky-" + Guid.NewGuid().ToString("N") });
        await Admin.WaitForFinalAsync(faulted);

        Assert.That(await ErrorDetailsAsync(faulted), Is.EqualTo(("EXECUTION_ERROR", "{}")));
    }

    [Test]
    public async Task ARunCutOff_HoldsNull_AsREADMESays_ThoughTheApiShowsAnEmptyObject()
    {
        var job = Ledger.Job("key_cut_off", "test_side_effect", JobStatus.Running, arguments: """{"duration_ms":0}""");
        await App.AddJobsAsync([job]);
        await using (var scope = App.Services.CreateAsyncScope())
        {
            var ledger = scope.ServiceProvider.GetRequiredService<JobLedger>();
            Assert.That(await ledger.TryInterruptAsync(job.Id, job.Attempt, CutOffEnd.NotSafeToRetry, raisesWhenFailed: 0, CancellationToken.None), Is.True);
        }

        Assert.That(await ErrorDetailsAsync(job.Id), Is.EqualTo(("SERVER_RESTARTED", "NULL")));
    }

    /// <summary>The job's error_code and error_details, read with SQL ("NULL" for a null).</summary>
    private async Task<(string Code, string Details)> ErrorDetailsAsync(string jobId)
    {
        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        await db.Database.OpenConnectionAsync();
        var rows = await db.TextAsync($"SELECT error_code || ' ' || COALESCE(error_details, 'NULL') FROM jobs WHERE job_id = '{jobId}'");
        var parts = rows.Single().Split(' ', 2);
        return (parts[0], parts[1]);
    }
}
