using System.Text;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Errors;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Shutdown;
using AgentCorex.Web.Storage;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Streaming;

[ApiController]
[Route("jobs")]
public sealed class JobStreamController(
    JobLedger ledger,
    JobView view,
    JobWatcher watcher,
    KeyStreams keyStreams,
    ApiKeyAuthenticator keys,
    ShutdownDeadline shutdown,
    IOptions<StreamingOptions> options)
    : ControllerBase
{
    private static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();

    /// <summary>
    /// Server-sent events: the job at once, then on every change of its status or progress, or of its place in the
    /// queue while it waits (<see cref="JobWatcher"/>), until its final state. A reconnect with Last-Event-ID is not sent the state it already has; one that already has the final
    /// state gets 204, since EventSource reconnects after every close and a 204 is what makes it stop. A finished
    /// job is answered at once, without a place among the node's streams. A stopping server ends its streams at
    /// once, so they do not hold up its shutdown; EventSource reconnects (to another node) by itself. It opens none
    /// either: a new one is refused with 503 SERVER_SHUTTING_DOWN, as a new execution is, for a 200 it closed at once
    /// would have EventSource reconnect to it again and again while it drains. A HEAD is answered
    /// as the GET would be up to its first event (404, 204, 503 TOO_MANY_STREAMS, or the stream's headers) and ends there:
    /// its body would be dropped, so streaming it would only hold the connection. A stream ends once its key is revoked
    /// (as this node knows it, within Auth:KeyCacheTtl): it sends nothing more, and EventSource's reconnect gets 401.
    /// </summary>
    [HttpGet("{job_id}/stream", Name = "streamJob")]
    [EndpointSummary("Follow a job's changes as server-sent events until it ends")]
    [AccessTokenQuery]
    [ProducesResponseType<string>(StatusCodes.Status200OK, "text/event-stream",
        Description = "Server-sent events, each an id: line and a data: line with the job as GET /jobs/{job_id} shows it (JobResponse), " +
            "with a comment line between them while nothing changes; the stream ends after the job's final state")]
    [ProducesResponseType(StatusCodes.Status204NoContent, Description = "A reconnect whose Last-Event-ID is the finished job's final event: nothing more will come")]
    [ProducesResponseType<ErrorEnvelope>(StatusCodes.Status503ServiceUnavailable, "application/json", Description = "TOO_MANY_STREAMS, SERVER_SHUTTING_DOWN (this node is stopping and opens no new streams; connect to another node), or DATABASE_UNAVAILABLE")]
    [ProducesResponseType<LimitErrorEnvelope>(StatusCodes.Status429TooManyRequests, "application/json",
        Description = "RATE_LIMIT_EXCEEDED: the key has Streaming:MaxStreamsPerKey streams open on this node (error.details.max_streams_per_key), or its API request limit")]
    public async Task Stream([FromRoute(Name = "job_id")] string jobId, [FromHeader(Name = "Last-Event-ID")] string? lastEventId, CancellationToken requestAborted)
    {
        if (shutdown.IsStopping)
        {
            throw ShutdownErrors.NoNewStreams();
        }
        using var streaming = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, shutdown.Stopping);
        var cancellationToken = streaming.Token;
        var caller = ApiKeyIdentity.From(User);
        var job = await ledger.FindOwnAsync(jobId, caller, cancellationToken);
        var sent = lastEventId;
        try
        {
            var current = JobEvent.From(await view.ReadAsync(job, cancellationToken));
            if (current.IsFinal)
            {
                if (current.Id == sent)
                {
                    Response.StatusCode = StatusCodes.Status204NoContent;
                    return;
                }
                StartEventStream();
                if (!HttpMethods.IsHead(Request.Method))
                {
                    await WriteAsync(current, cancellationToken);
                }
                return;
            }

            using var keyLease = caller.IsAdmin ? null : keyStreams.TryEnter(caller.KeyId) ?? throw StreamErrors.TooManyStreamsForKey(keyStreams.Max);
            // After the read above: the stream then takes nothing a poll found before it, which could be older.
            using var subscription = watcher.TrySubscribe(job) ?? throw StreamErrors.TooManyStreams();
            StartEventStream();
            if (HttpMethods.IsHead(Request.Method))
            {
                return;
            }
            if (current.Id != sent)
            {
                await WriteAsync(current, cancellationToken);
                sent = current.Id;
            }
            await Response.Body.FlushAsync(cancellationToken);
            while (!current.IsFinal)
            {
                var next = await subscription.NextAsync(sent, options.Value.KeepAliveInterval, cancellationToken);
                if (await IsRevokedAsync(caller, cancellationToken))
                {
                    return; // revoked while the stream was open: nothing more for it
                }
                if (next is null)
                {
                    await Response.Body.WriteAsync(KeepAlive, cancellationToken);
                    await Response.Body.FlushAsync(cancellationToken);
                    continue;
                }
                await WriteAsync(next, cancellationToken);
                sent = next.Id;
                current = next;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the client went away, or the server is stopping
        }
    }

    /// <summary>Whether the stream's key has been revoked; a database out of reach says nothing of it, and the stream goes on.</summary>
    private async ValueTask<bool> IsRevokedAsync(ApiKeyIdentity caller, CancellationToken cancellationToken)
    {
        try
        {
            return await keys.FindAsync(caller.KeyId, cancellationToken) is null;
        }
        catch (Exception e) when (DatabaseFailures.IsUnavailable(e) && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private void StartEventStream()
    {
        Response.ContentType = "text/event-stream";
        Response.Headers.CacheControl = "no-cache";
        Response.Headers["X-Accel-Buffering"] = "no"; // nginx would otherwise hold events back
        HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
    }

    private async Task WriteAsync(JobEvent job, CancellationToken cancellationToken)
    {
        await Response.Body.WriteAsync(Encoding.UTF8.GetBytes($"id: {job.Id}\ndata: {job.Json}\n\n"), cancellationToken);
        await Response.Body.FlushAsync(cancellationToken);
    }
}

internal static class StreamErrors
{
    /// <summary>How soon a refused client may try again: streams close as their jobs end or their clients leave.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>The key has its most streams open on this node: one of them must close first.</summary>
    public static ApiException TooManyStreamsForKey(int max) =>
        new(StatusCodes.Status429TooManyRequests, new ApiError(
            ErrorCodes.RateLimitExceeded,
            $"Limit of {max} open streams per key on this server reached; close one of this key's streams first",
            Details: new Dictionary<string, object?> { ["max_streams_per_key"] = max }))
        {
            RetryAfter = RetryAfter,
        };

    public static ApiException TooManyStreams() =>
        new(StatusCodes.Status503ServiceUnavailable, new ApiError(ErrorCodes.TooManyStreams, "This server has as many open streams as it serves; try again shortly"))
        {
            RetryAfter = RetryAfter,
        };
}
