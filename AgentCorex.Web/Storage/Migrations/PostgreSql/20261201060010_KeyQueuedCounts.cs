using AgentCorex.Web.Jobs;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentCorex.Web.Storage.Migrations.PostgreSql
{
    /// <summary>
    /// key_slots and key_slot_changes also keep each key's queued jobs (parked or not) in a column of their own, by the
    /// same trigger, so that a submit is refused at Jobs:MaxQueuedPerKey by a condition on its own insert, which already
    /// moves the key's changes into key_slots under its lock (Jobs/JobLedger.Queue.cs), where counting the key's queued
    /// rows would cost more the deeper its queue. A change row now carries both: a new job's +1 and +1 (or 0 and +1
    /// parked), a start's 0 and -1 (a call of the trigger's function a start did not make before), an end's -1 and 0.
    /// </summary>
    public partial class KeyQueuedCounts : Migration
    {
        /// <summary>As migration KeySlotCounts: whether the row <paramref name="row"/> (jobs, NEW or OLD) holds a slot of its key.</summary>
        private static string Holds(string row) => KeySlotCounts.Holds(row);

        /// <summary>Whether the row <paramref name="row"/> is a queued job of its key.</summary>
        private static string Queued(string row) => $"({row}.status = '{JobStatus.Queued}')";

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(
                """
                DROP TRIGGER key_slots_delete ON jobs;
                DROP TRIGGER key_slots_update ON jobs;
                DROP TRIGGER key_slots_insert ON jobs;
                ALTER TABLE key_slots ADD COLUMN queued integer NOT NULL DEFAULT 0;
                ALTER TABLE key_slot_changes ADD COLUMN queued integer NOT NULL DEFAULT 0;
                """);
            migrationBuilder.Sql(
                $$"""
                CREATE OR REPLACE FUNCTION key_slots_change() RETURNS trigger LANGUAGE plpgsql AS $body$
                DECLARE
                    held_change integer := 0;
                    queued_change integer := 0;
                    owner character varying(32);
                BEGIN
                    IF TG_OP <> 'DELETE' THEN
                        held_change := {{Holds("NEW")}}::integer;
                        queued_change := {{Queued("NEW")}}::integer;
                        owner := NEW.owner_key_id;
                    END IF;
                    IF TG_OP <> 'INSERT' THEN
                        held_change := held_change - {{Holds("OLD")}}::integer;
                        queued_change := queued_change - {{Queued("OLD")}}::integer;
                        owner := OLD.owner_key_id;
                    END IF;
                    INSERT INTO key_slot_changes (owner_key_id, change, queued) VALUES (owner, held_change, queued_change);
                    RETURN NULL;
                END
                $body$;
                """);
            // Created before the fill, as in KeySlotCounts: no job changes between the fill's count and the triggers.
            migrationBuilder.Sql(
                $"""
                CREATE TRIGGER key_slots_insert AFTER INSERT ON jobs FOR EACH ROW
                    WHEN ({Holds("NEW")} OR {Queued("NEW")}) EXECUTE FUNCTION key_slots_change();
                CREATE TRIGGER key_slots_update AFTER UPDATE OF status, parked ON jobs FOR EACH ROW
                    WHEN ({Holds("OLD")} IS DISTINCT FROM {Holds("NEW")} OR {Queued("OLD")} IS DISTINCT FROM {Queued("NEW")})
                    EXECUTE FUNCTION key_slots_change();
                CREATE TRIGGER key_slots_delete AFTER DELETE ON jobs FOR EACH ROW
                    WHEN ({Holds("OLD")} OR {Queued("OLD")}) EXECUTE FUNCTION key_slots_change();
                """);
            migrationBuilder.Sql(
                $"""
                INSERT INTO key_slots (owner_key_id, held, queued) SELECT owner_key_id, 0, COUNT(*) FROM jobs WHERE {Queued("jobs")} GROUP BY owner_key_id
                    ON CONFLICT (owner_key_id) DO UPDATE SET queued = excluded.queued;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(
                """
                DROP TRIGGER key_slots_delete ON jobs;
                DROP TRIGGER key_slots_update ON jobs;
                DROP TRIGGER key_slots_insert ON jobs;
                DROP FUNCTION key_slots_change();
                DELETE FROM key_slot_changes WHERE change = 0;
                ALTER TABLE key_slot_changes DROP COLUMN queued;
                ALTER TABLE key_slots DROP COLUMN queued;
                """);
            KeySlotCounts.CreateFunctionAndTriggers(migrationBuilder);
        }
    }
}
