"""A warm re-run (the same model, settings and data again) loads no model: it never imports torch or
transformers, whose import was most of what such a run still cost (bench/README.md, issue 26 item 7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# runs the CLI in this process, then says which heavy libraries that run imported
SCORE_AND_REPORT = (
    "import json, sys; from rb_pipeline.cli import main; code = main(sys.argv[1:]); "
    "print(json.dumps({'code': code, 'imported': sorted({'torch', 'transformers'} & set(sys.modules))}))"
)


def score_in_a_new_process(env: dict, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SCORE_AND_REPORT, "score", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_warm_rerun_imports_neither_torch_nor_transformers(
    tmp_path: Path, tiny_classifier: Path, monkeypatch: pytest.MonkeyPatch
):
    home = tmp_path / "home"
    env = os.environ | {"RB_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "HF_HUB_OFFLINE": "1"}
    env.pop("RB_MIRROR", None)
    args = ("--model", str(tiny_classifier), "--benchmark", "judgebench", "--sample")
    cold = score_in_a_new_process(env, *args)
    assert cold == {"code": 0, "imported": ["torch", "transformers"]}  # it scored: the model was loaded
    warm = score_in_a_new_process(env, *args)
    assert warm == {"code": 0, "imported": []}  # every score reused: no model, no torch
    from rb_pipeline.warehouse.views import query

    monkeypatch.setenv("RB_HOME", str(home))  # read the lake the runs wrote
    runs = query("select n_scored, n_reused, device from runs order by started_at")
    # judgebench's shipped sample: 8 pairs, 16 distinct responses, scored once then reused
    assert runs.rows() == [(16, 0, "cpu"), (0, 16, "none (everything reused)")]
