-- AgentCorex reporting views for PostgreSQL.
--
-- Apply (again after every upgrade; safe to run twice, also while the server runs), in the database and schema the app uses:
--   psql "$URL" -v ON_ERROR_STOP=1 -f reporting/postgresql/views.sql
--
-- The same views, with the same columns, exist for SQLite and SQL Server beside this folder.
-- Definitions shared by all three:
--   finished jobs  = completed + failed + timeout + canceled (queued and running are not finished).
--   rates          = count / finished jobs, from 0 to 1; 0 when no job of the tool has finished.
--   percentiles    = nearest rank: the value at rank ceil(p * n) of the n values in ascending order,
--                    ceil(p * n) computed in integers: p50 at (n + 1) / 2, p95 at (95 * n + 99) / 100.
--                    (Not percentile_disc/percentile_cont, so that all three databases agree exactly.)
--   execution time = execution_time_ms of completed jobs only.
--   queue wait     = started_at - created_at in whole milliseconds (each timestamp rounded to the
--                    millisecond), over jobs that have started (started_at is set).
--   day            = the UTC date of created_at, as 'YYYY-MM-DD' text.
--
-- The times are `timestamp with time zone` (Npgsql's mapping of the app's UTC DateTime values).
-- CREATE OR REPLACE VIEW cannot change an existing view's columns; after a release that does, drop the
-- report_ views first.
--
-- All the views change in one transaction, so a file that fails leaves the previous views. Replacing a view waits
-- for the queries reading it: lock_timeout ends that wait (an error, nothing changed) rather than queue every new
-- query of the view behind it for as long as a long report runs.

BEGIN;
SET LOCAL lock_timeout = '5s';

CREATE OR REPLACE VIEW report_jobs_per_tool_per_day AS
SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
       tool,
       count(*) AS jobs
FROM jobs
GROUP BY 1, tool;

CREATE OR REPLACE VIEW report_outcome_rates AS
SELECT tool,
       total,
       completed,
       failed,
       timeout,
       canceled,
       CASE WHEN finished = 0 THEN 0::double precision ELSE completed::double precision / finished END AS success_rate,
       CASE WHEN finished = 0 THEN 0::double precision ELSE failed::double precision / finished END AS failure_rate,
       CASE WHEN finished = 0 THEN 0::double precision ELSE timeout::double precision / finished END AS timeout_rate,
       CASE WHEN finished = 0 THEN 0::double precision ELSE canceled::double precision / finished END AS cancel_rate
FROM (
    SELECT tool,
           count(*) AS total,
           count(*) FILTER (WHERE status = 'completed') AS completed,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           count(*) FILTER (WHERE status = 'timeout') AS timeout,
           count(*) FILTER (WHERE status = 'canceled') AS canceled,
           count(*) FILTER (WHERE status IN ('completed', 'failed', 'timeout', 'canceled')) AS finished
    FROM jobs
    GROUP BY tool
) AS counts;

-- One row per tool with at least one completed job.
CREATE OR REPLACE VIEW report_execution_time AS
SELECT tool,
       count(*) AS completed,
       avg(ms)::double precision AS avg_execution_time_ms,
       max(ms) FILTER (WHERE rn = (n + 1) / 2) AS p50_execution_time_ms,
       max(ms) FILTER (WHERE rn = (95 * n + 99) / 100) AS p95_execution_time_ms
FROM (
    SELECT tool,
           execution_time_ms AS ms,
           row_number() OVER (PARTITION BY tool ORDER BY execution_time_ms) AS rn,
           count(*) OVER (PARTITION BY tool) AS n
    FROM jobs
    WHERE status = 'completed' AND execution_time_ms IS NOT NULL
) AS ranked
GROUP BY tool;

-- One row per tool with at least one started job.
CREATE OR REPLACE VIEW report_queue_wait AS
SELECT tool,
       count(*) AS started,
       avg(ms)::double precision AS avg_queue_wait_ms,
       max(ms) FILTER (WHERE rn = (n + 1) / 2) AS p50_queue_wait_ms,
       max(ms) FILTER (WHERE rn = (95 * n + 99) / 100) AS p95_queue_wait_ms
FROM (
    SELECT tool,
           ms,
           row_number() OVER (PARTITION BY tool ORDER BY ms) AS rn,
           count(*) OVER (PARTITION BY tool) AS n
    FROM (
        SELECT tool,
               (round(extract(epoch FROM started_at) * 1000) - round(extract(epoch FROM created_at) * 1000))::bigint AS ms
        FROM jobs
        WHERE started_at IS NOT NULL
    ) AS waits
) AS ranked
GROUP BY tool;

-- One row per key that owns jobs; key_name is NULL for a key not in api_keys (the configured admin key).
-- Tokens are summed over all of a key's jobs, whatever their outcome.
CREATE OR REPLACE VIEW report_usage_per_key AS
SELECT j.owner_key_id AS key_id,
       k.name AS key_name,
       count(*) AS jobs,
       count(*) FILTER (WHERE j.status = 'completed') AS completed,
       sum(j.tokens_input)::bigint AS tokens_input,
       sum(j.tokens_output)::bigint AS tokens_output,
       sum(j.tokens_input + j.tokens_output)::bigint AS tokens_total
FROM jobs AS j
LEFT JOIN api_keys AS k ON k.key_id = j.owner_key_id
GROUP BY j.owner_key_id, k.name;

COMMIT;
