using System.Net;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// A run stopped by a cancel leaves in the ledger the tokens its tool had reported, for reporting's sums: whether the
/// cancel was stored first (a forced DELETE) or by the run itself (its Hangfire job's state changed). The API shows a
/// canceled job no tokens_used all the same, as the contract says.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class CanceledRunTokensTests(TestStorage storage) : ServerTest(storage)
{
    [Test]
    public async Task AForcedCancel_KeepsTheTokensTheToolHadReported()
    {
        var (client, jobId) = await RunningSpendAsync();
        using var _ = client;

        Assert.That((await client.DeleteAsync($"/jobs/{jobId}?force=true")).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        Assert.That(await TokensOnceKeptAsync(jobId), Is.EqualTo((JobStatus.Canceled, 120L, 30L)));
        Assert.That((await client.GetJobAsync(jobId)).ContainsKey("tokens_used"), Is.False);
    }

    [Test]
    public async Task ACancelByAHangfireStateChange_KeepsTheTokensTheToolHadReported()
    {
        var (client, jobId) = await RunningSpendAsync();
        using var _ = client;

        App.Services.GetRequiredService<IBackgroundJobClient>().Delete(await App.HangfireIdAsync(jobId));

        Assert.That(await TokensOnceKeptAsync(jobId), Is.EqualTo((JobStatus.Canceled, 120L, 30L)));
    }

    /// <summary>A job of a key of its own whose tool has reported 120 input and 30 output tokens, and runs on.</summary>
    private async Task<(HttpClient Client, string JobId)> RunningSpendAsync()
    {
        var client = App.CreateClient((await App.CreateKeyAsync("pro")).ApiKey);
        var jobId = await client.SubmitAsync("test_spend", new { input_tokens = 120, output_tokens = 30, duration_ms = 60_000 });
        await client.WaitForJobAsync(jobId, j => j.Str("status") == "running" && j["progress"]?["current_step"]?.GetValue<string>() == "spent");
        return (client, jobId);
    }

    /// <summary>The job's status and tokens in the ledger, once it has ended with tokens (or as they are at the deadline).</summary>
    private async Task<(string Status, long Input, long Output)> TokensOnceKeptAsync(string jobId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            await using var scope = App.Services.CreateAsyncScope();
            var job = await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.AsNoTracking().SingleAsync(j => j.Id == jobId);
            if ((job.TokensInput != 0 && job.Status != JobStatus.Running) || DateTime.UtcNow > deadline)
            {
                return (job.Status, job.TokensInput, job.TokensOutput);
            }
            await Task.Delay(50);
        }
    }
}
