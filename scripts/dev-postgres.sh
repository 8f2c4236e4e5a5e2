#!/usr/bin/env bash
# Starts a throw-away PostgreSQL 15 on 127.0.0.1 for trying hotrow by hand
# (two hubs sharing one database, say) and prints its DATABASE_URL.
#   scripts/dev-postgres.sh start [port]   (default 5433)
#   scripts/dev-postgres.sh stop
set -euo pipefail
bin=${HOTROW_PG_BIN:-/usr/lib/postgresql/15/bin}
dir=${HOTROW_PG_DIR:-/tmp/hotrow-dev-pg}
port=${2:-5433}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-start}" in
start)
  [ -x "$bin/initdb" ] || { echo "PostgreSQL 15 is missing: run make test-deps (or apt-get install postgresql-15)" >&2; exit 1; }
  if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg "$bin/initdb" -D "$dir" -A trust -U postgres --no-sync >/dev/null
  fi
  as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/log" -o "-p $port -k $dir -c listen_addresses=127.0.0.1" -w start >/dev/null
  echo "DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  ;;
stop)
  as_pg "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null && echo stopped
  ;;
*) echo "usage: $0 start [port] | stop" >&2; exit 2 ;;
esac
