using AgentCorex.Web.Jobs;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentCorex.Web.Storage.Migrations
{
    /// <summary>
    /// The embedded database keeps each key's count of slots held by its jobs (not parked, queued or running) in
    /// key_slots, by triggers on jobs: in the same transaction as each change, so no crash can leave it wrong.
    /// Counting the rows instead cost about 0.1 ms per thousand of a key's queued jobs on every admission of a key
    /// at its limit (docs/benchmarks.md). Not in the EF model: only SQL reads it (Concurrency/SlotQueries).
    /// </summary>
    public partial class KeySlotCounts : Migration
    {
        /// <summary>Whether the row <paramref name="row"/> (jobs, NEW or OLD) holds a slot of its key.</summary>
        internal static string Holds(string row) => $"{row}.parked = 0 AND {row}.status IN ('{JobStatus.Queued}', '{JobStatus.Running}')";

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("CREATE TABLE key_slots (owner_key_id TEXT NOT NULL PRIMARY KEY, held INTEGER NOT NULL) WITHOUT ROWID;");
            migrationBuilder.Sql($"INSERT INTO key_slots (owner_key_id, held) SELECT owner_key_id, COUNT(*) FROM jobs WHERE {Holds("jobs")} GROUP BY owner_key_id;");
            CreateTriggers(migrationBuilder);
        }

        /// <summary>The triggers that keep key_slots; made again by KeyQueuedCounts' Down.</summary>
        internal static void CreateTriggers(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(
                $"""
                CREATE TRIGGER key_slots_insert AFTER INSERT ON jobs WHEN {Holds("NEW")}
                BEGIN
                    INSERT INTO key_slots (owner_key_id, held) VALUES (NEW.owner_key_id, 1)
                        ON CONFLICT (owner_key_id) DO UPDATE SET held = held + 1;
                END;
                """);
            migrationBuilder.Sql(
                $"""
                CREATE TRIGGER key_slots_update AFTER UPDATE OF status, parked ON jobs
                    WHEN ({Holds("OLD")}) IS NOT ({Holds("NEW")})
                BEGIN
                    INSERT INTO key_slots (owner_key_id, held)
                        VALUES (NEW.owner_key_id, CASE WHEN {Holds("NEW")} THEN 1 ELSE -1 END)
                        ON CONFLICT (owner_key_id) DO UPDATE SET held = held + excluded.held;
                END;
                """);
            migrationBuilder.Sql(
                $"""
                CREATE TRIGGER key_slots_delete AFTER DELETE ON jobs WHEN {Holds("OLD")}
                BEGIN
                    UPDATE key_slots SET held = held - 1 WHERE owner_key_id = OLD.owner_key_id;
                END;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER key_slots_delete;");
            migrationBuilder.Sql("DROP TRIGGER key_slots_update;");
            migrationBuilder.Sql("DROP TRIGGER key_slots_insert;");
            migrationBuilder.Sql("DROP TABLE key_slots;");
        }
    }
}
