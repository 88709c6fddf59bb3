using AgentCorex.Web.Jobs;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentCorex.Web.Storage.Migrations.SqlServer
{
    /// <summary>
    /// Each key's queued jobs (parked or not) kept counted, so that a submit is refused at Jobs:MaxQueuedPerKey by a
    /// condition on its own insert, a point read of the key's row, where counting the key's queued rows would cost more
    /// the deeper its queue (Jobs/JobLedger.Queue.cs). An indexed view: SQL Server keeps it in the same transaction as
    /// each change of a job's status, as the other databases' triggers keep key_slots. Made in the schema the tables
    /// are in (a schema-bound view names its tables with theirs). Not in the EF model: only SQL reads it.
    /// </summary>
    public partial class KeyQueuedCounts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(
                $"""
                DECLARE @schema nvarchar(300) = QUOTENAME(SCHEMA_NAME());
                EXEC (N'CREATE VIEW ' + @schema + N'.key_queued_jobs WITH SCHEMABINDING AS
                    SELECT owner_key_id, COUNT_BIG(*) AS queued FROM ' + @schema + N'.jobs WHERE status = N''{JobStatus.Queued}'' GROUP BY owner_key_id');
                """);
            migrationBuilder.Sql("CREATE UNIQUE CLUSTERED INDEX ix_key_queued_jobs ON key_queued_jobs (owner_key_id);");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP VIEW key_queued_jobs;");
        }
    }
}
