using AgentCorex.Web.Auth;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// GET /jobs's total: how many jobs pass the query's filters. On the embedded database, the finished ones are
/// summed from job_totals, which triggers keep (migration JobTotals), and only the queued and running ones are
/// counted in an index; both in one statement, so a job ending between the two parts is counted once. On a
/// server database the rows are counted.
/// </summary>
public sealed class JobTotals(AgentCorexDb db, SqliteReadPool? reads = null)
{
    public async Task<int> CountAsync(ApiKeyIdentity caller, JobListQuery query, CancellationToken cancellationToken)
    {
        if (reads is null)
        {
            return await db.Matching(caller, query).CountAsync(cancellationToken);
        }
        cancellationToken.ThrowIfCancellationRequested();
        var (sql, values) = Sql(caller, query);
        return reads.QueryFirst(sql, static row => row.GetInt32(0), values);
    }

    internal static (string Sql, object?[] Values) Sql(ApiKeyIdentity caller, JobListQuery query)
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
            // The queued and running jobs are found by status, whose indexes carry tool: kept off the tool
            // indexes, which would read every row of the tool to check its status (as JobListing does).
            Filter("tool", query.Tool, unfinishedColumn: "tool || ''");
        }
        if (status is not null)
        {
            Filter("status", status);
        }
        var finishedSql = $"(SELECT COALESCE(SUM(jobs), 0) FROM job_totals{(finished.Count == 0 ? "" : " WHERE " + string.Join(" AND ", finished))})";
        var unfinishedSql = $"(SELECT COUNT(*) FROM jobs WHERE {string.Join(" AND ", unfinished)})";
        var sql = status switch
        {
            null => $"SELECT {finishedSql} + {unfinishedSql}",
            _ when JobStatus.IsFinal(status) => $"SELECT {finishedSql}",
            _ => $"SELECT {unfinishedSql}",
        };
        return (sql, [.. values]);
    }
}
