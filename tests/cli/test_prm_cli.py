"""`rb-pipeline score` with a process reward model (a tiny token-classification twin, entry in
$RB_HOME/models.yaml) on PRMBench's shipped sample rows, through Dagster and the warehouse: it scores
the step-level benchmarks only, prints PRMScore per category, overall and group, and says in one line
that ProcessBench needs the Hub; `report` and `push --dry-run` then carry its PRMScores (issue 27 item 5)."""

from __future__ import annotations

import json
import os
import re

import datasets
import yaml
from dagster import AssetKey, DagsterInstance

from rb_pipeline.catalog.entries import SAMPLES_DIR
from rb_pipeline.models.tiny_models import build_tiny_prm
from tests.cli.test_cli import run_cli


def test_score_a_prm_prints_prmbench_scores(tmp_path):
    home = tmp_path / "home"
    texts = [
        step
        for path in sorted((SAMPLES_DIR / "prmbench").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        for step in json.loads(line)["modified_process"]
    ]
    build_tiny_prm(home / "models" / "tiny-prm", "token-classification", texts=texts, seed=0)
    entry = {
        "id": "tiny-prm-twin",
        "source": "$RB_HOME/models/tiny-prm",
        "type": "prm",
        "dtype": "float32",
        "prm": {"head": "token-classification", "step_tag": "<extra_0>"},
    }
    (home / "models.yaml").write_text(yaml.safe_dump({"models": [entry]}))
    env = os.environ | {"RB_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"), "HF_HUB_OFFLINE": "1"}
    result = run_cli("score", "--model", "tiny-prm-twin", "--sample", env=env)
    out = result.stdout
    # ProcessBench is Hub-only: one line, and the run goes on with PRMBench
    assert "skipped processbench: no shipped sample (Hub only)" in out
    # the sample's 25 files x 2 rows + 6 clean items from its redundency rows: 56 solutions
    assert "tiny-prm-twin: 56 responses" in out
    for name in (
        "redundency",
        "multi_solutions",
        "correct",
        "overall",
        "simplicity",
        "soundness",
        "sensitivity",
    ):
        assert re.search(rf"^prmbench +(category|overall|group) +{name} +[0-9.]+ ", out, re.M), name
    runs = json.loads(run_cli("sql", "select benchmarks from runs", "--format", "json", env=env).stdout)
    assert runs == [{"benchmarks": ["prmbench"]}]  # never the preference benchmarks
    # one row per step of every solution; a step without a score only where max_length cut its tag
    check = (
        "select (select count(*) from prm_step_scores) as rows, (select count(*) from steps) as steps,"
        " count(*) filter (where s.score is null and r.truncated_tokens = 0) as unscored_uncut"
        " from prm_step_scores s join step_solutions so using (benchmark, example_id)"
        " join run_scores r on r.run_id = s.run_id and r.response_id = so.response_id"
    )
    (counts,) = json.loads(run_cli("sql", check, "--format", "json", env=env).stdout)
    assert counts["rows"] == counts["steps"] > 56 and counts["unscored_uncut"] == 0
    # the scores asset's metadata shows the PRM leaderboard row (on samples: the threshold and what is
    # missing, no score) and the per-category scores
    with DagsterInstance.from_config(str(home / "dagster")) as instance:
        event = instance.get_latest_materialization_event(AssetKey("scores"))
    metadata = event.asset_materialization.metadata
    (row,) = metadata["leaderboard_row"].value.records  # table metadata (issue 23)
    assert row.data["model"] == "tiny-prm-twin" and row.data["coverage"].startswith(
        "0/10 subsets in full; missing: "
    )
    categories = [
        (r.data["benchmark"], r.data["subset"], r.data["scope"]) for r in metadata["per_subset"].value.records
    ]
    assert ("prmbench", "multi_solutions", "category") in categories

    # the report and the Hub dataset treat the PRM like any other model: its page and a `prm_scores`
    # config with the PRMScores the warehouse computed, the report's index lists it on the PRM leaderboard
    wanted = json.loads(
        run_cli(
            "sql",
            "select scope, name, prmscore from prm_prmbench_scores order by all",
            "--format",
            "json",
            env=env,
        ).stdout
    )
    assert len(wanted) == 10 + 1 + 3  # the sample's 10 categories, the overall, 3 groups
    run_cli("report", "--out", str(tmp_path / "report"), env=env)
    page = (tmp_path / "report" / "models" / "tiny-prm-twin.html").read_text(encoding="utf-8")
    assert "Process reward scores" in page
    for row in wanted:
        # within one table row: the name's cell, then its PRMScore's cell
        assert re.search(rf"<td>{row['name']}</td>((?!</tr>).)*>{row['prmscore']:.4f}</td>", page, re.S), row
    assert 'href="models/tiny-prm-twin.html"' in (tmp_path / "report" / "index.html").read_text(
        encoding="utf-8"
    )
    run_cli(
        "push",
        "--model",
        "tiny-prm-twin",
        "--repo-id",
        "me/tiny-prm",
        "--dry-run",
        str(tmp_path / "hub"),
        env=env,
    )
    # only configs with rows: `datasets` cannot load an empty file, and a PRM has no sections and no
    # (preference) leaderboard row; its solutions' scores and step-level scores are there
    hub = sorted(p.name for p in (tmp_path / "hub").iterdir())
    assert hub == ["README.md", "metrics", "prm_scores", "report", "scores"]
    loaded = datasets.load_dataset(
        str(tmp_path / "hub"), "prm_scores", split="train", cache_dir=str(tmp_path / "cache")
    )
    pushed = loaded.select_columns(["scope", "name", "prmscore"]).to_list()
    assert sorted(pushed, key=lambda r: (r["scope"], r["name"])) == wanted
    assert (tmp_path / "hub" / "report" / "models" / "tiny-prm-twin.html").is_file()
    card = (tmp_path / "hub" / "README.md").read_text(encoding="utf-8")
    overall = next(r["prmscore"] for r in wanted if r["scope"] == "overall")
    assert re.search(rf"^\| prmbench \| overall \| overall \|.* {overall:.4f} \|", card, re.M)
