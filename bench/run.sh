#!/usr/bin/env bash
# POST /execute_tool with `echo` on AgentCorex against a bare ASP.NET Core endpoint returning the same JSON,
# side by side in one run. Both servers are Release builds started the same way on a free loopback port;
# the load generator (bench/LoadGenerator) drives each in a closed loop. See docs/benchmarks.md.
#
#   bash bench/run.sh
#
# Settings (environment): CONNECTIONS=32 WARMUP=30 DURATION=5 (seconds) ROUNDS=10, INTERLEAVE=1
#   The warm-up is long because on 2 busy cores AgentCorex's tiered JIT needs about 20 s of load to settle.
#   INTERLEAVE=1 (MODE=bare) starts every server at once, warms each up (WARMUP s of load), then measures them in
#                turns, one short slice each per round (SLICE_WARMUP=2 s of load, then DURATION s measured), the
#                order reversed every other round: on a machine whose speed drifts by tens of percent within
#                minutes, a round's servers are measured within seconds of each other. The idle servers wait
#                beside the one under load (AgentCorex's Hangfire server polls: about 1 % of the machine).
#   INTERLEAVE=0 starts, warms up, measures and stops one server after the other (defaults DURATION=15 ROUNDS=3),
#                as MODE=limits always does.
#   PIN=1  puts each server on CPU 0 and the generator on CPU 1 (default: the scheduler shares both cores)
#   FLOOR=1      (MODE=bare) also runs bench/BareEndpoint in its controller shape, the design's floor: the same answer
#                from an [ApiController] behind ASP.NET Core's authentication and an admin policy, doing none of
#                AgentCorex's work; two more tables compare it with the bare endpoint and AgentCorex with it
#                (FLOOR=0 leaves it out)
#   MODE=limits  instead compares AgentCorex with per-key limiting on (the admin key given a request limit and
#                a limit of executions at once it never reaches, so every request is counted and takes a
#                slot) against limiting off (RateLimits:Enabled=false)
#   STORAGE=postgresql  runs AgentCorex on a throwaway PostgreSQL cluster (bench/throwaway-postgres.sh) instead of
#                the embedded SQLite file: with MODE=limits, the database counter of requests per minute
# Output: the table on stdout and in bench/results/<timestamp>/ with each run's figures and server logs.
set -euo pipefail

CONNECTIONS=${CONNECTIONS:-32}
WARMUP=${WARMUP:-30}
PIN=${PIN:-0}
MODE=${MODE:-bare}
INTERLEAVE=${INTERLEAVE:-1}
[[ "$MODE" == limits ]] && INTERLEAVE=0
if [[ "$INTERLEAVE" == 1 ]]; then
    DURATION=${DURATION:-5}; ROUNDS=${ROUNDS:-10}
else
    DURATION=${DURATION:-15}; ROUNDS=${ROUNDS:-3}
fi
SLICE_WARMUP=${SLICE_WARMUP:-2}
FLOOR=${FLOOR:-1}
STORAGE=${STORAGE:-embedded}
START_TIMEOUT=${START_TIMEOUT:-60}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)"
SCRATCH=$(mktemp -d)
SERVER_PID=""
# Every server started and not yet stopped, by name: its pid and port.
declare -A PIDS=() PORTS=()

# stop_server NAME
stop_server() {
    local pid=${PIDS[$1]:-}
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        # Kestrel drains in well under a second; a server that hangs is not left behind.
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    unset "PIDS[$1]" "PORTS[$1]"
}
stop_servers() { local name; for name in "${!PIDS[@]}"; do stop_server "$name"; done; }
source "$ROOT/bench/throwaway-postgres.sh"
trap 'stop_servers; stop_throwaway_postgres "$SCRATCH/pg"; rm -rf "$SCRATCH"' EXIT
trap 'exit 130' INT TERM

fail() { echo "bench: $*" >&2; exit 1; }

for setting in CONNECTIONS WARMUP DURATION ROUNDS SLICE_WARMUP; do
    [[ "${!setting}" =~ ^[1-9][0-9]*$ ]] || fail "$setting must be a positive whole number, not '${!setting}'"
done
(( ROUNDS <= 10 && DURATION <= 300 && WARMUP <= 300 )) || fail "at most 10 rounds of 300 s warm-up and 300 s measured"
command -v curl >/dev/null || fail "curl is needed to wait for the servers' readiness"
[[ "$FLOOR" == 0 || "$FLOOR" == 1 ]] || fail "FLOOR must be 0 or 1, not '$FLOOR'"
[[ "$INTERLEAVE" == 0 || "$INTERLEAVE" == 1 ]] || fail "INTERLEAVE must be 0 or 1, not '$INTERLEAVE'"
(( SLICE_WARMUP <= 60 )) || fail "at most 60 s of SLICE_WARMUP"
[[ "$MODE" == bare || "$MODE" == limits ]] || fail "MODE must be bare or limits, not '$MODE'"
[[ "$STORAGE" == embedded || "$STORAGE" == postgresql ]] || fail "STORAGE must be embedded or postgresql, not '$STORAGE'"

