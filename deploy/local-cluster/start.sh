#!/usr/bin/env bash
# Start the multi-worker deployment of deploy/README.md ("Celery: one worker per GPU") on loopback, in
# one folder: PostgreSQL (the Dagster instance storage), Redis (the Celery broker and result backend),
# SeaweedFS (the S3 lake), two dagster-celery workers, dagster-daemon and dagster-webserver.
#
#   deploy/local-cluster/start.sh DIR [SERVICE ...]    # default: every service:
#   postgres redis s3 daemon webserver worker1 worker2
# The storage services (postgres, redis, s3) start together, then the Dagster and Celery processes
# together; the script returns once the daemon runs, the webserver answers and each worker is `ready`.
#   . DIR/cluster.env                                  # then: RB_HOME, RB_LAKE, DAGSTER_HOME, AWS_*, ...
#   deploy/local-cluster/stop.sh DIR [SERVICE ...]
#
# Services installed by scripts/install_services.sh; nothing is downloaded here. Each service runs in
# its own process group (DIR/pids/NAME holds its id, DIR/logs/NAME.log its output), so stop.sh can stop
# one (a worker, the broker) and start.sh DIR NAME start it again with the same ports and data.
# PostgreSQL refuses to run as root: as root its data folder belongs to `nobody` (RB_PG_USER).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
[ $# -ge 1 ] || { echo "usage: $0 DIR [SERVICE ...]" >&2; exit 2; }
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
shift
SERVICES=("$@")
[ ${#SERVICES[@]} -gt 0 ] || SERVICES=(postgres redis s3 daemon webserver worker1 worker2)
export PATH="$REPO/.venv/bin:$PATH"
PY="$REPO/.venv/bin/python"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
mkdir -p "$DIR/logs" "$DIR/pids"

# --- one configuration for every process: DIR/cluster.env, written once ---------------------------
if [ ! -f "$DIR/cluster.env" ]; then
  read -r PG_PORT REDIS_PORT S3_PORT WEB_PORT WEED_PORTS < <("$PY" - <<'PY'
import socket
socks = [socket.socket() for _ in range(14)]
for s in socks:
    s.bind(("127.0.0.1", 0))
ports = [s.getsockname()[1] for s in socks]
print(*ports[:4], ",".join(map(str, ports[4:])))
PY
)
  PG_DIR="$DIR/postgres"
  [ "$(id -u)" != 0 ] || PG_DIR="$(mktemp -d /tmp/rb-cluster-pg.XXXXXX)"  # reachable by `nobody`
  cat > "$DIR/cluster.env" <<EOF
export RB_CLUSTER_DIR='$DIR'
export RB_HOME='${RB_HOME:-$DIR/rb_home}'
export DAGSTER_HOME='$DIR/dagster_home'
export RB_EXECUTOR=celery
export RB_LAKE='s3://rb-lake/lake'
export AWS_ENDPOINT_URL='http://127.0.0.1:$S3_PORT' AWS_ACCESS_KEY_ID=rb-cluster AWS_SECRET_ACCESS_KEY=rb-cluster-secret AWS_REGION=us-east-1
export DAGSTER_PG_HOST=127.0.0.1 DAGSTER_PG_PORT=$PG_PORT DAGSTER_PG_USER=rb DAGSTER_PG_PASSWORD=rb DAGSTER_PG_DB=dagster
export RB_PG_DIR='$PG_DIR' RB_PG_USER='$([ "$(id -u)" = 0 ] && echo nobody || id -un)'
export RB_REDIS_PORT=$REDIS_PORT RB_WEBSERVER_PORT=$WEB_PORT RB_WEED_PORTS='$WEED_PORTS'
export RB_RUN_CONFIG='$DIR/run_config.yaml'
export OMP_NUM_THREADS=\${OMP_NUM_THREADS:-1}
EOF
fi
# shellcheck disable=SC1091
. "$DIR/cluster.env"
mkdir -p "$RB_HOME" "$DAGSTER_HOME"

# The lab's instance and run config (deploy/celery/), with this cluster's ports and Redis.
"$PY" - "$REPO" "$DIR" <<'PY'
import os, sys, yaml
repo, folder = sys.argv[1:]
instance = yaml.safe_load(open(f"{repo}/deploy/celery/dagster.yaml"))
instance["storage"]["postgres"]["postgres_db"]["port"] = int(os.environ["DAGSTER_PG_PORT"])
# one machine, nothing to spare the database from: take queued runs every second, not every 5
instance["run_coordinator"]["config"]["dequeue_interval_seconds"] = 1
yaml.safe_dump(instance, open(os.path.join(os.environ["DAGSTER_HOME"], "dagster.yaml"), "w"))
run_config = yaml.safe_load(open(f"{repo}/deploy/celery/run_config.yaml"))
redis = f"redis://127.0.0.1:{os.environ['RB_REDIS_PORT']}"
run_config["execution"]["config"] |= {"broker": f"{redis}/0", "backend": f"{redis}/1"}
yaml.safe_dump(run_config, open(os.environ["RB_RUN_CONFIG"], "w"))
PY

launch() {  # NAME COMMAND...: in its own session (process group), output to DIR/logs/NAME.log
  local name=$1
  shift
  (cd "$REPO" && exec setsid "$@" >"$DIR/logs/$name.log" 2>&1 </dev/null) &
  echo $! >"$DIR/pids/$name"
}

wait_for() {  # SERVICE SECONDS COMMAND...: until the command succeeds (fails early if SERVICE exits)
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 "$(cat "$DIR/pids/$what")" 2>/dev/null; then
      echo "local-cluster: $what did not come up in ${seconds}s; log: $DIR/logs/$what.log" >&2
      tail -20 "$DIR/logs/$what.log" >&2 || true
      exit 1
    fi
    sleep 0.3
  done
}

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u "$RB_PG_USER" -- "$@"; else "$@"; fi; }

start_postgres() {
  if [ ! -f "$RB_PG_DIR/data/PG_VERSION" ]; then
    mkdir -p "$RB_PG_DIR"
    [ "$(id -u)" != 0 ] || chown "$RB_PG_USER" "$RB_PG_DIR"
    as_pg "$PG_BIN/initdb" -D "$RB_PG_DIR/data" -U "$DAGSTER_PG_USER" -A trust --no-sync >"$DIR/logs/postgres-init.log"
  fi
  as_pg "$PG_BIN/pg_ctl" -D "$RB_PG_DIR/data" -l "$RB_PG_DIR/postgres.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $DAGSTER_PG_PORT -k $RB_PG_DIR -c fsync=off" >/dev/null
  head -1 "$RB_PG_DIR/data/postmaster.pid" >"$DIR/pids/postgres"
  "$PG_BIN/psql" -h 127.0.0.1 -p "$DAGSTER_PG_PORT" -U "$DAGSTER_PG_USER" -d postgres -tAc \
    "select 1 from pg_database where datname = '$DAGSTER_PG_DB'" | grep -q 1 \
    || "$PG_BIN/createdb" -h 127.0.0.1 -p "$DAGSTER_PG_PORT" -U "$DAGSTER_PG_USER" "$DAGSTER_PG_DB"
  # The instance's tables, once, before the Dagster processes start: each would create them itself,
  # and on a fresh database they race ("type runs already exists" kills the loser).
  dagster instance migrate >"$DIR/logs/instance-migrate.log" 2>&1 \
    || { echo "local-cluster: dagster instance migrate failed; log: $DIR/logs/instance-migrate.log" >&2; exit 1; }
}

start_redis() {  # broker and results only: nothing persisted
  mkdir -p "$DIR/redis"
  launch redis redis-server --bind 127.0.0.1 --port "$RB_REDIS_PORT" --save "" --appendonly no \
    --dir "$DIR/redis" --protected-mode yes
  wait_for redis 30 redis-cli -p "$RB_REDIS_PORT" ping
}

start_s3() {  # SeaweedFS master + volume + filer + S3 gateway, as tests/core/test_object_store.py starts it;
  # a throw-away lake: the volume server stops without its 10 s drain (preStopSeconds)
  mkdir -p "$DIR/seaweedfs"
  IFS=, read -r master master_grpc volume volume_grpc filer filer_grpc s3_grpc iam debug _ <<<"$RB_WEED_PORTS"
  "$PY" -c 'import json, os, sys; json.dump({"identities": [{"name": "rb", "credentials": [{"accessKey": os.environ["AWS_ACCESS_KEY_ID"], "secretKey": os.environ["AWS_SECRET_ACCESS_KEY"]}], "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}, open(sys.argv[1], "w"))' "$DIR/seaweedfs/s3.json"
  launch s3 weed server -dir="$DIR/seaweedfs" -ip=127.0.0.1 -ip.bind=127.0.0.1 -filer -s3 \
    -s3.config="$DIR/seaweedfs/s3.json" -volume.max=8 -master.volumeSizeLimitMB=64 -master.telemetry=false \
    -volume.preStopSeconds=0 \
    -s3.port.iceberg=0 -s3.port.lance=0 -s3.port="${AWS_ENDPOINT_URL##*:}" -s3.port.grpc="$s3_grpc" \
    -master.port="$master" -master.port.grpc="$master_grpc" -volume.port="$volume" \
    -volume.port.grpc="$volume_grpc" -filer.port="$filer" -filer.port.grpc="$filer_grpc" \
    -iam.port="$iam" -debug.port="$debug"
  # the gateway answers before the volume server takes writes: wait until the bucket takes a write
  wait_for s3 90 "$PY" -c 'import s3fs; fs = s3fs.S3FileSystem(); fs.mkdirs("rb-lake", exist_ok=True); fs.pipe_file("rb-lake/.ready", b"ok")'
}

start_daemon() {  # takes queued runs (QueuedRunCoordinator) and launches them, retries failed ones
  # Loopback only: the backfill daemon ticks every RB_BACKFILL_INTERVAL seconds (Dagster's fixed 30 s,
  # a module constant of dagster 1.13, otherwise), and the run-retry daemon every second (was 5).
  export DAGSTER_EVENT_LOG_CONSUMER_DAEMON_INTERVAL_SECONDS="${DAGSTER_EVENT_LOG_CONSUMER_DAEMON_INTERVAL_SECONDS:-1}"
  launch daemon python -c 'import os, sys
import dagster._daemon.controller as controller
from dagster._daemon.cli import main
assert hasattr(controller, "DEFAULT_DAEMON_INTERVAL_SECONDS"), "dagster moved the backfill interval"
controller.DEFAULT_DAEMON_INTERVAL_SECONDS = float(os.environ.get("RB_BACKFILL_INTERVAL", "2"))
sys.argv[0] = "dagster-daemon"
main()' run -w workspace.yaml
}

start_webserver() {
  launch webserver dagster-webserver -w workspace.yaml -h 127.0.0.1 -p "$RB_WEBSERVER_PORT"
}

start_worker() {  # NAME: one Celery worker (one task at a time: one GPU), named NAME@host
  launch "$1" dagster-celery worker start -A dagster_celery.app -y "$RB_RUN_CONFIG" -q dagster \
    -i assets.definitions -n "$1"
}

for service in "${SERVICES[@]}"; do
  case "$service" in
    postgres | redis | s3 | daemon | webserver | worker*) ;;
    *) echo "unknown service $service" >&2; exit 2 ;;
  esac
done
# Storage first, all three at once (each waits for its own readiness), then everything that uses it.
waiting=()
for service in "${SERVICES[@]}"; do
  case "$service" in postgres | redis | s3) "start_$service" & waiting+=($!) ;; esac
done
for pid in "${waiting[@]}"; do wait "$pid" || exit 1; done
for service in "${SERVICES[@]}"; do
  case "$service" in
    daemon | webserver) "start_$service" ;;
    worker*) start_worker "$service" ;;
  esac
done
for service in "${SERVICES[@]}"; do  # up: the daemon's first line, the webserver answers, Celery's `ready`
  case "$service" in
    daemon) wait_for daemon 300 grep -q "Instance is configured with the following daemons" "$DIR/logs/daemon.log" ;;
    webserver) wait_for webserver 300 curl -sf "http://127.0.0.1:$RB_WEBSERVER_PORT/server_info" ;;
    worker*) wait_for "$service" 300 grep -q "ready\." "$DIR/logs/$service.log" ;;
  esac
done
echo "local-cluster up in $DIR: ${SERVICES[*]} (webserver http://127.0.0.1:$RB_WEBSERVER_PORT)"
