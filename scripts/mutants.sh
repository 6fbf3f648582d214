#!/usr/bin/env bash
# Rule mutants (issue 29): break one scoring rule at a time and check that the tests catch it. Each
# scripts/mutants/<name>.patch is a small `git apply` patch whose header says what it breaks and which
# test files cover it (`# tests: ...`). For each: apply it, run those files (offline, one process, -x),
# revert it, print `caught` (the tests failed) or `SURVIVED` (they passed). The same files are first run
# without any mutant: a failure there makes every verdict meaningless, so the script stops.
# Run by hand from a clean checkout (not in CI; several minutes):  bash scripts/mutants.sh [NAME...]
# The mirror is hidden (RB_MIRROR points at an absent folder, MUTANTS_MIRROR overrides it), so each
# mutant must be caught by tests that run on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export RB_MIRROR="${MUTANTS_MIRROR:-/nonexistent/rb-mirror}"
log_dir="$(mktemp -d -t rb-mutants.XXXXXX)"

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for patch in scripts/mutants/*.patch; do names+=("$(basename "$patch" .patch)"); done
fi

tests_of() { sed -n 's/^# tests: //p' "scripts/mutants/$1.patch"; }
run_tests() { # log file, then pytest arguments
  local log=$1
  shift
  .venv/bin/python -m pytest -q -x -p no:xdist -p no:cacheprovider "$@" >"$log" 2>&1
}

applied=""
revert() { [ -z "$applied" ] || git apply -R "scripts/mutants/$applied.patch"; applied=""; }
trap revert EXIT INT TERM

for name in "${names[@]}"; do git apply --check "scripts/mutants/$name.patch"; done

baseline=$(for name in "${names[@]}"; do tests_of "$name"; done | tr ' ' '\n' | sort -u | tr '\n' ' ')
# shellcheck disable=SC2086
if ! run_tests "$log_dir/baseline.log" $baseline; then
  echo "baseline: the tests fail without any mutant (see $log_dir/baseline.log); no verdict" >&2
  exit 1
fi
echo "baseline: passed ($baseline)"

survived=0
for name in "${names[@]}"; do
  git apply "scripts/mutants/$name.patch"
  applied=$name
  # shellcheck disable=SC2046  # the test file list is space-separated paths
  if run_tests "$log_dir/$name.log" $(tests_of "$name"); then
    verdict=SURVIVED
    survived=$((survived + 1))
  else
    failed=$(grep -m1 -oE '^(FAILED|ERROR) [^ ]+' "$log_dir/$name.log" || echo "exit status only")
    verdict="caught  ($failed)"
  fi
  revert
  printf '%-42s %s\n' "$name" "$verdict"
done
echo "logs: $log_dir"
[ "$survived" -eq 0 ] || { echo "$survived mutant(s) survived" >&2; exit 1; }
