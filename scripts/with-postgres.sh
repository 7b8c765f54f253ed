#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster: initdb into a temporary folder, serve it
# on a free loopback port, export TEST_DATABASE_URL (the maintenance database; tests make their
# own), run the command, then stop the cluster and delete the folder whatever happened.
#
#   scripts/with-postgres.sh .venv/bin/pytest -n auto -q
#
# The cluster trades durability for speed (fsync off): it lives only as long as the command.
set -euo pipefail
bin=$("$(dirname "$0")/ensure-postgres.sh")
# In memory when the machine has a roomy /dev/shm (a container's 64 MB is not): nothing of it
# needs to survive.
parent=/dev/shm
free_kb=$(df -Pk "$parent" 2>/dev/null | awk 'NR == 2 {print $4}')
[ -d "$parent" ] && [ -w "$parent" ] && [ "${free_kb:-0}" -ge 2097152 ] || parent=${TMPDIR:-/tmp}
dir=$(mktemp -d "$parent/butlerdesk-pg.XXXXXX")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# PostgreSQL refuses to run as root; then the cluster belongs to the `postgres` system user.
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    as_owner=(runuser -u postgres --)
fi
stop() {
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT INT TERM

"${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U butlerdesk --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "\
    -c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
    -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c shared_buffers=256MB" start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

export TEST_DATABASE_URL="postgresql+psycopg://butlerdesk@127.0.0.1:$port/postgres"
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (throwaway)"
status=0
"$@" || status=$?
exit $status
