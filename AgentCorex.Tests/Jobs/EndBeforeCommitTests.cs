using System.Net;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// On the embedded database a Hangfire worker goes on once a run's end is handed to the ledger's writer, before the
/// commit. A forced cancel handed over before that end still wins in the ledger, and the Hangfire job, which may by then
/// show the run's end, is made Canceled too.
/// </summary>
[TestFixture(TestStorage.Embedded)]
public sealed class EndBeforeCommitTests(TestStorage storage) : ServerTest(storage)
{
    [Test]
    public async Task AForcedCancelHandedOverBeforeTheEnd_LeavesTheLedgerAndHangfireCanceled()
    {
        using var user = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var jobId = await user.SubmitAsync("wait", new { duration_ms = 1500 });
        await user.WaitForStatusAsync(jobId, "running");
        var hangfireId = await App.HangfireIdAsync(jobId);

        Task<HttpResponseMessage> canceling;
        using (await App.Services.GetRequiredService<WriteGate>().EnterAsync(CancellationToken.None))
        {
            // The writer waits at the gate: the cancel reaches it first, the run's end (the tool ends meanwhile) after.
            canceling = user.DeleteAsync($"/jobs/{jobId}?force=true");
            await App.WaitForHangfireJobsAsync([hangfireId], "Succeeded", TimeSpan.FromSeconds(10));
        }
        using var response = await canceling;

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        Assert.That((await user.GetJobAsync(jobId)).Str("status"), Is.EqualTo("canceled"));
        await App.WaitForHangfireJobsAsync([hangfireId], "Canceled");
    }
}
