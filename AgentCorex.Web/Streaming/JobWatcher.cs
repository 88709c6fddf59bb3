using AgentCorex.Web.Api;
using System.Collections.Concurrent;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Streaming;

/// <summary>
/// Watches the jobs this node's streams follow: every Streaming:PollInterval, one ledger query for all of
/// them (a change made on any node is in the ledger or, for progress, in Hangfire's job parameters), one more
/// for the places in the queue of those queued, and an event for each job whose status, progress or place
/// changed. The first query reads only each job's status, attempt and Hangfire id (its progress is read by that;
/// its created_at, which bounds the read of the places, is known from the stream's start). The whole rows, which
/// the events show, are read in a third query, of the jobs that changed only: with nothing changing, a poll reads
/// no job's arguments, result or error. A stream waits on a task, holding no thread. Polls are numbered as they
/// start, and a stream takes only what one started after its own read found (see <see cref="TrySubscribe"/>).
/// </summary>
public sealed partial class JobWatcher(
    IServiceScopeFactory scopes,
    IOptions<StreamingOptions> options,
    TimeProvider time,
    ILogger<JobWatcher> logger) : BackgroundLoop
{
    private const int Batch = 500;

    /// <summary>
    /// Reading the places in the queue takes at most about 1/PlacesShare of the time: a refresh that took t waits
    /// (PlacesShare - 1) * t before the next. Under about 22 ms (at 200 ms polls) every poll refreshes them; a
    /// longer queue with many streams on it gets them less often, coalesced. A job new to the watch, or back in
    /// the queue, is read at once whatever the cadence.
    /// </summary>
    private const int PlacesShare = 10;

    private readonly ConcurrentDictionary<string, JobWatch> watches = new(StringComparer.Ordinal);
    private readonly TimeProvider clock = time;
    private int streams;
    private long polls;
    private DateTimeOffset placesDue;

    /// <summary>Streams this node serves now.</summary>
    internal int OpenStreams => Volatile.Read(ref streams);

    /// <summary>The polls started so far.</summary>
    internal long Polls => Interlocked.Read(ref polls);

    /// <summary>
    /// Follows a job; null when this node already serves Streaming:MaxStreams streams. Made after the stream's own read
    /// of the job, which it sends first: it then takes only what a poll started after that read found. The watch's
    /// latest event, and what a poll under way publishes, may come from a read older than the stream's, made while
    /// another stream (another client, or this one before it reconnected) followed the job: sent after the stream's
    /// own, it would take the job back (running to queued, an earlier run, less progress), and the next poll forward
    /// again. The next poll, which would publish nothing for a job it finds unchanged, confirms it to the stream.
    /// </summary>
    public Subscription? TrySubscribe(JobEntry job)
    {
        var jobId = job.Id;
        if (Interlocked.Increment(ref streams) > options.Value.MaxStreams)
        {
            Interlocked.Decrement(ref streams);
            return null;
        }
        while (true)
        {
            var watch = watches.GetOrAdd(jobId, static (_, createdAt) => new JobWatch(createdAt), job.CreatedAt);
            var joinedAt = Polls;
            if (watch.TryAddSubscriber(joinedAt))
            {
                return new Subscription(this, jobId, watch, joinedAt);
            }
            // it was being removed as its last stream closed: take a fresh one
        }
    }

    private void Unsubscribe(string jobId, JobWatch watch)
    {
        if (watch.RemoveSubscriber())
        {
            watches.TryRemove(new KeyValuePair<string, JobWatch>(jobId, watch));
        }
        Interlocked.Decrement(ref streams);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var outage = new DatabaseOutageLog(logger, "Looking at the streamed jobs");
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.PollInterval, clock, stoppingToken);
                if (!watches.IsEmpty)
                {
                    await PollAsync(stoppingToken);
                    outage.Succeeded();
                }
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                return; // whatever the stop made the poll throw, as in PeriodicWork
            }
            catch (Exception e)
            {
                if (!outage.Failed(e))
                {
                    LogPollFailed(logger, e);
                }
            }
        }
    }

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        var view = scope.ServiceProvider.GetRequiredService<JobView>();
        var poll = Interlocked.Increment(ref polls); // before anything is read: see TrySubscribe
        var refreshPlaces = clock.GetUtcNow() >= placesDue;
        List<(JobPulse Job, JobWatch Watch)> queued = [];
        List<Change> changed = [];
        foreach (var batch in watches.Keys.Chunk(Batch))
        {
            // Only what tells whether a job changed; the whole rows (arguments, result ...) are read below for those that did.
            var jobs = await Jobs(db, batch)
                .Select(j => new JobPulse(j.Id, j.Status, j.Attempt, j.HangfireId))
                .ToListAsync(cancellationToken);
            foreach (var job in jobs)
            {
                if (!watches.TryGetValue(job.Id, out var watch))
                {
                    continue;
                }
                if (job.Status == JobStatus.Queued)
                {
                    // A queued job's place changes as the jobs ahead of it start: read below, for all of them at once.
                    if (refreshPlaces || watch.State is not { Status: JobStatus.Queued } seen || seen.Attempt != job.Attempt || watch.IsAwaitedBy(poll))
                    {
                        queued.Add((job, watch));
                    }
                    continue;
                }
                var state = new StreamedState(job.Status, job.Attempt, view.ProgressOf(job.Status, job.HangfireId), PositionInQueue: null);
                Found(new Change(job.Id, state, watch), poll, changed);
            }
        }
        if (queued.Count > 0)
        {
            await AddMovedInQueueAsync(db, queued, refreshPlaces, poll, changed, cancellationToken);
        }
        if (changed.Count > 0)
        {
            await PublishAsync(db, changed, poll, cancellationToken);
        }
    }

    /// <summary>A job found in a new state is published below; one found unchanged is confirmed to the streams that wait on this poll.</summary>
    private static void Found(Change found, long poll, List<Change> changed)
    {
        if (found.State != found.Watch.State)
        {
            changed.Add(found);
        }
        else
        {
            found.Watch.Confirm(poll);
        }
    }

    private async Task AddMovedInQueueAsync(
        AgentCorexDb db, List<(JobPulse Job, JobWatch Watch)> queued, bool refresh, long poll, List<Change> changed, CancellationToken cancellationToken)
    {
        var started = clock.GetTimestamp();
        var places = await db.PositionsInQueueAsync([.. queued.Select(q => q.Job.Id)], queued.Max(q => q.Watch.CreatedAt), cancellationToken);
        if (refresh)
        {
            placesDue = clock.GetUtcNow() + clock.GetElapsedTime(started) * (PlacesShare - 1);
        }
        foreach (var (job, watch) in queued)
        {
            // A job missing has left the queue since its status was read: the next poll sees where it went.
            if (places.TryGetValue(job.Id, out var place))
            {
                Found(new Change(job.Id, new StreamedState(job.Status, job.Attempt, Progress: null, place), watch), poll, changed);
            }
        }
    }

    /// <summary>
    /// Reads the whole rows of the jobs that changed and sends each its event. A row that has moved on since its status
    /// was read (another status or attempt) is left for the next poll, which sees it and reads it again: an event always
    /// shows the state it is published for.
    /// </summary>
    private static async Task PublishAsync(AgentCorexDb db, List<Change> changed, long poll, CancellationToken cancellationToken)
    {
        foreach (var batch in changed.Chunk(Batch))
        {
            var ids = batch.Select(c => c.JobId).ToArray();
            var rows = await Jobs(db, ids).ToDictionaryAsync(j => j.Id, StringComparer.Ordinal, cancellationToken);
            foreach (var (jobId, state, watch) in batch)
            {
                if (rows.TryGetValue(jobId, out var job) && job.Status == state.Status && job.Attempt == state.Attempt)
                {
                    watch.Publish(state, JobEvent.From(job.ToResponse(state.PositionInQueue, state.Progress)), poll);
                }
            }
        }
    }

    /// <summary>
    /// The jobs <paramref name="ids"/>, the ids as one array-like parameter: EF Core's default, a parameter each, writes
    /// the statement anew for every number of them, which was most of what a poll of 500 idle streams allocated.
    /// </summary>
    private static IQueryable<JobEntry> Jobs(AgentCorexDb db, string[] ids) => db.Jobs.AsNoTracking().Where(j => EF.Parameter(ids).Contains(j.Id));

    /// <summary>Of a watched job, what each poll reads: enough to tell whether it changed, and to read its progress or place.</summary>
    private sealed record JobPulse(string Id, string Status, int Attempt, string? HangfireId);

    /// <summary>A watched job found changed, and the state its event is to show.</summary>
    private readonly record struct Change(string JobId, StreamedState State, JobWatch Watch);

    /// <summary>A stream's hold on a watched job; disposing it lets the job go when no other stream follows it.</summary>
    /// <param name="joinedAt">The polls started when it was made, after the stream's own read: it takes what later ones found only.</param>
    public sealed class Subscription(JobWatcher watcher, string jobId, JobWatch watch, long joinedAt) : IDisposable
    {
        private int disposed;

        /// <summary>
        /// The next event whose id differs from <paramref name="sentId"/>, found by a poll started after the stream's own
        /// read, or null when <paramref name="idle"/> passes first. Woken by an event it does not take (a confirm for a
        /// stream that has just joined, say), it waits on for what is left of <paramref name="idle"/>, so that its keep-alive
        /// still comes on time.
        /// </summary>
        public async Task<JobEvent?> NextAsync(string? sentId, TimeSpan idle, CancellationToken cancellationToken)
        {
            var started = watcher.clock.GetTimestamp();
            while (true)
            {
                var next = watch.Next; // taken before Latest is read, so a publish in between is not missed
                if (watch.Latest is { } latest && IsNew(latest, sentId))
                {
                    return latest.Event;
                }
                var left = idle - watcher.clock.GetElapsedTime(started);
                if (left <= TimeSpan.Zero)
                {
                    return null;
                }
                try
                {
                    await next.WaitAsync(left, watcher.clock, cancellationToken);
                }
                catch (TimeoutException)
                {
                    return null;
                }
            }
        }

        private bool IsNew(WatchedEvent published, string? sentId) => published.Poll > joinedAt && published.Event.Id != sentId;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                watcher.Unsubscribe(jobId, watch);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Looking at the streamed jobs failed; the next poll tries again")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);
}
