#!/usr/bin/env bash
# Run the test suite offline, after installing (idempotently) what the tests need beyond scripts/setup.sh:
# the `[scale]` extra and SeaweedFS (scripts/install_services.sh), and Chromium for the UI test
# (scripts/install_browser.sh; where apt cannot provide it, tests/assets/test_browser.py skips, saying why).
# Full-data tests read the benchmark mirror, RB_MIRROR (default ../shared/data); where it is absent
# they skip with one stated reason (tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_services.sh
bash scripts/install_browser.sh || echo "test.sh: Chromium not installed: tests/assets/test_browser.py will skip" >&2
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export RB_MIRROR="${RB_MIRROR:-$(cd .. && pwd)/shared/data}"
.venv/bin/ruff check .
.venv/bin/lint-imports  # the layers and no-cycles contracts of pyproject.toml
# The two workers share two cores: one math thread each, inherited by every run and CLI they start
# (torch's OpenMP threads otherwise spin against the other worker's: measured 100x slower per test).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
# Two workers (pytest-xdist), each test file whole on one of them (module fixtures such as the cluster are
# built once); RB_TEST_WORKERS=0 runs in one process.
# --no-loadscope-reorder: xdist would otherwise hand out files by their number of tests, not in the
# slowest-first order tests/conftest.py gives them.
exec .venv/bin/python -m pytest -q -n "${RB_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
