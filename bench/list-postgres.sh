#!/usr/bin/env bash
# GET /jobs on PostgreSQL with a million jobs in the ledger: the jobs benchmark's list phase (which runs on the
# embedded database, in process) for a server node on a throwaway PostgreSQL cluster. Publishes the server, starts
# it on the cluster, fills the jobs table as the list phase does (four in five jobs one key's; echo mostly, wait
# 1 in 100, fail 1 in 1,000; completed mostly, failed 1 in 50, canceled 1 in 1,000), lets PostgreSQL gather its
# statistics (VACUUM ANALYZE, as autovacuum would; after the server has moved the fill's ends into its totals), then times each query, one request at a time, after 3
# unmeasured. See docs/benchmarks.md.
#
#   bash bench/list-postgres.sh            ROWS=1000000 REQUESTS=30
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/throwaway-postgres.sh
ROWS=${ROWS:-1000000}
REQUESTS=${REQUESTS:-30}

work=$(mktemp -d /tmp/agentcorex-list-pg-XXXXXX)
server=
cleanup() {
    [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    stop_throwaway_postgres "$work/pg"
    rm -rf "$work"
}
trap cleanup EXIT

start_throwaway_postgres "$work/pg"
psql=("${PG_AS[@]}" "$PG_BIN/psql" "$(sed -E 's/Host=([^;]*);Port=([^;]*);Username=([^;]*);Database=(.*)/postgresql:\/\/\3@\1:\2\/\4/' <<<"$PG_CONNECTION")" -qAt -v ON_ERROR_STOP=1)
dotnet publish AgentCorex.Web -c Release -o "$work/bin" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
admin="bench-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
(cd "$work" && exec dotnet bin/AgentCorex.Web.dll --urls "http://127.0.0.1:$port" --Storage:Provider=PostgreSql \
    "--ConnectionStrings:AgentCorex=$PG_CONNECTION" "--Auth:AdminKey=$admin" >server.log 2>&1) &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 120); do curl -sf "$base/health/ready" >/dev/null && break; sleep 0.5; done

created=$(curl -sf -X POST "$base/api_keys" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d '{"name":"list-bench","plan":"enterprise"}')
key_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["key_id"])' "$created")
api_key=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["api_key"])' "$created")

started=$(date +%s.%N)
"${psql[@]}" <<SQL
INSERT INTO jobs (job_id, owner_key_id, tool, arguments, status, timeout_ms, attempt, created_at, started_at, completed_at,
                  execution_time_ms, result, tokens_input, tokens_output, parked, events_pending)
SELECT 'job_l' || lpad(i::text, 11, '0'),
       CASE WHEN i % 5 = 0 THEN 'key_listother' || (i % 3) ELSE '$key_id' END,
       CASE WHEN i % 100 = 7 THEN 'wait' WHEN i % 1000 = 3 THEN 'fail' ELSE 'echo' END,
       '{"message":"x"}',
       CASE WHEN i % 50 = 1 THEN 'failed' WHEN i % 1000 = 2 THEN 'canceled' ELSE 'completed' END,
       30000, 1, at, at, at, 1, '{"message":"x"}', 0, 0, false, 0
FROM generate_series(1, $ROWS) AS i, LATERAL (SELECT now() - interval '30 days' + i * (interval '30 days' / $ROWS) AS at) AS t;
SQL
# Where the server keeps totals by a table of changes (JobTotalsCompaction, every 5 s), wait for its pass to move the
# million the insert made: a server's ends reach it a few seconds' worth at a time, never a million at once.
if [[ $("${psql[@]}" -c "SELECT to_regclass('job_total_changes') IS NOT NULL") == t ]]; then
    for _ in $(seq 1 240); do
        [[ $("${psql[@]}" -c "SELECT NOT EXISTS (SELECT 1 FROM job_total_changes)") == t ]] && break
        sleep 0.5
    done
fi
"${psql[@]}" -c "VACUUM ANALYZE"
seeded=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$started" "$(date +%s.%N)")
rows=$("${psql[@]}" -c "SELECT COUNT(*) FROM jobs")

echo "## GET /jobs on PostgreSQL with $rows jobs in the ledger ($REQUESTS requests per query, one at a time, after 3 unmeasured)"
echo
echo "| caller | query | total | p50 ms | p90 ms | p99 ms | max ms |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
queries=("" "?status=failed" "?status=completed" "?tool=fail" "?tool=echo" "?tool=echo&status=failed" "?tool=fail&status=completed"
         "?offset=500000" "?status=completed&offset=500000" "?tool=echo&offset=500000")
for caller in key admin; do
    [[ $caller == key ]] && token=$api_key || token=$admin
    for query in "${queries[@]}"; do
        times=()
        for i in $(seq -3 "$((REQUESTS - 1))"); do
            t=$(curl -s -o "$work/page.json" -w '%{time_total}' "$base/jobs$query" -H "Authorization: Bearer $token")
            (( i >= 0 )) && times+=("$t")
        done
        python3 - "$caller" "$query" "$work/page.json" "${times[@]}" <<'PY'
import json, math, sys
caller, query, page, times = sys.argv[1], sys.argv[2], sys.argv[3], sorted(float(t) * 1000 for t in sys.argv[4:])
at = lambda p: times[max(0, math.ceil(p * len(times)) - 1)]
total = json.load(open(page))["pagination"]["total"]
print(f"| {'the key' if caller == 'key' else 'admin'} | `/jobs{query}` | {total} | {at(.5):.2f} | {at(.9):.2f} | {at(.99):.2f} | {times[-1]:.2f} |")
PY
    done
done
echo
echo "Seeded in $seeded s (insert and VACUUM ANALYZE)."
