using System.Net;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Api;

/// <summary>
/// Query values are read as the contract writes them: decimal integers, true or false, each given once, never
/// empty; anything else is 400 INVALID_ARGUMENTS naming the parameter, never a guess at what was meant.
/// </summary>
public sealed class QueryValueTests : ServerTest
{
    [TestCase("limit=0x10", "limit")]
    [TestCase("limit=%2010", "limit")]
    [TestCase("limit=10%20", "limit")]
    [TestCase("limit=+5", "limit")]
    [TestCase("limit=1e1", "limit")]
    [TestCase("limit=5.0", "limit")]
    [TestCase("limit=%D9%A3", "limit")] // an Arabic-Indic three
    [TestCase("limit=", "limit")]
    [TestCase("limit", "limit")]
    [TestCase("limit=5&limit=6", "limit")]
    [TestCase("limit=5&LIMIT=5", "limit")]
    [TestCase("offset=0x0", "offset")]
    [TestCase("offset=", "offset")]
    [TestCase("offset=99999999999", "offset")]
    [TestCase("offset=0&offset=0", "offset")]
    [TestCase("status=", "status")]
    [TestCase("status=queued&status=failed", "status")]
    [TestCase("tool=", "tool")]
    [TestCase("tool=echo&tool=wait", "tool")]
    public async Task List_RefusesValuesNotWrittenAsTheContractSays_NamingTheParameter(string query, string parameter)
    {
        using var client = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

        var response = await client.GetAsync($"/jobs?{query}");

        await AssertInvalidAsync(response, parameter);
    }

    [TestCase("limit=7", 7, 0)]
    [TestCase("limit=007&offset=00", 7, 0)]
    [TestCase("offset=3", 20, 3)]
    [TestCase("query.limit=7", 20, 0)]
    [TestCase("query.status=failed&limit=3", 3, 0)]
    public async Task List_ReadsEachParameterUnderItsOwnName_InDecimal(string query, int limit, int offset)
    {
        using var client = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

        var response = await client.GetAsync($"/jobs?{query}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var body = await response.ReadObjectAsync();
        Assert.That(body.At("pagination.limit")!.GetValue<int>(), Is.EqualTo(limit));
        Assert.That(body.At("pagination.offset")!.GetValue<int>(), Is.EqualTo(offset));
    }

    [Test]
    public async Task List_SaysWhereAnIntegerEnds_WhenItOverflows()
    {
        using var client = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

        var body = await (await client.GetAsync("/jobs?offset=99999999999")).ReadObjectAsync();

        Assert.That(body.Str("error.message"), Does.Contain("2147483647"));
    }

    [TestCase("force=1")]
    [TestCase("force=0")]
    [TestCase("force=yes")]
    [TestCase("force=on")]
    [TestCase("force=")]
    [TestCase("force")]
    [TestCase("force=%20true")]
    [TestCase("force=true%20")]
    [TestCase("force=true&force=false")]
    [TestCase("force=true&force=true")]
    public async Task Cancel_RefusesAForceThatIsNotTrueOrFalse(string query)
    {
        using var client = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

        var response = await client.DeleteAsync($"/jobs/job_doesnotexist1?{query}");

        await AssertInvalidAsync(response, "force");
    }

    [TestCase("force=true")]
    [TestCase("force=TRUE")]
    [TestCase("force=False")]
    [TestCase("")]
    public async Task Cancel_TakesTrueOrFalseInAnyCase(string query)
    {
        using var client = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

        var response = await client.DeleteAsync($"/jobs/job_doesnotexist1?{query}");

        // Read as meant, the cancel goes on to look for the job.
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("JOB_NOT_FOUND"));
    }

    [TestCase("limit=0x10", "limit")]
    [TestCase("limit=5&limit=5", "limit")]
    [TestCase("offset=", "offset")]
    [TestCase("offset=%201", "offset")]
    public async Task Deliveries_RefuseValuesNotWrittenAsTheContractSays(string query, string parameter)
    {
        using var client = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

        // Read before the webhook is looked for: one that does not exist shows it as well.
        var response = await client.GetAsync($"/webhooks/wh_doesnotexist1/deliveries?{query}");

        await AssertInvalidAsync(response, parameter);
    }

    private static async Task AssertInvalidAsync(HttpResponseMessage response, string parameter)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
        Assert.That(body.Str("error.argument"), Is.EqualTo(parameter));
        Assert.That(body.Str("error.message"), Does.Contain($"'{parameter}'"));
    }
}
