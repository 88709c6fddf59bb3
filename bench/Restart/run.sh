#!/bin/bash
# A restart with many queued jobs, old build against new (docs/benchmarks.md, "Restart with 50,000 queued jobs").
# usage: bash bench/Restart/run.sh OLD_PUBLISH_DIR NEW_PUBLISH_DIR [JOBS]
#   publish each: dotnet publish AgentCorex.Web -c Release -o DIR (in a worktree of each commit)
# Fills a data folder once (the old build, workers off, JOBS echo submits from 16 connections, SIGTERM), then starts
# each build in turn on a fresh copy of it, 5 rounds, with workers off and with the default workers, then on no data.
set -euo pipefail
old=$1; new=$2; jobs=${3:-50000}
here=$(cd "$(dirname "$0")" && pwd)
work=/tmp/restart; mkdir -p $work/empty; rm -rf $work/seed; mkdir -p $work/seed
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
port=$(free_port)
(cd $work/seed && exec dotnet $old/AgentCorex.Web.dll --urls=http://127.0.0.1:$port "--ConnectionStrings:AgentCorex=Data Source=$work/seed/agentcorex.db" \
  --Auth:AdminKey=test-admin-key-0123456789 --Jobs:WorkerCount=0 --Logging:LogLevel:Default=Warning > $work/seed.log 2>&1) &
pid=$!
until curl -sf http://127.0.0.1:$port/health/ready > /dev/null; do sleep 0.3; done
python3 $here/seed.py $port $jobs 16 test-admin-key-0123456789
kill -TERM $pid; wait $pid || true
sqlite3 $work/seed/agentcorex.db "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
port=$(free_port)
for round in 1 2 3 4 5; do
  for app in $old $new; do
    echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) workers=0 $(python3 $here/time_start.py $app $work/seed $port --Jobs:WorkerCount=0)"
    echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) workers=default $(python3 $here/time_start.py $app $work/seed $port)"
  done
done
for app in $old $new; do
  echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) empty $(python3 $here/time_start.py $app $work/empty $port)"
done
