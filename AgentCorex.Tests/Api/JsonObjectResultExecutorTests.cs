using System.Text;
using AgentCorex.Web.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;

namespace AgentCorex.Tests.Api;

/// <summary>The API's own writer of ObjectResults keeps what MVC's did: status, headers the result sets, 204 for nothing.</summary>
public sealed class JsonObjectResultExecutorTests
{
    private sealed record Answer(string JobId, long? ExecutionTimeMs, object Result);

    [Test]
    public async Task Value_IsWrittenAsTheApisJson_WithTheResultsStatusAndLocation()
    {
        var (context, body) = Context();

        await new JsonObjectResultExecutor().ExecuteAsync(context, new AcceptedResult("/jobs/job_abc", new Answer("job_abc", null, new { waited_ms = 5 })));

        Assert.Multiple(() =>
        {
            Assert.That(context.HttpContext.Response.StatusCode, Is.EqualTo(StatusCodes.Status202Accepted));
            Assert.That(context.HttpContext.Response.Headers.Location.ToString(), Is.EqualTo("/jobs/job_abc"));
            Assert.That(context.HttpContext.Response.ContentType, Is.EqualTo("application/json; charset=utf-8"));
            // snake_case, nulls left out, and a result typed object written as what it is
            Assert.That(Encoding.UTF8.GetString(body.ToArray()), Is.EqualTo("""{"job_id":"job_abc","result":{"waited_ms":5}}"""));
        });
    }

    [Test]
    public async Task NoValue_WithOk_IsNoContent()
    {
        var (context, body) = Context();

        await new JsonObjectResultExecutor().ExecuteAsync(context, new OkObjectResult(null));

        Assert.That(context.HttpContext.Response.StatusCode, Is.EqualTo(StatusCodes.Status204NoContent));
        Assert.That(body.Length, Is.Zero);
    }

    private static (ActionContext Context, MemoryStream Body) Context()
    {
        var body = new MemoryStream();
        var http = new DefaultHttpContext { Response = { Body = body } };
        return (new ActionContext(http, new RouteData(), new ActionDescriptor()), body);
    }
}
