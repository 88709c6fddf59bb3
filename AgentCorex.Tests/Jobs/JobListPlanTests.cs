using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Auth;
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
    [Test]
    public async Task AnAdminKeysPage_IsReadNewestFirstFromAnIndex()
    {
        var query = new JobListQuery();

        var plan = await PlanAsync(db => db.Jobs.AsNoTracking().Matching(ApiKeyIdentity.ConfiguredAdmin, query).Page(query));

        Assert.That(plan, Does.Contain("ix_jobs_created"), plan);
        Assert.That(plan, Does.Not.Contain("TEMP B-TREE").And.Not.Contain("Sort"), plan);
    }

    /// <summary>
    /// SQLite's plan as it is. PostgreSQL's with sequential scans and sorts priced out: on a table this small it
    /// would rightly choose them, so the question is whether an index can serve the order at all.
    /// </summary>
    private async Task<string> PlanAsync(Func<AgentCorexDb, IQueryable<JobEntry>> build)
    {
        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        await db.Database.OpenConnectionAsync();
        try
        {
            await using var command = build(db).CreateDbCommand();
            if (Storage == TestStorage.PostgreSql)
            {
                await db.Database.ExecuteSqlRawAsync("SET enable_seqscan = off; SET enable_sort = off;");
                command.CommandText = "EXPLAIN " + command.CommandText;
            }
            else
            {
                command.CommandText = "EXPLAIN QUERY PLAN " + command.CommandText;
            }
            var lines = new List<string>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                // SQLite: id, parent, notused, detail. PostgreSQL: one text column.
                lines.Add(reader.GetString(reader.FieldCount - 1));
            }
            return string.Join(Environment.NewLine, lines);
        }
        finally
        {
            if (Storage == TestStorage.PostgreSql)
            {
                await db.Database.ExecuteSqlRawAsync("RESET enable_seqscan; RESET enable_sort;");
            }
            await db.Database.CloseConnectionAsync();
        }
    }
}
