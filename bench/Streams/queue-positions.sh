#!/usr/bin/env bash
# The places in the queue of many queued jobs at once, as a node's stream watcher reads them
# (AgentCorex.Web/Jobs/QueuePositions.cs): GET /jobs/{id}'s count made for each job (in one statement, a subquery
# per job) against the windowed statement, which reads the queue once. A jobs table of QUEUED queued jobs (1 in 10
# parked, 50 keys) behind 100,000 completed ones, with ix_jobs_status_created as the app makes it, on SQLite (the
# sqlite3 shell) and on a throwaway PostgreSQL cluster; for W followed jobs from the Nth queued on (by created_at;
# its place is less, as other keys' parked jobs do not count), the best of 3 runs of each statement, and the sum
# of the places each found (they must agree).
#
#   bash bench/Streams/queue-positions.sh        QUEUED=20000 PG_BIN=/usr/lib/postgresql/15/bin
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/throwaway-postgres.sh
QUEUED=${QUEUED:-20000}
CASES=("1 1000" "1 20000" "500 1" "500 4501" "500 19501" "2000 1")

work=$(mktemp -d /tmp/agentcorex-queue-positions-XXXXXX)
[[ ${#PG_AS[@]} -gt 0 ]] && chown postgres "$work"
cleanup() {
    stop_throwaway_postgres "$work/pg"
    rm -rf "$work"
}
trap cleanup EXIT

# {W} is the followed jobs' table; the windowed statement is QueuePositions.PositionsSql with its two values written in.
PER_JOB="SELECT w.job_id, 1 + (SELECT COUNT(*) FROM jobs q WHERE q.status = 'queued' AND q.created_at <= w.created_at
    AND (q.created_at < w.created_at OR q.job_id < w.job_id) AND (NOT q.parked OR q.owner_key_id = w.owner_key_id)) AS position
    FROM jobs w WHERE w.job_id IN (SELECT job_id FROM followed) AND w.status = 'queued'"
WINDOWED="SELECT job_id, position FROM (SELECT job_id, 1
    + COUNT(CASE WHEN parked = TRUE THEN NULL ELSE 1 END) OVER (ORDER BY created_at, job_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    + COUNT(CASE WHEN parked = TRUE THEN 1 END) OVER (PARTITION BY owner_key_id ORDER BY created_at, job_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    AS position FROM jobs WHERE status = 'queued' AND created_at <= (SELECT MAX(created_at) FROM followed)) AS a
    WHERE job_id IN (SELECT job_id FROM followed)"

echo "SQLite $(sqlite3 --version | cut -d' ' -f1), $QUEUED queued jobs; $(uptime)"
sqlite3 "$work/jobs.db" <<SQL
CREATE TABLE jobs (job_id TEXT NOT NULL PRIMARY KEY, owner_key_id TEXT NOT NULL, tool TEXT NOT NULL, status TEXT NOT NULL,
    parked INTEGER NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX ix_jobs_status_created ON jobs (status, created_at, job_id, tool);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 100000 + $QUEUED - 1)
INSERT OR IGNORE INTO jobs
SELECT 'job_' || lower(hex(randomblob(6))), 'key_' || (abs(random()) % 50), 'wait',
    CASE WHEN i < 100000 THEN 'completed' ELSE 'queued' END,
    CASE WHEN i >= 100000 AND abs(random()) % 10 = 0 THEN 1 ELSE 0 END,
    printf('2026-11-30 %02d:%02d:%02d.%07d', 10 + i / 3600000, i / 60000 % 60, i / 1000 % 60, i % 1000 * 10000 + abs(random()) % 10000)
FROM n;
ANALYZE;
SQL
for case in "${CASES[@]}"; do
    read -r count from <<<"$case"
    out=$(sqlite3 "$work/jobs.db" <<SQL
CREATE TEMP TABLE followed AS SELECT job_id, owner_key_id, created_at FROM jobs WHERE status = 'queued' ORDER BY created_at, job_id LIMIT $count OFFSET $((from - 1));
.timer on
SELECT 'per-job', SUM(position) FROM ($PER_JOB);
SELECT 'per-job', SUM(position) FROM ($PER_JOB);
SELECT 'per-job', SUM(position) FROM ($PER_JOB);
SELECT 'windowed', SUM(position) FROM ($WINDOWED);
SELECT 'windowed', SUM(position) FROM ($WINDOWED);
SELECT 'windowed', SUM(position) FROM ($WINDOWED);
SQL
)
    python3 - "$count" "$from" "$out" <<'PY'
import re, sys
count, start, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = re.findall(r"^(per-job|windowed)\|(\d+)\nRun Time: real ([\d.]+)", out, re.M)
best = {f: min(float(t) for g, _, t in rows if g == f) * 1000 for f in ("per-job", "windowed")}
sums = {f: {s for g, s, _ in rows if g == f} for f in best}
print(f"  sqlite     {count:>5} jobs from queued #{start:<6}: per-job {best['per-job']:6.0f} ms, windowed {best['windowed']:4.0f} ms (the shell's timer counts whole ms); places summed {sums}")
PY
done

start_throwaway_postgres "$work/pg"
psql=("${PG_AS[@]}" "$PG_BIN/psql" "$(sed -E 's/Host=([^;]*);Port=([^;]*);Username=([^;]*);Database=(.*)/postgresql:\/\/\3@\1:\2\/\4/' <<<"$PG_CONNECTION")" -qAt -v ON_ERROR_STOP=1)
echo "PostgreSQL $("${psql[@]}" -c 'SHOW server_version')"
"${psql[@]}" <<SQL
CREATE TABLE jobs (job_id varchar(32) NOT NULL PRIMARY KEY, owner_key_id varchar(32) NOT NULL, tool varchar(64) NOT NULL,
    status varchar(16) NOT NULL, parked boolean NOT NULL, created_at timestamp with time zone NOT NULL);
CREATE INDEX ix_jobs_status_created ON jobs (status, created_at, job_id, tool);
INSERT INTO jobs
SELECT 'job_' || substr(md5(random()::text), 1, 12), 'key_' || floor(random() * 50)::int, 'wait',
    CASE WHEN i < 100000 THEN 'completed' ELSE 'queued' END,
    i >= 100000 AND random() < 0.1,
    timestamptz '2026-11-30 10:00:00+00' + i * interval '1 millisecond' + floor(random() * 1000) * interval '1 microsecond'
FROM generate_series(0, 100000 + $QUEUED - 1) AS i
ON CONFLICT DO NOTHING;
VACUUM ANALYZE jobs;
SQL
for case in "${CASES[@]}"; do
    read -r count from <<<"$case"
    out=$("${psql[@]}" <<SQL
CREATE TEMP TABLE followed AS SELECT job_id, owner_key_id, created_at FROM jobs WHERE status = 'queued' ORDER BY created_at, job_id LIMIT $count OFFSET $((from - 1));
ANALYZE followed;
\timing on
SELECT 'per-job', SUM(position) FROM ($PER_JOB) AS p;
SELECT 'per-job', SUM(position) FROM ($PER_JOB) AS p;
SELECT 'per-job', SUM(position) FROM ($PER_JOB) AS p;
SELECT 'windowed', SUM(position) FROM ($WINDOWED) AS p;
SELECT 'windowed', SUM(position) FROM ($WINDOWED) AS p;
SELECT 'windowed', SUM(position) FROM ($WINDOWED) AS p;
SQL
)
    python3 - "$count" "$from" "$out" <<'PY'
import re, sys
count, start, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = re.findall(r"^(per-job|windowed)\|(\d+)\nTime: ([\d.]+) ms", out, re.M)
best = {f: min(float(t) for g, _, t in rows if g == f) for f in ("per-job", "windowed")}
sums = {f: {s for g, s, _ in rows if g == f} for f in best}
print(f"  postgresql {count:>5} jobs from queued #{start:<6}: per-job {best['per-job']:8.1f} ms, windowed {best['windowed']:6.1f} ms; places summed {sums}")
PY
done