mkdir -p "$OUT"
echo "bench: building Release (AgentCorex.Web, bench/BareEndpoint, bench/LoadGenerator)"
for project in AgentCorex.Web bench/BareEndpoint bench/LoadGenerator; do
    dotnet build "$ROOT/$project" -c Release -nologo -v q >>"$OUT/build.log" 2>&1 || { cat "$OUT/build.log" >&2; fail "building $project failed"; }
done
AGENTCOREX_DLL="$ROOT/AgentCorex.Web/bin/Release/net10.0/AgentCorex.Web.dll"
BARE_DLL="$ROOT/bench/BareEndpoint/bin/Release/net10.0/BareEndpoint.dll"
LOADGEN_DLL="$ROOT/bench/LoadGenerator/bin/Release/net10.0/LoadGenerator.dll"

# A throwaway admin key for this run only, handed over in the environment so it shows in no process list.
BENCH_BEARER="bench-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
export BENCH_BEARER

server_pin=(); loadgen_pin=()
if [[ "$PIN" == 1 ]]; then
    command -v taskset >/dev/null || fail "PIN=1 needs taskset"
    server_pin=(taskset -c 0); loadgen_pin=(taskset -c 1)
fi

# start_server NAME DLL [ENV=VALUE...]: starts it on port 0 and records its pid and port once /health/ready answers 200.
start_server() {
    local name=$1 dll=$2; shift 2
    local log="$OUT/$name.server.log"
    # Identical for all: Production, Kestrel on loopback, nothing logged per request (Warning), except the
    # lifetime line that tells which port the kernel gave.
    ( cd "$ROOT" && exec env ASPNETCORE_ENVIRONMENT=Production DOTNET_ENVIRONMENT=Production "$@" \
        "${server_pin[@]}" dotnet "$dll" --urls http://127.0.0.1:0 \
        --Logging:LogLevel:Default=Warning --Logging:LogLevel:Microsoft.AspNetCore=Warning \
        --Logging:LogLevel:Microsoft.Hosting.Lifetime=Information ) >"$log" 2>&1 &
    local pid=$! port=""
    PIDS[$name]=$pid
    local deadline=$((SECONDS + START_TIMEOUT))
    while [[ -z "$port" ]]; do
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "$name exited before listening (log: $log)"; }
        (( SECONDS < deadline )) || { cat "$log" >&2; fail "$name did not listen within ${START_TIMEOUT}s (log: $log)"; }
        port=$(sed -n 's|.*Now listening on: http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$log" | head -n1)
        [[ -n "$port" ]] || sleep 0.2
    done
    until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/health/ready")" == 200 ]]; do
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "$name exited before it was ready (log: $log)"; }
        (( SECONDS < deadline )) || { cat "$log" >&2; fail "$name was not ready within ${START_TIMEOUT}s (log: $log)"; }
        sleep 0.2
    done
    PORTS[$name]=$port
    echo "bench: $name listening on 127.0.0.1:$port (pid $pid)"
}

# generate NAME WARMUP DURATION TSV: the closed loop against a started server; its figures go to TSV.
generate() {
    local name=$1 warmup=$2 duration=$3 tsv=$4 status=0
    "${loadgen_pin[@]}" dotnet "$LOADGEN_DLL" --url "http://127.0.0.1:${PORTS[$name]}/execute_tool" --label "$name" \
        --connections "$CONNECTIONS" --warmup "$warmup" --duration "$duration" \
        --server-pid "${PIDS[$name]}" --tsv "$tsv" || status=$?
    case $status in
        0) ;;
        2) echo "bench: $name answered some requests with errors; see the table" >&2; ERRORS=1 ;;
        *) fail "the load generator failed against $name (exit $status; server log: $OUT/$name.server.log)" ;;
    esac
}

# measure NAME DLL [ENV=VALUE...]: start, warm up and measure, stop.
measure() {
    local name=$1
    start_server "$@"
    generate "$name" "$WARMUP" "$DURATION" "$OUT/runs.tsv"
    stop_server "$name"
}

if [[ "$STORAGE" == postgresql ]]; then
    start_throwaway_postgres "$SCRATCH/pg" || fail "could not start PostgreSQL"
    echo "bench: AgentCorex on a throwaway PostgreSQL cluster ($PG_CONNECTION)"
fi

