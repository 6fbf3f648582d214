"""Done-when test of the report: `rb-pipeline demo`, two hand-made per-example files in the public results
layout imported (one the demo model's "published" file with two planted differences, one another model's),
a second checkpoint of the demo model scored, `rb-pipeline report` written and opened from disk in
headless Chromium (pytest-playwright, Debian's /usr/bin/chromium as in tests/assets/test_browser.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rb_pipeline.cli import DEMO_MODEL_ID
from rb_pipeline.core.paths import encode_model_id

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
PUBLISHED_MODEL = "hand-made/published-rm"
pytestmark = [pytest.mark.slow(minutes=3), pytest.mark.browser]


def run_cli(*args: str, env: dict) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "rb_pipeline.cli", *args], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, f"rb-pipeline {args}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def sql(query: str, env: dict) -> list[dict]:
    return json.loads(run_cli("sql", query, "--format", "json", env=env))


def per_example_file(path: Path, model: str, rows: list[dict]) -> None:
    """A hand-made file in rewardbench's eval-set-scores layout (column-wise, as scripts/run_rm.py writes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {
        key: [row[key] for row in rows]
        for key in ("id", "subset", "results", "scores_chosen", "scores_rejected")
    }
    path.write_text(json.dumps({**columns, "model": model, "model_type": "Seq. Classifier"}))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict:
    from rb_pipeline.models.tiny_models import build_tiny_classifier

    home = tmp_path_factory.mktemp("report")
    env = os.environ | {"RB_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "HF_HUB_OFFLINE": "1"}
    env.pop("RB_MIRROR", None)
    run_cli("demo", env=env)
    first = sql(
        f"select run_id from latest_runs where model = '{DEMO_MODEL_ID}' and benchmark = 'rewardbench'", env
    )
    # a second checkpoint in the demo model's folder: its content hash is a new revision, scored afresh
    build_tiny_classifier(home / "models" / "tiny-classifier", texts=["another checkpoint"], seed=1)
    run_cli("score", "--model", DEMO_MODEL_ID, "--benchmark", "rewardbench", "--sample", env=env)
    outcomes = sql(
        f"""select run_id, example_id, subset, correct, margin from example_outcomes_history
            where model = '{DEMO_MODEL_ID}' and benchmark = 'rewardbench' and correct is not null
            order by example_id""",
        env,
    )
    second = {row["run_id"] for row in outcomes} - {first[0]["run_id"]}
    assert len(second) == 1
    latest = [row for row in outcomes if row["run_id"] in second]
    previous = {row["example_id"]: row["correct"] for row in outcomes if row["run_id"] == first[0]["run_id"]}
    # the published file repeats the latest run's outcomes but for two planted differences
    planted = [latest[0]["example_id"], latest[-1]["example_id"]]
    rows = []
    for row in latest:
        right = row["correct"] != (row["example_id"] in planted)
        rows.append(
            {"id": row["example_id"], "subset": row["subset"], "results": int(right),
             "scores_chosen": 1.0 if right else -1.0, "scores_rejected": 0.0}
        )  # fmt: skip
    results = home / "hand-made-results"
    per_example_file(results / "eval-set-scores" / "rb-demo" / "tiny-classifier.json", DEMO_MODEL_ID, rows)
    per_example_file(results / "eval-set-scores" / "hand-made" / "published-rm.json", PUBLISHED_MODEL, rows)
    run_cli("import", str(results), env=env)
    out = home / "site"
    run_cli("report", "--out", str(out), env=env)
    flipped = sorted(
        e for e, right in previous.items() if right != {r["example_id"]: r["correct"] for r in latest}[e]
    )
    return {"out": out, "planted": planted, "flipped": flipped}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is absent: run `bash scripts/install_browser.sh` (Debian's chromium)")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "headless": True}


def test_every_page_loads(site, page):
    pages = sorted(site["out"].rglob("*.html"))
    names = {p.relative_to(site["out"]).as_posix() for p in pages}
    assert {"index.html", "compare.html", "flips.html", "suspects.html"} <= names
    assert f"models/{encode_model_id(DEMO_MODEL_ID)}.html" in names
    assert f"models/{encode_model_id(PUBLISHED_MODEL)}.html" in names
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    for path in pages:
        response = page.goto(path.as_uri())
        assert response is None or response.ok, path
        assert page.locator("h1").inner_text(), path
    assert errors == []


def test_leaderboard_sorts_by_a_click_and_filters(site, page):
    page.goto((site["out"] / "index.html").as_uri())
    models = page.locator("#leaderboard tbody tr td:first-child")
    assert {DEMO_MODEL_ID, PUBLISHED_MODEL} <= set(models.all_inner_texts())
    header = page.locator("#leaderboard th", has_text="model")
    header.click()
    first = models.all_inner_texts()
    header.click()
    assert models.all_inner_texts() == list(reversed(first)) and first == sorted(first)
    page.fill("input.filter[data-table=leaderboard]", "published")
    assert page.locator("#leaderboard tbody tr:visible").all_inner_texts()[0].startswith(PUBLISHED_MODEL)


def test_a_chart_has_pixels(site, page):
    import numpy as np
    from PIL import Image

    page.goto((site["out"] / "index.html").as_uri())
    heatmap = page.locator("img[alt='Subset accuracy']")
    assert heatmap.evaluate("img => img.complete && img.naturalWidth > 0")  # it loaded from disk
    pixels = np.asarray(Image.open(site["out"] / heatmap.get_attribute("src")).convert("RGB")).astype(int)
    coloured = (pixels.max(axis=-1) - pixels.min(axis=-1)) > 40  # viridis cells, not white or grey
    assert coloured.mean() > 0.01


def test_compare_and_flips_pages_list_the_planted_differences(site, page):
    page.goto((site["out"] / "compare.html").as_uri())
    listed = page.locator("#disagreements tbody tr td:nth-child(4)").all_inner_texts()
    assert sorted(listed) == sorted(site["planted"])
    page.goto((site["out"] / "flips.html").as_uri())
    listed = page.locator("#flips tbody tr td:nth-child(6)").all_inner_texts()
    assert sorted(listed) == site["flipped"] and site["flipped"]
