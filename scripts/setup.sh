#!/usr/bin/env bash
# Set up (idempotently) a virtualenv in .venv with the CPU build of torch first, then the project.
# TORCH_SPEC overrides the torch requirement (e.g. TORCH_SPEC=torch on a GPU machine).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import torch" 2>/dev/null \
  || .venv/bin/python -m pip install -q --disable-pip-version-check "${TORCH_SPEC:-torch==2.13.0}" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import torch, dagster, duckdb, transformers, great_expectations" \
  || { echo "setup failed: see pip output above" >&2; exit 1; }
mkdir -p "${DAGSTER_HOME:-data/lake/dagster}"
[ -f "${DAGSTER_HOME:-data/lake/dagster}/dagster.yaml" ] \
  || printf 'telemetry:\n  enabled: false\nnux:\n  enabled: false\n' > "${DAGSTER_HOME:-data/lake/dagster}/dagster.yaml"
echo "set up: $(.venv/bin/python -c 'import torch, dagster; print("torch", torch.__version__, "dagster", dagster.__version__)')"
