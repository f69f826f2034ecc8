#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL 15 server, then stops the server (also on failure).
#   scripts/with-postgres.sh COMMAND [ARGS...]
# The server lives in a temporary directory, listens on a free loopback port and a Unix socket
# there, and runs as a non-root user (postgres, or nobody) when this script runs as root. The
# command gets CFGIT_TEST_PG, a libpq connection string for a superuser on database "postgres",
# and the usual PGHOST/PGPORT/PGUSER/PGDATABASE.
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
  echo "error: PostgreSQL server binaries not found; install them with: apt-get install postgresql" >&2
  exit 1
fi

dir=$(mktemp -d /tmp/cfgit-pg-XXXXXX)
chmod 755 "$dir"
as_user=()
if [[ $(id -u) -eq 0 ]]; then
  user=postgres
  id "$user" >/dev/null 2>&1 || user=nobody
  chown "$user" "$dir"
  as_user=(runuser -u "$user" --)
else
  user=$(id -un)
fi

stop() {
  local rc=$?
  "${as_user[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit $rc
}
trap stop EXIT INT TERM

# A free port: one that nothing answers on (bash's /dev/tcp; no extra tools needed).
port=
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
done
[[ -n "$port" ]] || { echo "error: no free loopback port found" >&2; exit 1; }
"${as_user[@]}" "$bin/initdb" -D "$dir/data" -U "$user" --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
"${as_user[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c max_connections=50" \
  start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=$user PGDATABASE=postgres
export CFGIT_TEST_PG="host=127.0.0.1 port=$port user=$user dbname=postgres"
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $dir)"
"$@"
