using AgentCorex.Web.Api;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Concurrency;

/// <summary>
/// On PostgreSQL, a job that takes or gives up a slot, or enters or leaves the queue, adds a row to key_slot_changes
/// (migrations KeySlotCounts, KeyQueuedCounts).
/// A key with a limit has its changes moved into key_slots by its own admissions; every <see cref="Interval"/>
/// each node moves the rest (keys with no limit, keys not admitted lately), so that the table stays small; a key
/// with no limit has its changes moved by these passes only, which its submits' bound counts on (the insert reads
/// key_slots alone while its count is more than 10,000 under Jobs:MaxQueuedPerKey, Jobs/JobLedger.Queue.cs). A key
/// is moved only under its lock, taken without waiting: a key being admitted is left to its admission, and two
/// nodes never move the same key's rows, which could make them wait on each other's in opposite orders.
/// </summary>
public sealed partial class KeySlotCompaction(IServiceScopeFactory scopes, TimeProvider time, ILogger<KeySlotCompaction> logger) : BackgroundLoop
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <summary>Keys per statement: each holds one lock until the statement commits, from PostgreSQL's shared lock table.</summary>
    private const int KeysAtOnce = 100;

    /// <summary>Passes of <see cref="KeysAtOnce"/> keys at most, every <see cref="Interval"/>.</summary>
    private const int MostPasses = 20;

    private static readonly string MoveChanges =
        $"""
        WITH keys AS MATERIALIZED (SELECT DISTINCT owner_key_id FROM key_slot_changes LIMIT {KeysAtOnce}),
        locked AS MATERIALIZED (SELECT owner_key_id FROM keys WHERE pg_try_advisory_xact_lock({DatabaseLocks.SlotClass}, hashtext(owner_key_id))),
        moved AS (DELETE FROM key_slot_changes c USING locked WHERE c.owner_key_id = locked.owner_key_id RETURNING c.owner_key_id, c.change, c.queued)
        INSERT INTO key_slots (owner_key_id, held, queued)
        SELECT owner_key_id, SUM(change), SUM(queued) FROM moved GROUP BY owner_key_id ORDER BY owner_key_id
        ON CONFLICT (owner_key_id) DO UPDATE SET held = key_slots.held + excluded.held, queued = key_slots.queued + excluded.queued
        """;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicWork.RunAsync(() => Interval, time, atOnce: true, CompactAsync, e => LogCompactionFailed(logger, e),
            new DatabaseOutageLog(logger, "Moving key slots' changes"), stoppingToken);

    /// <returns>How many keys' counts were moved.</returns>
    public async Task<int> CompactAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        var moved = 0;
        for (var pass = 0; pass < MostPasses; pass++)
        {
            var keys = await db.Database.ExecuteSqlRawAsync(MoveChanges, cancellationToken);
            moved += keys;
            if (keys < KeysAtOnce)
            {
                break; // a full pass may have left keys; one that moved fewer found no more (or only locked ones)
            }
        }
        return moved;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Moving key slots' changes failed; they are still counted, and the next pass moves them")]
    private static partial void LogCompactionFailed(ILogger logger, Exception exception);
}
