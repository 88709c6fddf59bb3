#!/usr/bin/env bash
# What idle job streams cost the server: threads and resident memory of a Release AgentCorex (embedded
# default, fresh data folder) with STREAMS streams open on jobs that stay queued or running, against none.
#
#   bash bench/Streams/run.sh            # STREAMS=500
# Then it cancels the jobs one at a time and reports how long each change took to reach its stream.
set -euo pipefail
STREAMS=${STREAMS:-500}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
KEY="bench-admin-key-0123456789"
trap '[[ -n "${SERVER:-}" ]] && kill "$SERVER" 2>/dev/null; rm -rf "$DATA"' EXIT

dotnet build -c Release -v q "$ROOT/AgentCorex.Web" >/dev/null
dotnet build -c Release -v q "$ROOT/bench/Streams/StreamsBenchmark" >/dev/null
(cd "$DATA" && exec dotnet "$ROOT/AgentCorex.Web/bin/Release/net10.0/AgentCorex.Web.dll" \
    --urls "http://127.0.0.1:$PORT" --ConnectionStrings:AgentCorex "Data Source=$DATA/agentcorex.db" \
    --Auth:AdminKey "$KEY" --Logging:LogLevel:Default Warning >"$DATA/server.log" 2>&1) &
SERVER=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.2; done
echo "AgentCorex $(git -C "$ROOT" rev-parse --short HEAD), $(nproc) cores, $STREAMS streams; $(uptime)"
dotnet "$ROOT/bench/Streams/StreamsBenchmark/bin/Release/net10.0/StreamsBenchmark.dll" "http://127.0.0.1:$PORT" "$KEY" "$SERVER" "$STREAMS"
