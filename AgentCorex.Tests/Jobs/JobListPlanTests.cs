using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Dashboard;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>The plans of GET /jobs's queries, asked of the real database: a page must not sort the whole ledger.</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class JobListPlanTests(TestStorage storage) : ServerTest(storage)
{
    private const string Owner = "key_planowner01";

    /// <summary>
    /// A ledger shaped like a busy one, so that PostgreSQL plans by real statistics: two keys, mostly echo jobs,
    /// mostly completed, a few failed.
    /// </summary>
    [OneTimeSetUp]
    public async Task FillTheLedger()
    {
        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        // ExecuteSqlRaw reads braces as its parameters' places: '{{}}' is the arguments, an empty object.
        const string Insert =
            "INSERT INTO jobs (job_id, owner_key_id, tool, arguments, status, timeout_ms, attempt, tokens_input, tokens_output, created_at) "
            + "SELECT 'job_plan' || n, CASE WHEN n % 2 = 0 THEN '" + Owner + "' ELSE 'key_planother01' END, "
            + "CASE WHEN n % 100 = 7 THEN 'wait' WHEN n % 1000 = 3 THEN 'fail' ELSE 'echo' END, '{{}}', "
            + "CASE WHEN n % 50 = 1 THEN 'failed' ELSE 'completed' END, 30000, 1, 0, 0, ";
        if (Storage == TestStorage.PostgreSql)
        {
            await db.Database.ExecuteSqlRawAsync(Insert + "now() - n * interval '1 second' FROM generate_series(1, 40000) AS n");
            await db.Database.ExecuteSqlRawAsync("VACUUM ANALYZE jobs");
        }
        else
        {
            await db.Database.ExecuteSqlRawAsync(
                "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 40000) "
                + Insert + "datetime('now', '-' || n || ' seconds') FROM s");
        }
    }

    [Test]
    public async Task AnAdminKeysPage_IsReadNewestFirstFromAnIndex()
    {
        var query = new JobListQuery();

        var plan = await PlanAsync(db => db.PageIds(ApiKeyIdentity.ConfiguredAdmin, query));

        Assert.That(plan, Does.Contain("ix_jobs_created"), plan);
        Assert.That(plan, Does.Not.Contain("TEMP B-TREE").And.Not.Contain("Sort"), plan);
    }

    /// <summary>
    /// Every filter GET /jobs takes, for a key's own jobs and an admin key's: the page's ids are read in their order
    /// from an index alone, never sorted (so a page deep in a million jobs passes over index entries, not rows), and
    /// its rows found by their ids. On SQLite, each filter's own index, and the total counted in an index alone.
    /// </summary>
    [TestCase(false, null, null, "ix_jobs_owner_created")]
    [TestCase(false, JobStatus.Failed, null, "ix_jobs_owner_status_created")]
    [TestCase(false, null, "echo", "ix_jobs_owner_tool_created")]
    [TestCase(false, JobStatus.Failed, "echo", "ix_jobs_owner_status_created")]
    [TestCase(true, JobStatus.Completed, null, "ix_jobs_status_created")]
    [TestCase(true, null, "echo", "ix_jobs_tool_created")]
    [TestCase(true, JobStatus.Completed, "echo", "ix_jobs_status_created")]
    public async Task EachFilter_ReadsItsPageInOrder_AndCountsItsTotal_FromAnIndex(bool admin, string? status, string? tool, string index)
    {
        var caller = admin ? ApiKeyIdentity.ConfiguredAdmin : new ApiKeyIdentity(Owner, "plan owner", "free", IsAdmin: false);
        var query = new JobListQuery { Status = status, Tool = tool, Offset = 500_000 };

        var ids = await PlanAsync(db => db.PageIds(caller, query));
        // The page's own sort is of its ids' rows only: priced out, PostgreSQL would walk a whole index instead.
        var page = await PlanAsync(db => db.Page(caller, query), asItIs: true);
        var count = await PlanAsync(db => db.Matching(caller, query).Select(j => j.Id), count: true);

        Assert.That(ids, Does.Not.Contain("TEMP B-TREE").And.Not.Contain("Sort"), ids);
        Assert.That(ids, Does.Contain("COVERING INDEX").Or.Contain("Index Only Scan"), ids);
        Assert.That(page, Does.Contain("sqlite_autoindex_jobs_1").Or.Contain("PK_jobs"), "the page's rows found by their ids: " + page);
        if (Storage == TestStorage.Embedded)
        {
            // SQLite has no statistics: its choice is the schema's and the query's, and must be this. PostgreSQL
            // chooses by its statistics among the indexes that serve the order.
            Assert.That(ids, Does.Contain(index), ids);
            Assert.That(count, Does.Contain("COVERING INDEX"), count);
        }
    }

    /// <summary>
    /// The total never counts finished jobs in jobs (there were 45-85 ms of them at 800,000): a finished status reads
    /// only the kept totals, and any other filter counts only the queued and running jobs, in an index.
    /// </summary>
    [TestCase(false, null, null)]
    [TestCase(false, JobStatus.Completed, null)]
    [TestCase(false, JobStatus.Running, "echo")]
    [TestCase(false, null, "echo")]
    [TestCase(true, null, null)]
    [TestCase(true, JobStatus.Failed, "echo")]
    [TestCase(true, null, "echo")]
    public async Task EachFiltersTotal_ReadsTheKeptTotals_AndOnlyUnfinishedJobs(bool admin, string? status, string? tool)
    {
        var caller = admin ? ApiKeyIdentity.ConfiguredAdmin : new ApiKeyIdentity(Owner, "plan owner", "free", IsAdmin: false);
        var (sql, values) = JobTotals.Sql(caller, new JobListQuery { Status = status, Tool = tool }, embedded: Storage == TestStorage.Embedded);

        var plan = await ExplainAsync(QueryPlans.Inline(sql, values));

        Assert.That(plan, Does.Not.Contain("SCAN jobs").And.Not.Contain("Seq Scan on jobs"), plan);
        if (status is not null && JobStatus.IsFinal(status))
        {
            Assert.That(plan, Does.Not.Contain(" jobs "), "a finished status reads no job: " + plan);
        }
        else
        {
            // Searched by status: SQLite's in one of the listing's status indexes; PostgreSQL's in whichever it prices lowest.
            Assert.That(plan, Storage == TestStorage.Embedded
                ? Does.Match(@"SEARCH jobs USING COVERING INDEX ix_jobs_(owner_)?status_created \((owner_key_id=\? AND )?status=\?")
                : Does.Match(@"Index Only Scan using \w+ on jobs .*\n\s+Index Cond: [^\n]*status = "), plan);
        }
    }

    private async Task<string> ExplainAsync(string sql)
    {
        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        await db.Database.OpenConnectionAsync();
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = (Storage == TestStorage.PostgreSql ? "EXPLAIN " : "EXPLAIN QUERY PLAN ") + sql;
        return await QueryPlans.ReadAsync(command);
    }

    /// <summary>
    /// The dashboard's ledger lists (Timed out, Canceled, Interrupted), the latest ended first: a page read in order from
    /// the ended index, never sorted, and the count from it alone, whichever storage.
    /// </summary>
    [Test]
    public async Task EachLedgerListOfTheDashboard_ReadsItsPageInOrder_AndCountsItsTotal_FromTheEndedIndex()
    {
        foreach (var list in LedgerJobList.All)
        {
            var page = await PlanAsync(db => db.Listed(list).LatestEndedFirst().Skip(500).Take(20));
            var count = await PlanAsync(db => db.Listed(list).Select(j => j.Id), count: true);

            Assert.That(page, Does.Contain(JobEntryConfiguration.EndedIndex).And.Not.Contain("TEMP B-TREE").And.Not.Contain("Sort"), list.Title + ": " + page);
            Assert.That(count, Does.Contain(JobEntryConfiguration.EndedIndex), list.Title + ": " + count);
        }
    }

    /// <summary>
    /// SQLite's plan as it is. PostgreSQL's with sequential scans and sorts priced out: on a table this small it
    /// would rightly choose them, so the question is whether an index can serve the order at all. A count is
    /// asked of the query's ids, which the database reads as it reads EF Core's COUNT(*) over the same filter.
    /// <paramref name="asItIs"/> asks PostgreSQL's plan as it is, with nothing priced out.
    /// </summary>
    private async Task<string> PlanAsync(Func<AgentCorexDb, IQueryable> build, bool count = false, bool asItIs = false)
    {
        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        await db.Database.OpenConnectionAsync();
        try
        {
            await using var command = build(db).CreateDbCommand();
            if (count)
            {
                command.CommandText = $"SELECT COUNT(*) FROM ({command.CommandText}) AS matching";
            }
            if (Storage == TestStorage.PostgreSql)
            {
                if (!asItIs)
                {
                    await db.Database.ExecuteSqlRawAsync("SET enable_seqscan = off; SET enable_sort = off; SET enable_bitmapscan = off;");
                }
                command.CommandText = "EXPLAIN " + command.CommandText;
            }
            else
            {
                command.CommandText = "EXPLAIN QUERY PLAN " + command.CommandText;
            }
            return await QueryPlans.ReadAsync(command);
        }
        finally
        {
            if (Storage == TestStorage.PostgreSql)
            {
                await db.Database.ExecuteSqlRawAsync("RESET enable_seqscan; RESET enable_sort; RESET enable_bitmapscan;");
            }
            await db.Database.CloseConnectionAsync();
        }
    }
}
