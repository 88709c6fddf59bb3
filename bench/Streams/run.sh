#!/usr/bin/env bash
# What idle job streams cost the server: threads and resident memory of a Release AgentCorex with STREAMS
# streams open on jobs that stay queued or running, against none, and its CPU time and the bytes it allocated
# (dotnet.gc.heap.total_allocated, from /metrics) over 10 s with none open and 20 s of them idle. Then
# it cancels the jobs one at a time and reports how long each change took to reach its stream.
#
#   bash bench/Streams/run.sh                     # STREAMS=500, one node on the embedded default
#   NODES=2 bash bench/Streams/run.sh             # two nodes on a throwaway PostgreSQL cluster: the streams
#                                                 # open on node A, the changes (DELETEs) made on node B
# Settings: STREAMS=500 NODES=1|2 PG_BIN=/usr/lib/postgresql/15/bin
set -euo pipefail
STREAMS=${STREAMS:-500}
NODES=${NODES:-1}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DATA=$(mktemp -d)
KEY="bench-admin-key-0123456789"
SERVERS=()
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
[[ "$STREAMS" =~ ^[1-9][0-9]*$ ]] || { echo "bench: STREAMS must be a positive whole number" >&2; exit 1; }
[[ "$NODES" == 1 || "$NODES" == 2 ]] || { echo "bench: NODES must be 1 or 2" >&2; exit 1; }

source "$ROOT/bench/throwaway-postgres.sh"
cleanup() {
    for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    stop_throwaway_postgres "$DATA/pg"
    rm -rf "$DATA"
}
trap cleanup EXIT

STORAGE=(--ConnectionStrings:AgentCorex "Data Source=$DATA/agentcorex.db")
if [[ "$NODES" == 2 ]]; then
    # Two nodes need a shared database.
    start_throwaway_postgres "$DATA/pg"
    STORAGE=(--Storage:Provider PostgreSql --ConnectionStrings:AgentCorex "$PG_CONNECTION")
fi

dotnet build -c Release -v q "$ROOT/AgentCorex.Web" >/dev/null
dotnet build -c Release -v q "$ROOT/bench/Streams/StreamsBenchmark" >/dev/null
URLS=()
for node in $(seq "$NODES"); do
    port=$(free_port)
    mkdir -p "$DATA/node$node"
    (cd "$DATA/node$node" && exec dotnet "$ROOT/AgentCorex.Web/bin/Release/net10.0/AgentCorex.Web.dll" \
        --urls "http://127.0.0.1:$port" "${STORAGE[@]}" \
        --Auth:AdminKey "$KEY" --Logging:LogLevel:Default Warning >"$DATA/node$node/server.log" 2>&1) &
    SERVERS+=($!)
    URLS+=("http://127.0.0.1:$port")
    for _ in $(seq 300); do curl -sf "${URLS[-1]}/health/ready" >/dev/null && break; sleep 0.2; done
done
echo "AgentCorex $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores, $STREAMS streams, $NODES node(s)$([[ $NODES == 2 ]] && echo ' on PostgreSQL: streams on node A, changes on node B'); $(uptime)"
dotnet "$ROOT/bench/Streams/StreamsBenchmark/bin/Release/net10.0/StreamsBenchmark.dll" "${URLS[0]}" "$KEY" "${SERVERS[0]}" "$STREAMS" "${URLS[-1]}"
