using AgentCorex.Web.Jobs;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentCorex.Web.Storage.Migrations
{
    /// <summary>
    /// key_slots also keeps each key's queued jobs (parked or not) in a column of its own, by the same triggers on jobs,
    /// so that a submit is refused at Jobs:MaxQueuedPerKey by a condition on its own insert, a point read of the key's
    /// row, where counting the key's queued rows would cost more the deeper its queue (Jobs/JobLedger.Queue.cs). The
    /// triggers now also fire on a job's start (queued to running) and on a parked job's insert.
    /// </summary>
    public partial class KeyQueuedCounts : Migration
    {
        /// <summary>As migration KeySlotCounts: whether the row <paramref name="row"/> (jobs, NEW or OLD) holds a slot of its key.</summary>
        private static string Holds(string row) => $"({KeySlotCounts.Holds(row)})";

        /// <summary>Whether the row <paramref name="row"/> is a queued job of its key.</summary>
        private static string Queued(string row) => $"({row}.status = '{JobStatus.Queued}')";

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER key_slots_delete;");
            migrationBuilder.Sql("DROP TRIGGER key_slots_update;");
            migrationBuilder.Sql("DROP TRIGGER key_slots_insert;");
            migrationBuilder.Sql("ALTER TABLE key_slots ADD COLUMN queued INTEGER NOT NULL DEFAULT 0;");
            migrationBuilder.Sql(
                $"""
                INSERT INTO key_slots (owner_key_id, held, queued) SELECT owner_key_id, 0, COUNT(*) FROM jobs WHERE {Queued("jobs")} GROUP BY owner_key_id
                    ON CONFLICT (owner_key_id) DO UPDATE SET queued = excluded.queued;
                """);
            // A boolean is 0 or 1 in SQLite: each trigger adds what the row's change makes of both counts.
            migrationBuilder.Sql(
                $"""
                CREATE TRIGGER key_slots_insert AFTER INSERT ON jobs WHEN {Holds("NEW")} OR {Queued("NEW")}
                BEGIN
                    INSERT INTO key_slots (owner_key_id, held, queued) VALUES (NEW.owner_key_id, {Holds("NEW")}, {Queued("NEW")})
                        ON CONFLICT (owner_key_id) DO UPDATE SET held = held + excluded.held, queued = queued + excluded.queued;
                END;
                """);
            migrationBuilder.Sql(
                $"""
                CREATE TRIGGER key_slots_update AFTER UPDATE OF status, parked ON jobs
                    WHEN {Holds("OLD")} IS NOT {Holds("NEW")} OR {Queued("OLD")} IS NOT {Queued("NEW")}
                BEGIN
                    INSERT INTO key_slots (owner_key_id, held, queued)
                        VALUES (NEW.owner_key_id, {Holds("NEW")} - {Holds("OLD")}, {Queued("NEW")} - {Queued("OLD")})
                        ON CONFLICT (owner_key_id) DO UPDATE SET held = held + excluded.held, queued = queued + excluded.queued;
                END;
                """);
            migrationBuilder.Sql(
                $"""
                CREATE TRIGGER key_slots_delete AFTER DELETE ON jobs WHEN {Holds("OLD")} OR {Queued("OLD")}
                BEGIN
                    UPDATE key_slots SET held = held - {Holds("OLD")}, queued = queued - {Queued("OLD")} WHERE owner_key_id = OLD.owner_key_id;
                END;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER key_slots_delete;");
            migrationBuilder.Sql("DROP TRIGGER key_slots_update;");
            migrationBuilder.Sql("DROP TRIGGER key_slots_insert;");
            migrationBuilder.Sql("ALTER TABLE key_slots DROP COLUMN queued;");
            KeySlotCounts.CreateTriggers(migrationBuilder);
        }
    }
}
