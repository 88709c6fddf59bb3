#!/usr/bin/env bash
# Starts a server from this checkout (the README's command, its own data folder, a free port), runs the contract's
# client code and curl examples against it (run.js), and stops the server by its process group.
# Usage: bash bench/ContractClient/run.sh   (from anywhere; needs node 18+, curl, and npm once for eventsource)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
data=$(mktemp -d /tmp/contract-client.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

[ -d "$here/node_modules/eventsource" ] || (cd "$here" && npm ci --silent)

cd "$root"
setsid dotnet run --project AgentCorex.Web -- --urls "http://127.0.0.1:$port" \
  "--ConnectionStrings:AgentCorex=Data Source=$data/agentcorex.db" --Network:AllowPrivateTargets=true \
  > "$data/server.log" 2>&1 &
server=$!
trap 'kill -- -"$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT

for _ in $(seq 1 240); do
  curl -sf "http://127.0.0.1:$port/health/ready" > /dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$data/server.log"; exit 1; }
  sleep 0.5
done
# The first start's key is printed once the server listens, a moment after a probe may be answered.
for _ in $(seq 1 50); do
  admin=$(grep -oE 'acx_[a-z0-9]+_[a-z0-9]+' "$data/server.log" | head -1)
  [[ -n "$admin" ]] && break
  sleep 0.1
done
[[ -n "$admin" ]] || { echo "contract client: the server printed no admin key" >&2; cat "$data/server.log"; exit 1; }
echo "server on port $port, data and log in $data"
BASE="http://127.0.0.1:$port" ADMIN_KEY="$admin" node "$here/run.js"
