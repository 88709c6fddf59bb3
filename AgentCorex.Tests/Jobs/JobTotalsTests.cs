using System.Net.Http.Json;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// GET /jobs's total for every filter is the number of jobs that pass it, through every change a job goes
/// through. Finished jobs are summed from job_totals, which triggers keep (on PostgreSQL, with the changes not yet
/// moved into it): these tests hold it to the rows themselves.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class JobTotalsTests(TestStorage storage) : ServerTest(storage)
{
    private static readonly string?[] Tools = [null, "echo", "fail", "wait", "no_such_tool"];
    private static readonly string?[] Statuses = [null, JobListQuery.AnyStatus, .. JobStatus.All];

    [Test]
    public async Task EachFiltersTotal_IsTheNumberOfItsJobs_AsJobsRunEndAndAreCanceled()
    {
        var key = await App.CreateKeyAsync("pro");
        (await Admin.PatchAsJsonAsync($"/api_keys/{key.KeyId}", new { rate_limits = new { requests_per_minute = 1_000_000, max_concurrent = 1 } })).EnsureSuccessStatusCode();
        using var client = App.CreateClient(key.ApiKey);
        var owner = new ApiKeyIdentity(key.KeyId, "totals", "pro", IsAdmin: false);

        // One job ends in each final status; then one runs, one waits behind it (the key's one slot), one is canceled waiting.
        await client.WaitForFinalAsync(await client.SubmitAsync("echo", new { message = "done" }));
        await client.WaitForFinalAsync(await client.SubmitAsync("fail", new { message = "on purpose" }));
        await client.WaitForFinalAsync(await client.SubmitAsync("wait", new { duration_ms = 2_000 }, timeoutMs: 100));
        var running = await client.SubmitAsync("wait", new { duration_ms = 60_000 });
        await client.WaitForStatusAsync(running, "running");
        var waiting = await client.SubmitAsync("wait", new { duration_ms = 60_000 });
        var canceled = await client.SubmitAsync("echo", new { message = "never runs" });
        (await client.DeleteAsync($"/jobs/{canceled}")).EnsureSuccessStatusCode();
        await AssertTotalsAsync(client, owner, expectedAll: 6);
        await MoveTotalsChangesAsync();
        await AssertTotalsAsync(client, owner, expectedAll: 6);

        // The running one canceled: the waiting one starts.
        (await client.DeleteAsync($"/jobs/{running}?force=true")).EnsureSuccessStatusCode();
        await client.WaitForStatusAsync(waiting, "running");
        await AssertTotalsAsync(client, owner, expectedAll: 6);

        (await client.DeleteAsync($"/jobs/{waiting}?force=true")).EnsureSuccessStatusCode();
        await client.WaitForFinalAsync(waiting);
        await AssertTotalsAsync(client, owner, expectedAll: 6);
    }

    [Test]
    public async Task RowsWrittenAndRemovedOutsideTheApi_AreCountedToo()
    {
        var key = await App.CreateKeyAsync("pro");
        using var client = App.CreateClient(key.ApiKey);
        var owner = new ApiKeyIdentity(key.KeyId, "totals", "pro", IsAdmin: false);
        var seeded = new[]
        {
            Ledger.Job(key.KeyId, "echo", JobStatus.Completed), Ledger.Job(key.KeyId, "echo", JobStatus.Timeout),
            Ledger.Job(key.KeyId, "fail", JobStatus.Failed), Ledger.Job(key.KeyId, "echo", JobStatus.Queued),
        };
        await App.AddJobsAsync(seeded);
        await AssertTotalsAsync(client, owner, expectedAll: 4);

        // As the repair passes do: a finished row taken out, one changed from one final status to another.
        await using (var scope = App.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
            await db.Jobs.Where(j => j.Id == seeded[0].Id).ExecuteDeleteAsync();
            await db.Jobs.Where(j => j.Id == seeded[1].Id).ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, JobStatus.Failed));
        }

        await AssertTotalsAsync(client, owner, expectedAll: 3);
        await MoveTotalsChangesAsync();
        await AssertTotalsAsync(client, owner, expectedAll: 3);
    }

    /// <summary>On PostgreSQL, what its pass every few seconds does: the ends so far moved into job_totals.</summary>
    private async Task MoveTotalsChangesAsync()
    {
        if (Storage == TestStorage.PostgreSql)
        {
            await App.Services.GetRequiredService<JobTotalsCompaction>().CompactAsync(CancellationToken.None);
        }
    }

    /// <summary>Every filter's total, as the key and as an admin key, against the rows counted in the ledger.</summary>
    private async Task AssertTotalsAsync(HttpClient client, ApiKeyIdentity owner, int expectedAll)
    {
        var mismatches = new List<string>();
        foreach (var (caller, http) in new[] { (owner, client), (ApiKeyIdentity.ConfiguredAdmin, Admin) })
        {
            foreach (var tool in Tools)
            {
                foreach (var status in Statuses)
                {
                    var query = new JobListQuery { Tool = tool, Status = status };
                    var parameters = string.Join("&", new[] { tool is null ? null : $"tool={tool}", status is null ? null : $"status={status}" }.OfType<string>());
                    // Counted first, answered second, and again: another test's job that ends between them is not a mismatch.
                    for (var attempt = 0; ; attempt++)
                    {
                        var counted = await CountRowsAsync(caller, query);
                        var answered = (await (await http.GetAsync("/jobs?" + parameters)).ReadObjectAsync()).At("pagination.total")!.GetValue<int>();
                        if (answered == counted)
                        {
                            break;
                        }
                        if (!caller.IsAdmin || attempt == 5)
                        {
                            mismatches.Add($"{(caller.IsAdmin ? "admin" : "key")} ?{parameters}: total {answered}, rows {counted}");
                            break;
                        }
                    }
                }
            }
        }
        Assert.That(mismatches, Is.Empty);
        Assert.That(await CountRowsAsync(owner, new JobListQuery()), Is.EqualTo(expectedAll), "the key's jobs, all there");
    }

    private async Task<int> CountRowsAsync(ApiKeyIdentity caller, JobListQuery query)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Matching(caller, query).CountAsync();
    }
}
