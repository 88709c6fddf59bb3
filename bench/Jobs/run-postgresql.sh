#!/usr/bin/env bash
# The jobs benchmark on PostgreSQL; its figures are in docs/benchmarks.md ("Jobs on PostgreSQL").
# Starts a throwaway PostgreSQL cluster with durable settings (fsync, synchronous_commit, full_page_writes
# on: the defaults), then, on one database of it, server nodes as processes of their own (the real server,
# Storage:Provider=PostgreSql, its own Hangfire.PostgreSql options) and side by side, for 1 node and 2 nodes:
#   (a) N echo jobs through POST /jobs/submit, spread over the nodes, until the N-th has completed, and
#   (b) N no-op jobs enqueued by the nodes straight into the same Hangfire storage (same workers);
# with commits, WAL and statements per job (pg_stat_database, pg_stat_wal, pg_stat_statements); then
# submit-to-running on the idle cluster, also from an API-only node (the job always taken by another node).
# The cluster is stopped and deleted at the end. Release build; everything bounded in count and time.
#
#   bash bench/Jobs/run-postgresql.sh
#
# Settings (environment):
#   JOBS=3000 ROUNDS=2 CONNECTIONS=32 WARMUP_JOBS=1000 IDLE_JOBS=100 NODES=1,2
#   WORKERS=         Hangfire workers per node (unset: the server's default, 5 per core, at most 20)
#   PG_BIN=/usr/lib/postgresql/15/bin
#   QUIET_WAIT=300   seconds to wait, at most, for other work on the machine to stop before starting (0: no wait)
#   BENCH_ARGS=      more flags for JobsBenchmark (see BenchOptions.cs), e.g. "--setting Jobs:LongPolling=false"
#   CONNECTION_OPTIONS=  what-if: appended to the connection string of nodes and bench, e.g. "Max Auto Prepare=0"
# Output: the tables on stdout, and bench/results/jobs-pg-<timestamp>/ (summary.md, pg.md, pg.log, postgres.log).
set -euo pipefail

JOBS=${JOBS:-3000}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-32}
WARMUP_JOBS=${WARMUP_JOBS:-1000}
IDLE_JOBS=${IDLE_JOBS:-100}
NODES=${NODES:-1,2}
WORKERS=${WORKERS:-}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
QUIET_WAIT=${QUIET_WAIT:-300}
BENCH_ARGS=${BENCH_ARGS:-}
CONNECTION_OPTIONS=${CONNECTION_OPTIONS:-}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT="$ROOT/bench/results/jobs-pg-$(date -u +%Y%m%dT%H%M%SZ)"
PROJECT="$ROOT/bench/Jobs/JobsBenchmark"
DLL="$PROJECT/bin/Release/net10.0/JobsBenchmark.dll"

fail() { echo "bench: $*" >&2; exit 1; }
for setting in JOBS ROUNDS CONNECTIONS IDLE_JOBS; do
    [[ "${!setting}" =~ ^[1-9][0-9]*$ ]] || fail "$setting must be a positive whole number, not '${!setting}'"
done
[[ "$WARMUP_JOBS" =~ ^[0-9]+$ ]] || fail "WARMUP_JOBS must be a whole number"
[[ "$QUIET_WAIT" =~ ^[0-9]+$ ]] || fail "QUIET_WAIT must be a whole number of seconds"
[[ -z "$WORKERS" || "$WORKERS" =~ ^[1-9][0-9]*$ ]] || fail "WORKERS must be a positive whole number"
[[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]] || fail "no initdb / pg_ctl in $PG_BIN (set PG_BIN)"

mkdir -p "$OUT"
echo "bench: building Release (bench/Jobs/JobsBenchmark, with AgentCorex.Web)"
dotnet build "$PROJECT" -c Release -nologo -v q >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log" >&2; fail "the build failed"; }

# The throwaway cluster: run as postgres when we are root (initdb refuses root), on a free loopback port.
PGDATA_DIR=$(mktemp -d /tmp/agentcorex-bench-pg-XXXXXX)
AS=()
if [[ $(id -u) == 0 ]]; then
    chown postgres "$PGDATA_DIR"
    AS=(runuser -u postgres --)
