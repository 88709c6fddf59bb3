# Sourced by the benchmarks: start_throwaway_postgres DIR starts a PostgreSQL cluster in DIR (created) on a free
# loopback port with its durable defaults (fsync, synchronous_commit on), as the postgres user when run as
# root, creates the database agentcorex_bench and sets PG_CONNECTION; stop_throwaway_postgres DIR stops it.
# PG_BIN (default /usr/lib/postgresql/15/bin) says where initdb and pg_ctl are.
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_AS=()
[[ $(id -u) == 0 ]] && PG_AS=(runuser -u postgres --)

start_throwaway_postgres() {
    local dir=$1 port
    [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]] || { echo "bench: no initdb / pg_ctl in $PG_BIN (set PG_BIN)" >&2; return 1; }
    mkdir -p "$dir"
    if [[ ${#PG_AS[@]} -gt 0 ]]; then
        chown postgres "$dir"
        # A parent postgres cannot pass through (mktemp -d's 700) is handed over; a shared one (/tmp) never is.
        "${PG_AS[@]}" test -x "$(dirname "$dir")" || chown postgres "$(dirname "$dir")"
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "${PG_AS[@]}" "$PG_BIN/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
    "${PG_AS[@]}" "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -qAt -c "CREATE DATABASE agentcorex_bench" >/dev/null
    PG_CONNECTION="Host=127.0.0.1;Port=$port;Username=postgres;Database=agentcorex_bench"
}

stop_throwaway_postgres() {
    [[ -d "$1" ]] && "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null 2>&1 || true
}
