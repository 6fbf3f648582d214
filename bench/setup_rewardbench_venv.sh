#!/usr/bin/env bash
# Build bench/.venv-rewardbench: the real `rewardbench` package (0.1.4, from PyPI) for the baselines.
# rewardbench pins transformers==4.51.0, so it gets its own venv. torch is NOT downloaded again (the
# PyPI wheel is the CUDA build, gigabytes): the project venv's CPU torch is linked in through a .pth
# file, and pip sees it as installed. `setuptools<81` keeps `pkg_resources`, which rewardbench imports.
# Usage (from the repository root, after the project venv exists): bash bench/setup_rewardbench_venv.sh
set -euo pipefail
cd "$(dirname "$0")"
MAIN_SP=$(../.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
V=.venv-rewardbench
BASE_PY=$(../.venv/bin/python -c 'import sys; print(sys._base_executable)')  # same Python as the project venv
[ -x "$V/bin/python" ] || "$BASE_PY" -m venv "$V"
SP=$("$V/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
mkdir -p "$V/torch-from-main"
for p in "$MAIN_SP"/torch "$MAIN_SP"/functorch "$MAIN_SP"/torchgen "$MAIN_SP"/torch-*.dist-info; do
  [ -e "$p" ] && ln -sfn "$p" "$V/torch-from-main/$(basename "$p")"
done
echo "$(pwd)/$V/torch-from-main" > "$SP/zz_torch_from_main.pth"
"$V/bin/python" -m pip install -q "rewardbench==0.1.4" "setuptools>=77.0.3,<81"
HF_HUB_OFFLINE=1 WANDB_MODE=disabled "$V/bin/python" -c \
  'import torch, transformers, rewardbench, trl; print("rewardbench venv ok: torch", torch.__version__, "transformers", transformers.__version__, "trl", trl.__version__)'
