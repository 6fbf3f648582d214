#!/usr/bin/env bash
# Run the test suite offline; full-data tests read the benchmark mirror at ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export RB_MIRROR="${RB_MIRROR:-$(cd .. && pwd)/shared/data}"
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q "$@"
