using System.Net;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Jobs;

[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class JobListTests(TestStorage storage) : ServerTest(storage)
{

    private async Task<(HttpClient Client, List<string> Jobs)> KeyWithFinishedJobsAsync()
    {
        var client = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var jobs = new List<string>();
        foreach (var (tool, arguments) in new (string, object)[]
        {
            ("echo", new { message = "1" }),
            ("fail", new { message = "2" }),
            ("echo", new { message = "3" }),
            ("echo", new { message = "4" }),
            ("fail", new { message = "5" }),
        })
        {
            var id = await client.SubmitAsync(tool, arguments);
            await client.WaitForFinalAsync(id);
            jobs.Add(id);
        }
        return (client, jobs);
    }

    [Test]
    public async Task List_ReturnsTheCallersJobs_NewestFirst()
    {
        var (client, jobs) = await KeyWithFinishedJobsAsync();
        using var _ = client;
        using var other = App.CreateClient((await App.CreateKeyAsync()).ApiKey);
        await other.SubmitAsync("echo", new { message = "not yours" });

        var body = await (await client.GetAsync("/jobs")).ReadObjectAsync();

        var listed = body["jobs"]!.AsArray();
        Assert.That(listed.Select(j => j.Str("job_id")), Is.EqualTo(Enumerable.Reverse(jobs)));
        Assert.That(body.At("pagination.limit")!.GetValue<int>(), Is.EqualTo(20));
        Assert.That(body.At("pagination.offset")!.GetValue<int>(), Is.Zero);
        Assert.That(body.At("pagination.total")!.GetValue<int>(), Is.EqualTo(5));
        var first = listed[0]!;
        Assert.That(first.Str("tool"), Is.EqualTo("fail"));
        Assert.That(first.Str("status"), Is.EqualTo("failed"));
        Assert.That(first["created_at"], Is.Not.Null);
        Assert.That(first["started_at"], Is.Not.Null);
        Assert.That(first["completed_at"], Is.Not.Null);
    }

    [Test]
    public async Task List_FiltersByStatusAndTool_AndPages()
    {
        var (client, jobs) = await KeyWithFinishedJobsAsync();
        using var _ = client;

        var failed = await (await client.GetAsync("/jobs?status=failed")).ReadObjectAsync();
        var echoes = await (await client.GetAsync("/jobs?tool=echo&limit=2&offset=1")).ReadObjectAsync();
        var none = await (await client.GetAsync("/jobs?status=running")).ReadObjectAsync();
        var all = await (await client.GetAsync("/jobs?status=all")).ReadObjectAsync(); // the contract's default, said out loud
        var past = await (await client.GetAsync("/jobs?offset=5")).ReadObjectAsync();

        Assert.That(failed["jobs"]!.AsArray().Select(j => j.Str("job_id")), Is.EqualTo(new[] { jobs[4], jobs[1] }));
        Assert.That(failed.At("pagination.total")!.GetValue<int>(), Is.EqualTo(2));
        Assert.That(echoes["jobs"]!.AsArray().Select(j => j.Str("job_id")), Is.EqualTo(new[] { jobs[2], jobs[0] }));
        Assert.That(echoes.At("pagination.total")!.GetValue<int>(), Is.EqualTo(3));
        Assert.That(echoes.At("pagination.limit")!.GetValue<int>(), Is.EqualTo(2));
        Assert.That(echoes.At("pagination.offset")!.GetValue<int>(), Is.EqualTo(1));
        Assert.That(none["jobs"]!.AsArray(), Is.Empty);
        Assert.That(all["jobs"]!.AsArray().Select(j => j.Str("job_id")), Is.EqualTo(Enumerable.Reverse(jobs)));
        Assert.That(all.At("pagination.total")!.GetValue<int>(), Is.EqualTo(5));
        Assert.That(past.ToJsonString(), Is.EqualTo("""{"jobs":[],"pagination":{"limit":20,"offset":5,"total":5}}"""), "past the end");
    }

    [TestCase("limit=0", "limit", "'limit' must be between 1 and 100. You entered 0.")]
    [TestCase("limit=101", "limit", "'limit' must be between 1 and 100. You entered 101.")]
    [TestCase("limit=ten", "limit", "'limit' must be an integer in decimal digits")]
    [TestCase("offset=-1", "offset", "'offset' must be 0 or more. You entered -1.")]
    [TestCase("offset=x", "offset", "'offset' must be an integer in decimal digits")]
    [TestCase("limit=99999999999999999999", "limit", "'limit' is too large: integers here go up to 2147483647")]
    [TestCase("offset=2147483648", "offset", "'offset' is too large: integers here go up to 2147483647")]
    [TestCase("offset=-2147483649", "offset", "'offset' is too small: integers here go down to -2147483648")]
    [TestCase("status=done", "status", "'status' must be one of: all, queued, running, completed, failed, canceled, timeout")]
    [TestCase("status=ALL", "status", "'status' must be one of: all, queued, running, completed, failed, canceled, timeout")]
    public async Task List_RejectsBadParameters_NamingThem(string query, string parameter, string message)
    {
        using var client = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

        var response = await client.GetAsync($"/jobs?{query}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
        Assert.That(body.Str("error.argument"), Is.EqualTo(parameter));
        Assert.That(body.Str("error.message"), Is.EqualTo(message));
    }

    [TestCase("limit=1")]
    [TestCase("limit=100")]
    [TestCase("status=timeout")]
    [TestCase("status=canceled&tool=wait&offset=5")]
    public async Task List_AcceptsParametersInRange(string query)
    {
        using var client = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

        var response = await client.GetAsync($"/jobs?{query}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }
}
