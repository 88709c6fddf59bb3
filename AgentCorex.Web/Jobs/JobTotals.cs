using AgentCorex.Web.Auth;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// GET /jobs's total: how many jobs pass the query's filters. The finished ones are summed from job_totals
/// (finished jobs per key, tool and final status, migration JobTotals), and only the queued and running ones are
/// counted in an index; all in one statement, so a job ending between the parts is counted once. On the embedded
/// database triggers keep job_totals itself; on PostgreSQL they add rows to job_total_changes, which
/// <see cref="JobTotalsCompaction"/> moves into job_totals, and the total adds those not moved yet. SQL Server
/// counts the rows.
/// </summary>
public sealed class JobTotals(AgentCorexDb db, SqliteReadPool? reads = null)
{
    public async Task<int> CountAsync(ApiKeyIdentity caller, JobListQuery query, CancellationToken cancellationToken)
    {
        if (reads is not null)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (sql, values) = Sql(caller, query, embedded: true);
            return reads.QueryFirst(sql, static row => row.GetInt32(0), values);
        }
        if (db.Database.IsNpgsql())
        {
            var (sql, values) = Sql(caller, query, embedded: false);
            return await db.Database.SqlQueryRaw<int>(sql, values!).SingleAsync(cancellationToken);
        }
        return await db.Matching(caller, query).CountAsync(cancellationToken);
    }

    /// <summary>The total's statement, with {n} for its values; its one column is named Value, as EF Core reads it.</summary>
    /// <param name="embedded">SQLite's (job_totals alone, its planner steered off the tool index) or PostgreSQL's.</param>
    internal static (string Sql, object?[] Values) Sql(ApiKeyIdentity caller, JobListQuery query, bool embedded)
    {
        var status = query.StatusFilter();
        List<object?> values = [];
        var finished = new List<string>();
        var unfinished = new List<string> { $"status IN ('{JobStatus.Queued}', '{JobStatus.Running}')" };
        void Filter(string column, object? value, string? unfinishedColumn = null)
        {
            finished.Add($"{column} = {{{values.Count}}}");
            unfinished.Add($"{unfinishedColumn ?? column} = {{{values.Count}}}");
            values.Add(value);
        }
        if (!caller.IsAdmin)
        {
            Filter("owner_key_id", caller.KeyId);
        }
        if (query.Tool is not null)
        {
            // The queued and running jobs are found by status, whose indexes carry tool: on SQLite, which has no
            // statistics, kept off the tool indexes, which would read every row of the tool to check its status
            // (as JobListing does).
            Filter("tool", query.Tool, unfinishedColumn: embedded ? "tool || ''" : null);
        }
        if (status is not null)
        {
            Filter("status", status);
        }
        var where = finished.Count == 0 ? "" : " WHERE " + string.Join(" AND ", finished);
        var finishedSql = embedded
            ? $"(SELECT COALESCE(SUM(jobs), 0) FROM job_totals{where})"
            : $"(SELECT COALESCE(SUM(jobs), 0) FROM job_totals{where}) + (SELECT COALESCE(SUM(change), 0) FROM job_total_changes{where})";
        var unfinishedSql = $"(SELECT COUNT(*) FROM jobs WHERE {string.Join(" AND ", unfinished)})";
        var total = status switch
        {
            null => $"{finishedSql} + {unfinishedSql}",
            _ when JobStatus.IsFinal(status) => finishedSql,
            _ => unfinishedSql,
        };
        return ($"SELECT CAST({total} AS integer) AS \"Value\"", [.. values]);
    }
}