# agentcorex NAME [ENV=VALUE...]: sets SERVER to what start_server needs for AgentCorex: a fresh database of its own
# (or the throwaway cluster) and the run's admin key.
agentcorex() {
    local name=$1; shift
    local storage=()
    if [[ "$STORAGE" == postgresql ]]; then
        storage=("Storage__Provider=PostgreSql" "ConnectionStrings__AgentCorex=$PG_CONNECTION")
    else
        mkdir -p "$SCRATCH/db-$name"
        rm -f "$SCRATCH/db-$name"/agentcorex.db*
        storage=("ConnectionStrings__AgentCorex=Data Source=$SCRATCH/db-$name/agentcorex.db")
    fi
    SERVER=("$name" "$AGENTCOREX_DLL" "Auth__AdminKey=$BENCH_BEARER" "${storage[@]}" "$@")
}
run_agentcorex() { agentcorex agentcorex; measure "${SERVER[@]}"; }
run_limits_on() { agentcorex limits-on RateLimits__Admin__RequestsPerMinute=2000000000 RateLimits__Admin__MaxConcurrent=1000000; measure "${SERVER[@]}"; }
run_limits_off() { agentcorex limits-off RateLimits__Enabled=false; measure "${SERVER[@]}"; }
# The baseline needs no key; it ignores the header the generator sends to both.
run_bare() { measure bare "$BARE_DLL"; }
# The same answer through the design's fixed parts alone; it checks the bearer key the generator sends.
run_floor() { if [[ "$FLOOR" == 1 ]]; then measure controller-floor "$BARE_DLL" Bare__Shape=controller; fi; }

ERRORS=0
if [[ "$INTERLEAVE" == 1 ]]; then
    names=(agentcorex)
    [[ "$FLOOR" == 1 ]] && names+=(controller-floor)
    names+=(bare)
    agentcorex agentcorex; start_server "${SERVER[@]}"
    [[ "$FLOOR" == 1 ]] && start_server controller-floor "$BARE_DLL" Bare__Shape=controller
    start_server bare "$BARE_DLL"
    for name in "${names[@]}"; do
        echo "bench: warming $name up (${WARMUP} s)"
        generate "$name" "$WARMUP" 1 "$SCRATCH/warmup.tsv"
    done
    for round in $(seq "$ROUNDS"); do
        echo "bench: round $round of $ROUNDS"
        # The order reversed every other round, so that neither server always comes first.
        order=("${names[@]}")
        (( round % 2 == 0 )) && order=($(printf '%s\n' "${names[@]}" | tac))
        for name in "${order[@]}"; do generate "$name" "$SLICE_WARMUP" "$DURATION" "$OUT/runs.tsv"; done
    done
    stop_servers
else
    for round in $(seq "$ROUNDS"); do
        echo "bench: round $round of $ROUNDS"
        # Alternate the order so that neither server always runs first on a machine that warms or throttles.
        if [[ "$MODE" == limits ]]; then
            if (( round % 2 == 1 )); then run_limits_on; run_limits_off; else run_limits_off; run_limits_on; fi
        elif (( round % 2 == 1 )); then run_agentcorex; run_floor; run_bare; else run_bare; run_floor; run_agentcorex; fi
    done
fi
if [[ "$MODE" == limits ]]; then
    title="POST /execute_tool (echo): AgentCorex with rate limiting on vs off"; target=limits-on; baseline=limits-off; goal=0.9
else
    title="POST /execute_tool (echo): AgentCorex vs a bare ASP.NET Core endpoint"; target=agentcorex; baseline=bare; goal=0.7
fi

{
    echo "# $title"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- AgentCorex.Web AgentCorex.Tools 2>/dev/null || echo ' (with uncommitted changes in AgentCorex.Web or AgentCorex.Tools)')"
    echo "- machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)), $(free -g | awk '/^Mem:/ {print $2}') GiB; .NET $(dotnet --version)"
    if [[ "$INTERLEAVE" == 1 ]]; then
        echo "- load: $CONNECTIONS connections, closed loop; the servers started together, each warmed up with ${WARMUP} s of load, then $ROUNDS round(s) of ${SLICE_WARMUP} s of load + ${DURATION} s measured per server, in turns; servers and generator $([[ "$PIN" == 1 ]] && echo 'pinned to CPU 0 and CPU 1' || echo 'share both cores')"
    else
        echo "- load: $CONNECTIONS connections, closed loop, ${WARMUP} s warm-up + ${DURATION} s measured per run, $ROUNDS round(s), one server at a time; server and generator $([[ "$PIN" == 1 ]] && echo 'pinned to CPU 0 and CPU 1' || echo 'share both cores')"
    fi
    echo
    dotnet "$LOADGEN_DLL" compare --tsv "$OUT/runs.tsv" --target "$target" --baseline "$baseline" --min-ratio "$goal"
    if [[ "$MODE" == bare && "$FLOOR" == 1 ]]; then
        echo
        echo "## The design's floor: an [ApiController] with authentication and an admin policy, doing no work"
        echo
        dotnet "$LOADGEN_DLL" compare --tsv "$OUT/runs.tsv" --target controller-floor --baseline bare --goals no
        echo
        dotnet "$LOADGEN_DLL" compare --tsv "$OUT/runs.tsv" --target agentcorex --baseline controller-floor --goals no
    fi
} | tee "$OUT/summary.md"
echo "bench: results in $OUT"
exit "$ERRORS"
