-- AgentCorex reporting views for SQL Server (2016 SP1 or later: CREATE OR ALTER, DATEDIFF_BIG).
--
-- Apply (again after every upgrade; safe to run twice), in the database the app uses:
--   sqlcmd -S "$SERVER" -d "$DATABASE" -b -i reporting/sqlserver/views.sql
--
-- The same views, with the same columns, exist for SQLite and PostgreSQL beside this folder.
-- Definitions shared by all three:
--   finished jobs  = completed + failed + timeout + canceled (queued and running are not finished).
--   rates          = count / finished jobs, from 0 to 1; 0 when no job of the tool has finished.
--   percentiles    = nearest rank: the value at rank ceil(p * n) of the n values in ascending order,
--                    ceil(p * n) computed in integers: p50 at (n + 1) / 2, p95 at (95 * n + 99) / 100.
--                    (Not PERCENTILE_DISC/PERCENTILE_CONT, so that all three databases agree exactly.)
--   execution time = execution_time_ms of completed jobs only.
--   queue wait     = started_at - created_at in whole milliseconds (each timestamp rounded to the
--                    millisecond), over jobs that have started (started_at is set).
--   day            = the UTC date of created_at, as 'YYYY-MM-DD' text.
--
-- The times are datetime2 holding UTC. Counts are bigint (COUNT_BIG), rates and averages float.
-- CREATE VIEW must open its batch: the GO lines end each batch for sqlcmd and SSMS.

CREATE OR ALTER VIEW report_jobs_per_tool_per_day AS
SELECT CONVERT(char(10), created_at, 23) AS day,
       tool,
       COUNT_BIG(*) AS jobs
FROM jobs
GROUP BY CONVERT(char(10), created_at, 23), tool;
GO

CREATE OR ALTER VIEW report_outcome_rates AS
SELECT tool,
       total,
       completed,
       failed,
       timeout,
       canceled,
       CASE WHEN finished = 0 THEN CAST(0 AS float) ELSE CAST(completed AS float) / finished END AS success_rate,
       CASE WHEN finished = 0 THEN CAST(0 AS float) ELSE CAST(failed AS float) / finished END AS failure_rate,
       CASE WHEN finished = 0 THEN CAST(0 AS float) ELSE CAST(timeout AS float) / finished END AS timeout_rate,
       CASE WHEN finished = 0 THEN CAST(0 AS float) ELSE CAST(canceled AS float) / finished END AS cancel_rate
FROM (
    SELECT tool,
           COUNT_BIG(*) AS total,
           COUNT_BIG(CASE WHEN status = 'completed' THEN 1 END) AS completed,
           COUNT_BIG(CASE WHEN status = 'failed' THEN 1 END) AS failed,
           COUNT_BIG(CASE WHEN status = 'timeout' THEN 1 END) AS timeout,
           COUNT_BIG(CASE WHEN status = 'canceled' THEN 1 END) AS canceled,
           COUNT_BIG(CASE WHEN status IN ('completed', 'failed', 'timeout', 'canceled') THEN 1 END) AS finished
    FROM jobs
    GROUP BY tool
) AS counts;
GO

-- One row per tool with at least one completed job.
CREATE OR ALTER VIEW report_execution_time AS
SELECT tool,
       COUNT_BIG(*) AS completed,
       AVG(CAST(ms AS float)) AS avg_execution_time_ms,
       MAX(CASE WHEN rn = (n + 1) / 2 THEN ms END) AS p50_execution_time_ms,
       MAX(CASE WHEN rn = (95 * n + 99) / 100 THEN ms END) AS p95_execution_time_ms
FROM (
    SELECT tool,
           execution_time_ms AS ms,
           ROW_NUMBER() OVER (PARTITION BY tool ORDER BY execution_time_ms) AS rn,
           COUNT_BIG(*) OVER (PARTITION BY tool) AS n
    FROM jobs
    WHERE status = 'completed' AND execution_time_ms IS NOT NULL
) AS ranked
GROUP BY tool;
GO

-- One row per tool with at least one started job.
CREATE OR ALTER VIEW report_queue_wait AS
SELECT tool,
       COUNT_BIG(*) AS started,
       AVG(CAST(ms AS float)) AS avg_queue_wait_ms,
       MAX(CASE WHEN rn = (n + 1) / 2 THEN ms END) AS p50_queue_wait_ms,
       MAX(CASE WHEN rn = (95 * n + 99) / 100 THEN ms END) AS p95_queue_wait_ms
FROM (
    SELECT tool,
           ms,
           ROW_NUMBER() OVER (PARTITION BY tool ORDER BY ms) AS rn,
           COUNT_BIG(*) OVER (PARTITION BY tool) AS n
    FROM (
        -- Converting datetime2(7) to datetime2(3) rounds to the millisecond.
        SELECT tool,
               DATEDIFF_BIG(millisecond, CAST(created_at AS datetime2(3)), CAST(started_at AS datetime2(3))) AS ms
        FROM jobs
        WHERE started_at IS NOT NULL
    ) AS waits
) AS ranked
GROUP BY tool;
GO

-- One row per key that owns jobs; key_name is NULL for a key not in api_keys (the configured admin key).
-- Tokens are summed over all of a key's jobs, whatever their outcome.
CREATE OR ALTER VIEW report_usage_per_key AS
SELECT j.owner_key_id AS key_id,
       k.name AS key_name,
       COUNT_BIG(*) AS jobs,
       COUNT_BIG(CASE WHEN j.status = 'completed' THEN 1 END) AS completed,
       SUM(j.tokens_input) AS tokens_input,
       SUM(j.tokens_output) AS tokens_output,
       SUM(j.tokens_input + j.tokens_output) AS tokens_total
FROM jobs AS j
LEFT JOIN api_keys AS k ON k.key_id = j.owner_key_id
GROUP BY j.owner_key_id, k.name;
GO
