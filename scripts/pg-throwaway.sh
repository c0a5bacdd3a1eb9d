#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests: initdb in a temporary directory, a free port on 127.0.0.1.
#   eval "$(scripts/pg-throwaway.sh start)"   # exports JOYN_TEST_PG_URL and PG_THROWAWAY_DIR
#   scripts/pg-throwaway.sh stop "$PG_THROWAWAY_DIR"
# Debian's server binaries refuse to run as root, so as root the cluster runs as the `postgres` user.
set -euo pipefail
cmd=${1:-}
bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$bindir/initdb" ] || { echo "PostgreSQL server binaries not found (install Debian's postgresql package)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$cmd" in
  start)
    dir=$(mktemp -d /tmp/joyn-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
    as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=on -c max_connections=200" start >&2 \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "export PG_THROWAWAY_DIR=$dir"
    echo "export JOYN_TEST_PG_URL=postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir=${2:-${PG_THROWAWAY_DIR:-}}
    [ -n "$dir" ] && [ -d "$dir" ] || exit 0
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start | stop [dir]" >&2; exit 2 ;;
esac
