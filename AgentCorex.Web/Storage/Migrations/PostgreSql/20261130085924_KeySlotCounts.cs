using AgentCorex.Web.Jobs;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentCorex.Web.Storage.Migrations.PostgreSql
{
    /// <summary>
    /// Admission of a key with a limit without counting its jobs in flight one by one: with a thousand of them the
    /// count took 1.6-4.5 ms of PostgreSQL's time per submit, under the key's lock, so that it capped one key's
    /// submits across the cluster (docs/benchmarks.md). As on the embedded database (its migration KeySlotCounts)
    /// key_slots holds each key's slots held by its jobs (not parked, queued or running); but a job's change of
    /// slot does not write that shared row, which every end of the key's jobs would wait on: a trigger inserts a
    /// +1 or -1 into key_slot_changes, a row of its own. The key's next admission moves its changes into key_slots,
    /// under the key's lock (Concurrency/KeySlotLock), and KeySlotCompaction moves those of keys that are not
    /// admitted. The slots held are key_slots plus the changes not moved yet, read in one statement.
    /// </summary>
    public partial class KeySlotCounts : Migration
    {
        /// <summary>Whether the row <paramref name="row"/> (jobs, NEW or OLD) holds a slot of its key.</summary>
        internal static string Holds(string row) => $"(NOT {row}.parked AND {row}.status IN ('{JobStatus.Queued}', '{JobStatus.Running}'))";

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(
                """
                CREATE TABLE key_slots (
                    owner_key_id character varying(32) NOT NULL, held integer NOT NULL,
                    CONSTRAINT pk_key_slots PRIMARY KEY (owner_key_id));
                """);
            // Its rows are read and deleted by key; vacuumed after every thousand deleted, not a fifth of the table.
            migrationBuilder.Sql(
                """
                CREATE TABLE key_slot_changes (owner_key_id character varying(32) NOT NULL, change integer NOT NULL)
                    WITH (autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0);
                CREATE INDEX ix_key_slot_changes_owner ON key_slot_changes (owner_key_id);
                """);
            CreateFunctionAndTriggers(migrationBuilder);
            migrationBuilder.Sql($"INSERT INTO key_slots (owner_key_id, held) SELECT owner_key_id, COUNT(*) FROM jobs WHERE {Holds("jobs")} GROUP BY owner_key_id;");
        }

        /// <summary>The function and triggers that add key_slot_changes; made again by KeyQueuedCounts' Down.</summary>
        internal static void CreateFunctionAndTriggers(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(
                $$"""
                CREATE FUNCTION key_slots_change() RETURNS trigger LANGUAGE plpgsql AS $body$
                BEGIN
                    IF TG_OP <> 'DELETE' AND {{Holds("NEW")}} THEN
                        INSERT INTO key_slot_changes VALUES (NEW.owner_key_id, 1);
                    END IF;
                    IF TG_OP <> 'INSERT' AND {{Holds("OLD")}} THEN
                        INSERT INTO key_slot_changes VALUES (OLD.owner_key_id, -1);
                    END IF;
                    RETURN NULL;
                END
                $body$;
                """);
            // The conditions in WHEN, so that a job's start (queued to running: a slot held either way) and every
            // change of a finished job do not call the function. Created before the fill: CREATE TRIGGER holds
            // writes to jobs off until the migration commits, so no job changes between the fill's count and the triggers.
            migrationBuilder.Sql(
                $"""
                CREATE TRIGGER key_slots_insert AFTER INSERT ON jobs FOR EACH ROW
                    WHEN {Holds("NEW")} EXECUTE FUNCTION key_slots_change();
                CREATE TRIGGER key_slots_update AFTER UPDATE OF status, parked ON jobs FOR EACH ROW
                    WHEN ({Holds("OLD")} IS DISTINCT FROM {Holds("NEW")}) EXECUTE FUNCTION key_slots_change();
                CREATE TRIGGER key_slots_delete AFTER DELETE ON jobs FOR EACH ROW
                    WHEN {Holds("OLD")} EXECUTE FUNCTION key_slots_change();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP TRIGGER key_slots_delete ON jobs;");
            migrationBuilder.Sql("DROP TRIGGER key_slots_update ON jobs;");
            migrationBuilder.Sql("DROP TRIGGER key_slots_insert ON jobs;");
            migrationBuilder.Sql("DROP FUNCTION key_slots_change();");
            migrationBuilder.Sql("DROP TABLE key_slot_changes;");
            migrationBuilder.Sql("DROP TABLE key_slots;");
        }
    }
}
