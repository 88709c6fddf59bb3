#!/usr/bin/env bash
# The jobs benchmark; its figures are in docs/benchmarks.md ("Jobs benchmark").
# In one process, the real AgentCorex server on real Kestrel (loopback) on the embedded default (SQLite
# ledger + Hangfire.InMemory), and side by side
#   (a) N jobs through POST /jobs/submit (echo) until the N-th has completed, and
#   (b) N no-op jobs enqueued straight into the same Hangfire (same storage, same workers);
# then submit-to-running on an idle server, ablations (ledger, EF Core, HTTP), and GET /jobs/{id} with
# 100,000 jobs in the ledger. Release build; everything bounded in count and time.
#
#   bash bench/Jobs/run.sh
#
# Settings (environment):
#   JOBS=20000 ROUNDS=2 CONNECTIONS=32 LEDGER_ROWS=100000 GET_SECONDS=10 ABLATION_JOBS=2000
#   WHAT_IF=1        also run, throughput only, the diagnosis (--observe-ledger: SQL per job) and two what-if
#                    variants, not the shipped configuration: without the server's write gate, and without
#                    it and with busy_timeout 0 (the ledger as it was before commit 3e8ced2)
#   WHAT_IF_JOBS=10000
#   QUIET_WAIT=300   seconds to wait, at most, for other work on the machine to stop before starting (0: no wait)
# Output: the tables on stdout, and bench/results/jobs-<timestamp>/ (summary.md, one .md and .log per run).
set -euo pipefail

JOBS=${JOBS:-20000}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-32}
LEDGER_ROWS=${LEDGER_ROWS:-100000}
GET_SECONDS=${GET_SECONDS:-10}
ABLATION_JOBS=${ABLATION_JOBS:-2000}
WHAT_IF=${WHAT_IF:-1}
WHAT_IF_JOBS=${WHAT_IF_JOBS:-10000}
QUIET_WAIT=${QUIET_WAIT:-300}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT="$ROOT/bench/results/jobs-$(date -u +%Y%m%dT%H%M%SZ)"
PROJECT="$ROOT/bench/Jobs/JobsBenchmark"
DLL="$PROJECT/bin/Release/net10.0/JobsBenchmark.dll"

fail() { echo "bench: $*" >&2; exit 1; }
for setting in JOBS ROUNDS CONNECTIONS LEDGER_ROWS GET_SECONDS ABLATION_JOBS WHAT_IF_JOBS; do
    [[ "${!setting}" =~ ^[1-9][0-9]*$ ]] || fail "$setting must be a positive whole number, not '${!setting}'"
done
[[ "$QUIET_WAIT" =~ ^[0-9]+$ ]] || fail "QUIET_WAIT must be a whole number of seconds"

mkdir -p "$OUT"
echo "bench: building Release (bench/Jobs/JobsBenchmark, with AgentCorex.Web)"
dotnet build "$PROJECT" -c Release -nologo -v q >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log" >&2; fail "the build failed"; }

# Busy cores of the whole machine over 3 s, from /proc/stat.
machine_busy() {
    local a b
    a=($(head -n1 /proc/stat)); sleep 3; b=($(head -n1 /proc/stat))
    awk -v n="$(nproc)" -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
        split(a, x, " "); split(b, y, " "); busy = 0; total = 0;
        for (i = 2; i <= 9; i++) { d = y[i] - x[i]; total += d; if (i != 5 && i != 6) busy += d }
        printf "%.2f", total ? busy / total * n : 0 }'
}

# Server and load share this machine's cores: other work moves every figure, so wait for it to stop.
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

# run NAME ARGS...: one bench process; its tables go to NAME.md, its log to NAME.log.
run() {
    local name=$1; shift
    wait_quiet
    echo "bench: run '$name': $*"
    # Bounded: a run that hangs is stopped (the bench's own deadlines are shorter).
    local status=0
    timeout 1800 dotnet "$DLL" --connections "$CONNECTIONS" --out "$OUT/$name.md" "$@" 2>&1 | tee "$OUT/$name.log" || status=$?
    (( status == 0 )) || fail "run '$name' failed with exit $status (log: $OUT/$name.log)"
}

run main --jobs "$JOBS" --rounds "$ROUNDS" --ledger-rows "$LEDGER_ROWS" --get-seconds "$GET_SECONDS" --ablation-jobs "$ABLATION_JOBS"
if [[ "$WHAT_IF" == 1 ]]; then
    run diagnosis --phases throughput --jobs "$WHAT_IF_JOBS" --rounds 1 --observe-ledger
    run no-write-gate --phases throughput --jobs "$WHAT_IF_JOBS" --rounds 1 --no-write-gate --observe-ledger
    run no-gate-no-busy-timeout --phases throughput --jobs "$WHAT_IF_JOBS" --rounds 1 --no-write-gate --sqlite-busy-timeout 0 --observe-ledger
fi

{
    echo "# Jobs: API (POST /jobs/submit) against raw Hangfire, idle latency, GET /jobs/{id}"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- AgentCorex.Web AgentCorex.Tools 2>/dev/null || echo ' (with uncommitted changes in AgentCorex.Web or AgentCorex.Tools)')"
    echo "- machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(free -g | awk '/^Mem:/ {print $2}') GiB; .NET $(dotnet --version)"
    echo "- server and load in one process (bash bench/Jobs/run.sh): they share the $(nproc) cores"
    for name in main diagnosis no-write-gate no-gate-no-busy-timeout; do
        [[ -f "$OUT/$name.md" ]] || continue
        echo
        echo "## Run: $name"
        echo
        sed 's/^## /### /' "$OUT/$name.md"
    done
} >"$OUT/summary.md"
echo "bench: results in $OUT (summary.md)"
