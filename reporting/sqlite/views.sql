-- AgentCorex reporting views for SQLite (the embedded default).
--
-- Apply (again after every upgrade; safe to run twice, also while the server runs):
--   sqlite3 -bail data/agentcorex.db < reporting/sqlite/views.sql
--
-- The same views, with the same columns, exist for PostgreSQL and SQL Server beside this folder.
-- Definitions shared by all three:
--   finished jobs  = completed + failed + timeout + canceled (queued and running are not finished).
--   rates          = count / finished jobs, from 0 to 1; 0 when no job of the tool has finished.
--   percentiles    = nearest rank: the value at rank ceil(p * n) of the n values in ascending order,
--                    ceil(p * n) computed in integers: p50 at (n + 1) / 2, p95 at (95 * n + 99) / 100.
--   execution time = execution_time_ms of completed jobs only.
--   queue wait     = started_at - created_at in whole milliseconds (each timestamp taken to the
--                    millisecond), over jobs that have started (started_at is set).
--   day            = the UTC date of created_at, as 'YYYY-MM-DD' text.
--
-- EF Core stores times here as UTC text 'YYYY-MM-DD HH:MM:SS.FFFFFFF': the day is that text's first ten
-- characters, and julianday() reads the whole of it.

-- A running server writes to the file all the time, and sqlite3 waits for no lock unless told: without a busy
-- timeout a DROP fails at once ("database is locked"). All the views change in one transaction, which takes the
-- write lock first (IMMEDIATE): a file that fails (-bail stops it at its first error) leaves the previous views.
PRAGMA busy_timeout = 5000;
BEGIN IMMEDIATE;

DROP VIEW IF EXISTS report_jobs_per_tool_per_day;
CREATE VIEW report_jobs_per_tool_per_day AS
SELECT substr(created_at, 1, 10) AS day,
       tool,
       COUNT(*) AS jobs
FROM jobs
GROUP BY substr(created_at, 1, 10), tool;

DROP VIEW IF EXISTS report_outcome_rates;
CREATE VIEW report_outcome_rates AS
SELECT tool,
       total,
       completed,
       failed,
       timeout,
       canceled,
       CASE WHEN finished = 0 THEN 0.0 ELSE CAST(completed AS REAL) / finished END AS success_rate,
       CASE WHEN finished = 0 THEN 0.0 ELSE CAST(failed AS REAL) / finished END AS failure_rate,
       CASE WHEN finished = 0 THEN 0.0 ELSE CAST(timeout AS REAL) / finished END AS timeout_rate,
       CASE WHEN finished = 0 THEN 0.0 ELSE CAST(canceled AS REAL) / finished END AS cancel_rate
FROM (
    SELECT tool,
           COUNT(*) AS total,
           SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed,
           SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
           SUM(CASE WHEN status = 'timeout' THEN 1 ELSE 0 END) AS timeout,
           SUM(CASE WHEN status = 'canceled' THEN 1 ELSE 0 END) AS canceled,
           SUM(CASE WHEN status IN ('completed', 'failed', 'timeout', 'canceled') THEN 1 ELSE 0 END) AS finished
    FROM jobs
    GROUP BY tool
) AS counts;

-- One row per tool with at least one completed job.
DROP VIEW IF EXISTS report_execution_time;
CREATE VIEW report_execution_time AS
SELECT tool,
       COUNT(*) AS completed,
       AVG(CAST(ms AS REAL)) AS avg_execution_time_ms,
       MAX(CASE WHEN rn = (n + 1) / 2 THEN ms END) AS p50_execution_time_ms,
       MAX(CASE WHEN rn = (95 * n + 99) / 100 THEN ms END) AS p95_execution_time_ms
FROM (
    SELECT tool,
           execution_time_ms AS ms,
           ROW_NUMBER() OVER (PARTITION BY tool ORDER BY execution_time_ms) AS rn,
           COUNT(*) OVER (PARTITION BY tool) AS n
    FROM jobs
    WHERE status = 'completed' AND execution_time_ms IS NOT NULL
) AS ranked
GROUP BY tool;

-- One row per tool with at least one started job.
DROP VIEW IF EXISTS report_queue_wait;
CREATE VIEW report_queue_wait AS
SELECT tool,
       COUNT(*) AS started,
       AVG(CAST(ms AS REAL)) AS avg_queue_wait_ms,
       MAX(CASE WHEN rn = (n + 1) / 2 THEN ms END) AS p50_queue_wait_ms,
       MAX(CASE WHEN rn = (95 * n + 99) / 100 THEN ms END) AS p95_queue_wait_ms
FROM (
    SELECT tool,
           ms,
           ROW_NUMBER() OVER (PARTITION BY tool ORDER BY ms) AS rn,
           COUNT(*) OVER (PARTITION BY tool) AS n
    FROM (
        -- julianday() keeps whole milliseconds; the difference of two is rounded back to an integer.
        SELECT tool, CAST(round((julianday(started_at) - julianday(created_at)) * 86400000) AS INTEGER) AS ms
        FROM jobs
        WHERE started_at IS NOT NULL
    ) AS waits
) AS ranked
GROUP BY tool;

-- One row per key that owns jobs; key_name is NULL for a key not in api_keys (the configured admin key).
-- Tokens are summed over all of a key's jobs, whatever their outcome.
DROP VIEW IF EXISTS report_usage_per_key;
CREATE VIEW report_usage_per_key AS
SELECT j.owner_key_id AS key_id,
       k.name AS key_name,
       COUNT(*) AS jobs,
       SUM(CASE WHEN j.status = 'completed' THEN 1 ELSE 0 END) AS completed,
       SUM(j.tokens_input) AS tokens_input,
       SUM(j.tokens_output) AS tokens_output,
       SUM(j.tokens_input + j.tokens_output) AS tokens_total
FROM jobs AS j
LEFT JOIN api_keys AS k ON k.key_id = j.owner_key_id
GROUP BY j.owner_key_id, k.name;

COMMIT;
