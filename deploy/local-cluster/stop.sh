#!/usr/bin/env bash
# Stop what deploy/local-cluster/start.sh started in DIR: every service, or the ones named.
#   deploy/local-cluster/stop.sh DIR [SERVICE ...]
# SIGTERM to each service's process group (a pod's stop signal; the Dagster and Celery ones together,
# then Redis and S3), then up to RB_STOP_TIMEOUT seconds (default 60) for each to exit; a group still
# there then gets SIGKILL and the script exits 1, naming it.
# PostgreSQL stops through pg_ctl (fast shutdown). Stopping everything removes the Postgres data.
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR [SERVICE ...]" >&2; exit 2; }
DIR="$(cd "$1" && pwd)" || exit 1
shift
# shellcheck disable=SC1091
. "$DIR/cluster.env"
SERVICES=("$@")
[ ${#SERVICES[@]} -gt 0 ] || SERVICES=(webserver daemon "$(cd "$DIR/pids" && ls -d worker* 2>/dev/null)" s3 redis postgres)
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
TIMEOUT="${RB_STOP_TIMEOUT:-60}"
status=0

alive() { kill -0 -- "-$1" 2>/dev/null; }

settle() {  # NAME: wait for its group to exit after SIGTERM; SIGKILL it if it will not go
  local name=$1 pgid
  pgid="$(cat "$DIR/pids/$name" 2>/dev/null)" || return 0
  local deadline=$((SECONDS + TIMEOUT))
  while alive "$pgid" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  if alive "$pgid"; then
    echo "local-cluster: $name (process group $pgid) ignored SIGTERM for ${TIMEOUT}s: killed" >&2
    kill -KILL -- "-$pgid" 2>/dev/null
    status=1
  fi
  rm -f "$DIR/pids/$name"
}

stop_together() {  # SERVICE...: SIGTERM to each group at once, then wait for each
  local service pgid
  for service in "$@"; do
    pgid="$(cat "$DIR/pids/$service" 2>/dev/null)" && kill -TERM -- "-$pgid" 2>/dev/null
  done
  for service in "$@"; do settle "$service"; done
}

# Dagster and Celery first (they still talk to Redis, Postgres and S3 while they stop), then the rest.
front=() back=()
for service in ${SERVICES[*]}; do
  case "$service" in
    postgres) ;;
    redis | s3) back+=("$service") ;;
    *) front+=("$service") ;;
  esac
done
stop_together "${front[@]}"
stop_together "${back[@]}"
if [[ " ${SERVICES[*]} " == *" postgres "* ]] && [ -f "$RB_PG_DIR/data/postmaster.pid" ]; then
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$RB_PG_USER" -- "$PG_BIN/pg_ctl" -D "$RB_PG_DIR/data" -m fast -w stop >/dev/null || status=1
  else
    "$PG_BIN/pg_ctl" -D "$RB_PG_DIR/data" -m fast -w stop >/dev/null || status=1
  fi
  rm -f "$DIR/pids/postgres"
fi
if [ $# -eq 0 ] && [ $status = 0 ]; then
  rm -rf "$RB_PG_DIR"  # a throw-away instance: its runs were for this cluster only
fi
exit $status
