using AgentCorex.Web.Jobs;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentCorex.Web.Storage.Migrations
{
    /// <summary>
    /// The embedded database keeps the number of finished jobs of each key, tool and final status in job_totals,
    /// by triggers on jobs, in the same transaction as each change: GET /jobs's total is then their sum plus the
    /// few queued and running jobs counted from an index (Jobs/JobTotals). Counting a key's million finished jobs
    /// took about 60 ms a listing (docs/benchmarks.md). A job adds to it once, when it ends. Not in the EF model:
    /// only SQL reads it. Server databases count the rows: a shared row each job's end writes would make
    /// concurrent transactions wait on each other there.
    /// </summary>
    public partial class JobTotals : Migration
    {
        /// <summary>Whether the row <paramref name="row"/> (jobs, NEW or OLD) is a finished job.</summary>
        private static string Finished(string row) =>
            $"{row}.status IN ('{JobStatus.Completed}', '{JobStatus.Failed}', '{JobStatus.Canceled}', '{JobStatus.Timeout}')";

        /// <summary>Adds <paramref name="change"/> to the total of <paramref name="row"/>'s key, tool and status.</summary>
        private static string Add(string row, int change) =>
            $"""
            INSERT INTO job_totals (owner_key_id, tool, status, jobs) VALUES ({row}.owner_key_id, {row}.tool, {row}.status, {change})
                ON CONFLICT (owner_key_id, tool, status) DO UPDATE SET jobs = jobs + excluded.jobs;
            """;

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(
                """
                CREATE TABLE job_totals (
                    owner_key_id TEXT NOT NULL, tool TEXT NOT NULL, status TEXT NOT NULL, jobs INTEGER NOT NULL,
                    PRIMARY KEY (owner_key_id, tool, status)) WITHOUT ROWID;
                """);
            migrationBuilder.Sql(
                $"INSERT INTO job_totals (owner_key_id, tool, status, jobs) SELECT owner_key_id, tool, status, COUNT(*) FROM jobs WHERE {Finished("jobs")} GROUP BY owner_key_id, tool, status;");
            migrationBuilder.Sql(
                $"""
                CREATE TRIGGER job_totals_insert AFTER INSERT ON jobs WHEN {Finished("NEW")}
                BEGIN
                    {Add("NEW", 1)}
                END;
                """);
            // A change of status in two triggers, each with one statement: a job's end runs only the first.
            migrationBuilder.Sql(
                $"""
                CREATE TRIGGER job_totals_finish AFTER UPDATE OF status ON jobs WHEN OLD.status IS NOT NEW.status AND {Finished("NEW")}
                BEGIN
                    {Add("NEW", 1)}
                END;
                """);
            migrationBuilder.Sql(
                $"""
                CREATE TRIGGER job_totals_unfinish AFTER UPDATE OF status ON jobs WHEN OLD.status IS NOT NEW.status AND {Finished("OLD")}
                BEGIN
                    {Add("OLD", -1)}
                END;
                """);
            migrationBuilder.Sql(
                $"""
                CREATE TRIGGER job_totals_delete AFTER DELETE ON jobs WHEN {Finished("OLD")}
                BEGIN
                    {Add("OLD", -1)}
                END;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER job_totals_delete;");
            migrationBuilder.Sql("DROP TRIGGER job_totals_unfinish;");
            migrationBuilder.Sql("DROP TRIGGER job_totals_finish;");
            migrationBuilder.Sql("DROP TRIGGER job_totals_insert;");
            migrationBuilder.Sql("DROP TABLE job_totals;");
        }
    }
}