fi
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop_cluster() {
    "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null 2>&1 || true
    cp "$PGDATA_DIR/server.log" "$OUT/postgres.log" 2>/dev/null || true
    rm -rf "$PGDATA_DIR"
}
trap stop_cluster EXIT
"${AS[@]}" "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C >"$OUT/initdb.log"
# Durable: fsync, synchronous_commit and full_page_writes are left at their defaults (on). Raised for the
# bench: max_connections (several nodes, each with its pool and a LISTEN connection per waiting worker) and
# shared_buffers (the default 128 MB is small for any real server); pg_stat_statements for the diagnosis.
PG_SETTINGS="-p $PORT -k $PGDATA_DIR -c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=512MB -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
"${AS[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDATA_DIR/server.log" -o "$PG_SETTINGS" -w -t 60 start >/dev/null
"${AS[@]}" "$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qAt -c "CREATE DATABASE agentcorex_bench" >/dev/null
SHOWN=$("${AS[@]}" "$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qAt -c "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync','synchronous_commit','full_page_writes','wal_sync_method','max_connections','shared_buffers','commit_delay','wal_level')")
VERSION=$("${AS[@]}" "$PG_BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qAt -c "SHOW server_version")
echo "bench: PostgreSQL $VERSION on 127.0.0.1:$PORT, data in $PGDATA_DIR: $SHOWN"
CONNECTION="Host=127.0.0.1;Port=$PORT;Username=postgres;Database=agentcorex_bench${CONNECTION_OPTIONS:+;$CONNECTION_OPTIONS}"

# Busy cores of the whole machine over 3 s, from /proc/stat.
machine_busy() {
    local a b
    a=($(head -n1 /proc/stat)); sleep 3; b=($(head -n1 /proc/stat))
    awk -v n="$(nproc)" -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
        split(a, x, " "); split(b, y, " "); busy = 0; total = 0;
        for (i = 2; i <= 9; i++) { d = y[i] - x[i]; total += d; if (i != 5 && i != 6) busy += d }
        printf "%.2f", total ? busy / total * n : 0 }'
}
wait_quiet() {
    local deadline=$((SECONDS + QUIET_WAIT)) busy
    while :; do
        busy=$(machine_busy)
        awk -v b="$busy" 'BEGIN { exit !(b < 0.3) }' && { echo "bench: machine quiet ($busy busy cores)"; return; }
        (( SECONDS < deadline )) || { echo "bench: machine still busy ($busy cores) after ${QUIET_WAIT}s; measuring anyway (the tables show others' share)"; return; }
        echo "bench: machine busy ($busy cores of other work); waiting"
        sleep 10
    done
}

wait_quiet
LOAD_BEFORE=$(uptime)
WORKER_ARGS=()
[[ -n "$WORKERS" ]] && WORKER_ARGS=(--workers "$WORKERS")
echo "bench: run: --storage postgresql --nodes $NODES --jobs $JOBS --rounds $ROUNDS --warmup-jobs $WARMUP_JOBS --idle-jobs $IDLE_JOBS ${WORKER_ARGS[*]} $BENCH_ARGS"
status=0
# shellcheck disable=SC2086
timeout 1800 dotnet "$DLL" --storage postgresql --connection-string "$CONNECTION" --nodes "$NODES" --jobs "$JOBS" --rounds "$ROUNDS" \
    --warmup-jobs "$WARMUP_JOBS" --idle-jobs "$IDLE_JOBS" --connections "$CONNECTIONS" --phases throughput,idle "${WORKER_ARGS[@]}" $BENCH_ARGS \
    --out "$OUT/pg.md" 2>&1 | tee "$OUT/pg.log" || status=$?
LOAD_AFTER=$(uptime)
(( status == 0 )) || fail "the run failed with exit $status (log: $OUT/pg.log)"

{
    echo "# Jobs on PostgreSQL: API (POST /jobs/submit) against raw Hangfire.PostgreSql, 1 and 2 nodes"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- AgentCorex.Web AgentCorex.Tools 2>/dev/null || echo ' (with uncommitted changes in AgentCorex.Web or AgentCorex.Tools)')"
    echo "- machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(free -g | awk '/^Mem:/ {print $2}') GiB; .NET $(dotnet --version)"
    echo "- PostgreSQL $VERSION, throwaway cluster on loopback: $SHOWN"
    echo "- load before: $LOAD_BEFORE"
    echo "- load after: $LOAD_AFTER"
    echo "- connection string of nodes and bench: $CONNECTION"
    echo "- nodes, PostgreSQL and the load generator share the $(nproc) cores"
    echo
    sed 's/^## /### /' "$OUT/pg.md"
} >"$OUT/summary.md"
echo "bench: results in $OUT (summary.md)"
