using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AgentCorex.Bench.Jobs;

/// <summary>
/// Diagnosis only (--observe-ledger): counts what the server sends to SQLite through EF Core, by statement
/// kind, with the time each took, and how many connections were opened (each open also runs the server's
/// pragmas). A statement that took ≥ 140 ms met a locked database and slept in Microsoft.Data.Sqlite.
/// </summary>
internal sealed class LedgerObserver : DbCommandInterceptor, IDbConnectionInterceptor
{
    private static readonly TimeSpan Slow = TimeSpan.FromMilliseconds(140);

    private readonly ConcurrentDictionary<string, Tally> tallies = new(StringComparer.Ordinal);
    private long opens;

    public sealed class Tally
    {
        public long Count;
        public long Slow;
        public long Ticks;
    }

    public long Opens => Interlocked.Read(ref opens);

    public IReadOnlyDictionary<string, (long Count, long Slow, TimeSpan Total)> Snapshot() =>
        tallies.ToDictionary(t => t.Key, t => (Interlocked.Read(ref t.Value.Count), Interlocked.Read(ref t.Value.Slow), TimeSpan.FromTicks(Interlocked.Read(ref t.Value.Ticks))));

    public void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Interlocked.Increment(ref opens);

    public Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref opens);
        return Task.CompletedTask;
    }

    public override DbDataReader ReaderExecuted(DbCommand command, CommandExecutedEventData eventData, DbDataReader result) =>
        Record(command, eventData, result);

    public override ValueTask<DbDataReader> ReaderExecutedAsync(DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Record(command, eventData, result));

    public override int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result) => Record(command, eventData, result);

    public override ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Record(command, eventData, result));

    public override object? ScalarExecuted(DbCommand command, CommandExecutedEventData eventData, object? result) => Record(command, eventData, result);

    public override ValueTask<object?> ScalarExecutedAsync(DbCommand command, CommandExecutedEventData eventData, object? result, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Record(command, eventData, result));

    private T Record<T>(DbCommand command, CommandExecutedEventData eventData, T result)
    {
        var text = command.CommandText.TrimStart();
        var kind = text.Length == 0 ? "?" : text[..Math.Max(1, text.IndexOfAny([' ', '\n', '\r']) is var i and > 0 ? i : text.Length)].ToUpperInvariant();
        if (kind == "UPDATE")
        {
            // Which state change: the SET clause tells the start (hangfire_id) from the finish (result).
            kind = text.Contains("\"hangfire_id\"", StringComparison.Ordinal) ? "UPDATE start" : text.Contains("\"result\"", StringComparison.Ordinal) ? "UPDATE finish" : "UPDATE other";
        }
        var tally = tallies.GetOrAdd(kind, _ => new Tally());
        Interlocked.Increment(ref tally.Count);
        Interlocked.Add(ref tally.Ticks, eventData.Duration.Ticks);
        if (eventData.Duration >= Slow)
        {
            Interlocked.Increment(ref tally.Slow);
        }
        return result;
    }
}
