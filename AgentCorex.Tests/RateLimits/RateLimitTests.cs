using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.RateLimits;

[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class RateLimitTests(TestStorage storage) : ServerTest(storage)
{
    /// <summary>Windows are whole UTC minutes: a test that counts through one starts early enough in it.</summary>
    public static async Task StartOfAFreshMinuteAsync(int secondsNeeded = 15)
    {
        var left = 60 - DateTimeOffset.UtcNow.ToUnixTimeSeconds() % 60;
        if (left < secondsNeeded)
        {
            await Task.Delay(TimeSpan.FromSeconds(left + 0.2));
        }
    }

    private static Task<HttpResponseMessage> SubmitRawAsync(HttpClient client, string tool = "echo") =>
        client.PostJsonAsync("/jobs/submit", new { tool, arguments = new { message = "hi" } });

    private static long Header(HttpResponseMessage response, string name) =>
        long.Parse(response.Headers.GetValues(name).Single(), CultureInfo.InvariantCulture);

    [Test]
    public async Task FreeKey_CountsDownThroughTheWindow_ThenIsRefusedWith429()
    {
        await StartOfAFreshMinuteAsync();
        using var free = App.CreateClient((await App.CreateKeyAsync(plan: "free")).ApiKey);
        var nextMinute = (DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60 + 1) * 60;

        var remaining = new List<long>();
        for (var i = 0; i < 10; i++)
        {
            var response = await SubmitRawAsync(free);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(Header(response, "X-RateLimit-Limit"), Is.EqualTo(10));
            Assert.That(Header(response, "X-RateLimit-Reset"), Is.EqualTo(nextMinute));
            remaining.Add(Header(response, "X-RateLimit-Remaining"));
        }
        var refused = await SubmitRawAsync(free);
        var body = await refused.ReadObjectAsync();

        Assert.Multiple(() =>
        {
            Assert.That(remaining, Is.EqualTo(new long[] { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 }));
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(body.Str("error.code"), Is.EqualTo("RATE_LIMIT_EXCEEDED"));
            Assert.That((body.Str("tool"), body.Str("status")), Is.EqualTo(("echo", "error")), "an execution endpoint's error names the tool");
            Assert.That(refused.Headers.RetryAfter?.Delta?.TotalSeconds, Is.InRange(1, 60));
            Assert.That(Header(refused, "X-RateLimit-Remaining"), Is.Zero);
            Assert.That(Header(refused, "X-RateLimit-Limit"), Is.EqualTo(10));
            Assert.That(Header(refused, "X-RateLimit-Reset"), Is.EqualTo(nextMinute));
        });
    }

    [Test]
    public async Task ARefusalOverTheLimit_OfABodyWhoseToolIsNoText_Is429_NamingNoTool()
    {
        await StartOfAFreshMinuteAsync();
        var key = await (await Admin.PostJsonAsync("/api_keys", new { name = "one a minute", plan = "free", rate_limits = new { requests_per_minute = 1 } })).ReadObjectAsync();
        using var client = App.CreateClient(key.Str("api_key"));
        Assert.That((await SubmitRawAsync(client)).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));

        // The refusal reads the body to name the tool; a lone surrogate is no name to give.
        var refused = await client.PostRawAsync("/jobs/submit", """{"tool":"\ud800","arguments":{}}""");
        var body = await refused.ReadObjectAsync();

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), body.ToJsonString());
        Assert.That((body.Str("error.code"), body["tool"]), Is.EqualTo(("RATE_LIMIT_EXCEEDED", (System.Text.Json.Nodes.JsonNode?)null)));
    }

    [Test]
    public async Task EveryAnswerOfAnExecutionEndpoint_CarriesTheHeaders_ErrorsToo()
    {
        await StartOfAFreshMinuteAsync();
        using var pro = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);

        var unknownTool = await SubmitRawAsync(pro, tool: "no_such_tool");
        var badBody = await pro.PostRawAsync("/jobs/submit", "{not json");

        Assert.Multiple(() =>
        {
            Assert.That(unknownTool.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(Header(unknownTool, "X-RateLimit-Limit"), Is.EqualTo(100));
            Assert.That(Header(unknownTool, "X-RateLimit-Remaining"), Is.EqualTo(99));
            Assert.That(badBody.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(Header(badBody, "X-RateLimit-Remaining"), Is.EqualTo(98));
        });
    }

    [Test]
    public async Task KeyOwnLimit_ReplacesItsPlans_AndCanBeChangedAndReset()
    {
        await StartOfAFreshMinuteAsync();
        var created = await Admin.PostAsJsonAsync("/api_keys", new { name = "limited", plan = "pro", rate_limits = new { requests_per_minute = 2 } });
        var key = await created.ReadObjectAsync();
        using var client = App.CreateClient(key.Str("api_key"));

        var first = await SubmitRawAsync(client);
        await SubmitRawAsync(client);
        var third = await SubmitRawAsync(client);
        var raised = await (await Admin.PatchAsJsonAsync($"/api_keys/{key.Str("key_id")}", new { rate_limits = new { requests_per_minute = 5 } })).ReadObjectAsync();
        var fourth = await SubmitRawAsync(client);
        var reset = await (await Admin.PatchAsJsonAsync($"/api_keys/{key.Str("key_id")}", new { reset_rate_limits = true })).ReadObjectAsync();

        Assert.Multiple(() =>
        {
            Assert.That(key.At("rate_limits.requests_per_minute")!.GetValue<int>(), Is.EqualTo(2));
            Assert.That(key.At("rate_limits.max_concurrent")!.GetValue<int>(), Is.EqualTo(5), "the plan's, where the key has none of its own");
            Assert.That(Header(first, "X-RateLimit-Limit"), Is.EqualTo(2));
            Assert.That(third.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(raised.At("rate_limits.requests_per_minute")!.GetValue<int>(), Is.EqualTo(5));
            Assert.That(fourth.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the new limit holds at once on this node");
            Assert.That(Header(fourth, "X-RateLimit-Remaining"), Is.EqualTo(1), "four counted in this minute, the refused one too");
            Assert.That(reset.At("rate_limits.requests_per_minute")!.GetValue<int>(), Is.EqualTo(100), "back to the plan's");
        });
    }

    [Test]
    public async Task AKeyGivenNoLimitPerMinute_IsNotCounted_AndCarriesNoHeaders_UntilGivenOneAgain()
    {
        await StartOfAFreshMinuteAsync();
        var created = await Admin.PostRawAsync("/api_keys", """{"name":"unmetered","plan":"free","rate_limits":{"requests_per_minute":null}}""");
        var key = await created.ReadObjectAsync();
        using var client = App.CreateClient(key.Str("api_key"));

        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 12; i++)
        {
            answers.Add(await SubmitRawAsync(client));
        }
        (await Admin.PatchRawAsync($"/api_keys/{key.Str("key_id")}", """{"rate_limits":{"requests_per_minute":20}}""")).EnsureSuccessStatusCode();
        var limitedAgain = await SubmitRawAsync(client);

        Assert.Multiple(() =>
        {
            Assert.That(answers.Select(a => a.StatusCode), Is.All.EqualTo(HttpStatusCode.Accepted), "more than the free plan's 10 in a minute");
            Assert.That(answers.Where(a => a.Headers.Contains("X-RateLimit-Limit")), Is.Empty, "no window to report");
            Assert.That(Header(limitedAgain, "X-RateLimit-Limit"), Is.EqualTo(20));
            Assert.That(Header(limitedAgain, "X-RateLimit-Remaining"), Is.EqualTo(19), "what it sent without a limit was not counted");
        });
    }

    [Test]
    public async Task AdminKeys_AreUnlimited_AndCarryNoHeaders()
    {
        var response = await SubmitRawAsync(Admin);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        Assert.That(response.Headers.Contains("X-RateLimit-Limit"), Is.False);
    }

    [TestCase("""{"name":"k","plan":"pro","rate_limits":{"requests_per_minute":0}}""", "rate_limits.requests_per_minute")]
    [TestCase("""{"name":"k","plan":"pro","rate_limits":{"max_concurrent":-1}}""", "rate_limits.max_concurrent")]
    public async Task OwnLimits_OutOfRange_AreInvalidArguments(string body, string argument)
    {
        var response = await Admin.PostRawAsync("/api_keys", body);
        var error = await response.ReadObjectAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(error.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
        Assert.That(error.Str("error.argument"), Is.EqualTo(argument));
    }

    [Test]
    public async Task Patch_WithNothingToChange_OrAnUnknownKey_IsRefused()
    {
        var key = await App.CreateKeyAsync();

        var empty = await Admin.PatchAsJsonAsync($"/api_keys/{key.KeyId}", new { });
        var emptyLimits = await Admin.PatchAsJsonAsync($"/api_keys/{key.KeyId}", new { rate_limits = new { } });
        var unknown = await Admin.PatchAsJsonAsync("/api_keys/key_doesnotexist", new { plan = "pro" });

        var nothing = await empty.ReadObjectAsync();
        Assert.That(empty.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(nothing.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
        Assert.That(nothing.At("error")!.AsObject().ContainsKey("argument"), Is.False, "no one field is missing more than the others");
        Assert.That(nothing.Str("error.message"), Does.Contain("name, plan, rate_limits or reset_rate_limits"));
        Assert.That(emptyLimits.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "rate_limits with neither limit changes nothing either");
        Assert.That((await emptyLimits.ReadObjectAsync()).Str("error.message"), Does.StartWith("Nothing to change"));
        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await unknown.ReadObjectAsync()).Str("error.code"), Is.EqualTo("API_KEY_NOT_FOUND"));
    }
}

public sealed class ApiRateLimitTests : ServerTest
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["RateLimits:ApiRequestsPerMinute"] = "3" };

    [Test]
    public async Task OtherEndpoints_HaveTheirOwnLooserLimit_PerKey()
    {
        await RateLimitTests.StartOfAFreshMinuteAsync();
        using var key = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        using var other = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage last = null!;
        for (var i = 0; i < 4; i++)
        {
            last = await key.GetAsync("/tools");
            statuses.Add(last.StatusCode);
        }
        var submit = await key.PostJsonAsync("/jobs/submit", new { tool = "echo", arguments = new { message = "hi" } });

        Assert.That(statuses, Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        Assert.That(last.Headers.RetryAfter?.Delta?.TotalSeconds, Is.InRange(1, 60), "the refusal says when to try again");
        Assert.That(last.Headers.Contains("X-RateLimit-Limit"), Is.False, "only the execution endpoints count against the plan");
        Assert.That((await other.GetAsync("/tools")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "another key has its own count");
        Assert.That(submit.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "the execution endpoints count apart");
        Assert.That((await Admin.GetAsync("/tools")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }
}
