"""bench/ is run by hand, not in CI, and reaches into the engine by name (its timers wrap engine
functions from outside): a renamed function must fail here, not in the next benchmark run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_throughput_bench_finds_every_engine_function_it_times():
    code = (
        "import sys; sys.path.insert(0, 'bench'); import _ours_worker as worker\n"
        "import rb_pipeline.engine.scoring as scoring, rb_pipeline.models.classifier as classifier\n"
        "timers, scorers = worker.install_timers()\n"
        "wrapped = [scoring.load_scorer, scoring.publish_parquet, scoring.reusable_scores, classifier.pad_batch,\n"
        "           classifier.ClassifierScorer.encode, classifier.ClassifierScorer.score]\n"
        "assert all(f.__name__ == 'timed' for f in wrapped), [f.__name__ for f in wrapped]\n"
        "from rb_pipeline.core.schemas import RUNS_SCHEMA  # bench/warehouse_bench.py\n"
        "print('hooks installed:', len(wrapped))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "hooks installed: 6" in done.stdout
