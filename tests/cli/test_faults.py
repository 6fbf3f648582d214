"""Faults: forged lake files, stop signals, kill -9 under a pool limit, leftovers of a killed build."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.lake import SET_ASIDE_SUFFIX, dataset_path, lake_dir, scores_dir, write_parquet
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.engine.scoring import score_model
from tests.hand_made import hand_made_frames

REPO = Path(__file__).resolve().parents[2]
# `rb-pipeline score` (the real CLI `main`) with a classifier slowed to a sleep per batch, logging the
# responses it scores to $SCORED_LOG.
SLOW_CLI = """
import os, sys, time
from rb_pipeline.models.classifier import ClassifierScorer
real = ClassifierScorer.score
def slow(self, batch):  # logs a batch once scored, so a signal after N logged ids finds N scored
    time.sleep(float(os.environ["SLEEP_PER_BATCH"]))
    scores = real(self, batch)
    with open(os.environ["SCORED_LOG"], "a") as log:
        log.write("".join(item.response_id + "\\n" for item in batch))
    return scores
ClassifierScorer.score = slow
from rb_pipeline.cli import main
sys.exit(main(sys.argv[1:]))
"""


def silent(_: str) -> None:
    pass


@dataclass
class ScoredInShards:
    """The hand-made benchmark `hm`, written to the lake and scored once into three shard files."""

    entry: ModelEntry
    settings: ScorerSettings
    examples: pl.DataFrame
    responses: pl.DataFrame
    shards: list[Path]


@pytest.fixture
def scored_in_shards(rb_home, tiny_classifier) -> ScoredInShards:
    examples, responses = hand_made_frames()
    for table, frame in (("examples", examples), ("responses", responses)):
        write_parquet(frame, dataset_path(table, "hm"))
    entry = ModelEntry(id="test/tiny", source=str(tiny_classifier))
    settings = ScorerSettings(max_length=256, batch_size=2)
    run = score_model(entry, responses, examples, settings, ["hm"], device="cpu", shard_rows=8, log=silent)
    shards = sorted(scores_dir(entry.id, run.run_id).glob("*.parquet"))
    assert len(shards) == 3  # 22 responses in shards of 8, 8 and 6
    return ScoredInShards(entry, settings, examples, responses, shards)


def test_forged_scores_are_not_reused(scored_in_shards: ScoredInShards):
    """Overwrite a published shard with forged scores: the next run refuses it (one line), sets it aside
    and scores its responses again; no view ever reads the forged numbers."""
    entry, settings, shards = scored_in_shards.entry, scored_in_shards.settings, scored_in_shards.shards
    examples, responses = scored_in_shards.examples, scored_in_shards.responses
    honest = pl.read_parquet(shards).select("response_id", "score").sort("response_id")
    forged = pl.read_parquet(shards[0]).with_columns(score=pl.lit(1000.0))
    forged.write_parquet(shards[0])  # as a `COPY ... TO` over the file would

    lines: list[str] = []
    second = score_model(entry, responses, examples, settings, ["hm"], device="cpu", log=lines.append)
    refusals = [line for line in lines if "not reusing" in line]
    assert len(refusals) == 1 and shards[0].name in refusals[0]
    assert (second.n_scored, second.n_reused) == (8, 14)  # the forged file's 8 again, the other 14 reused
    assert not shards[0].exists() and shards[0].with_name(shards[0].name + SET_ASIDE_SUFFIX).exists()
    stored = pl.read_parquet(list(scores_dir(entry.id).glob("run=*/*.parquet")))
    assert stored.height == stored["response_id"].n_unique() == 22 and stored["score"].max() < 1000
    rescored = stored.select("response_id", "score").sort("response_id")
    assert rescored["score"].to_list() == pytest.approx(honest["score"].to_list(), abs=1e-5)

    from rb_pipeline.warehouse.views import in_memory

    with in_memory({}) as con:
        # each run reads one score per response, none forged; `scores` is one per (model, response)
        per_run = con.sql(
            "select run_id, count(*), count(distinct response_id), max(score) from run_scores group by 1 order by 1"
        ).fetchall()
        assert [row[1:3] for row in per_run] == [(22, 22), (22, 22)] and max(row[3] for row in per_run) < 1000
        assert con.sql("select count(*), count(distinct response_id) from scores").fetchall() == [(22, 22)]
        assert con.sql(
            "select count(*) from scores where run_id = $1", params=[second.run_id]
        ).fetchall() == [(22,)]


def cli_env(rb_home: Path, log: Path, sleep: float) -> dict:
    return os.environ | {
        "SCORED_LOG": str(log),
        "SLEEP_PER_BATCH": str(sleep),
        "OMP_NUM_THREADS": "1",
        "RB_HOME": str(rb_home),
        "DAGSTER_HOME": str(rb_home / "dagster"),
    }


SCORE_ARGS = [
    "score",
    "--model",
    "test/tiny",
    "--benchmark",
    "rmb-bon",
    "--max-length",
    "64",
    "--batch-size",
    "2",
]


def start_slow_score(rb_home: Path, log: Path, sleep: float = 0.3) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SLOW_CLI, *SCORE_ARGS],
        cwd=REPO,
        env=cli_env(rb_home, log, sleep),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_scored(process: subprocess.Popen, log: Path, rows: int) -> None:
    deadline = time.time() + 240
    while not log.exists() or len(log.read_text().split()) < rows:
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.time() < deadline, "scoring never started"
        time.sleep(0.1)


def lake_runs() -> dict[str, str]:
    return dict(pl.read_parquet(lake_dir("runs")).select("run_id", "status").iter_rows())


@pytest.fixture
def registered_tiny(rb_home, tiny_classifier) -> ModelEntry:
    from rb_pipeline.catalog.entries import register_model

    entry = ModelEntry(id="test/tiny", source=str(tiny_classifier), max_length=64)
    register_model(entry)
    return entry


def test_sigterm_and_ctrl_c_stop_cleanly_and_the_next_run_resumes(rb_home, registered_tiny, tmp_path):
    from dagster import DagsterInstance, DagsterRunStatus

    stored_before = 0
    for number, code in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
        log = tmp_path / f"scored-{number}.txt"
        process = start_slow_score(rb_home, log)
        wait_for_scored(process, log, 10)
        process.send_signal(number)
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == code, stderr[-3000:]
        assert "Traceback" not in stderr and "Stack Trace" not in stderr
        stopped, log = stderr.strip().splitlines()[-2:]  # the one line, then where the full log is
        assert stopped.startswith(f"rb-pipeline: stopped by {signal.Signals(number).name};"), stderr[-3000:]
        assert log.startswith("rb-pipeline: log: "), stderr[-3000:]
        statuses = [status for status in lake_runs().values() if status != "complete"]
        assert statuses == ["interrupted"] * len(statuses)
        # what was scored before the signal was flushed on the way out: at least the 10 waited for
        stored = pl.read_parquet(list(scores_dir("test/tiny").glob("run=*/*.parquet")))
        assert stored.height - stored_before >= 10 and stored["response_id"].is_unique().all()
        stored_before = stored.height
    runs = DagsterInstance.get().get_runs()
    assert [run.status for run in runs if run.job_name == "score_model"] == [DagsterRunStatus.FAILURE] * 2

    log = tmp_path / "scored-last.txt"
    done = subprocess.run(
        [sys.executable, "-c", SLOW_CLI, *SCORE_ARGS],
        cwd=REPO,
        env=cli_env(rb_home, log, 0.0),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    complete = pl.read_parquet(lake_dir("runs")).filter(pl.col("status") == "complete")
    assert complete["n_reused"].to_list() == [stored_before]  # resumed: nothing scored twice
    assert complete["n_scored"][0] + stored_before == complete["n_responses"][0] == 290


def test_sigterm_still_stops_a_command_after_a_dagster_run_where_sigint_is_ignored(rb_home) -> None:
    """A command started as a background job of a script inherits SIGINT ignored. Dagster puts SIGINT's
    handler back after an in-process run and copies it to SIGTERM: SIGTERM was then ignored for the rest
    of the command (`assets.launch.run_job` puts SIGTERM's own handler back)."""
    from assets.launch import materialize_warehouse

    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # as cli.stop_signals installs it
    try:
        materialize_warehouse()  # an in-process run (of the empty lake)
        assert signal.getsignal(signal.SIGTERM) is signal.default_int_handler
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # honoured, as the shell set it
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def test_kill_9_under_a_pool_limit_of_one_frees_the_slot(rb_home, registered_tiny, tmp_path):
    """kill -9 while scoring with the `scoring` pool limited to 1: the next run finds the dead run,
    marks it failed (Dagster's run and the lake's), frees its slot, and completes."""
    from dagster import DagsterInstance, DagsterRunStatus

    config = rb_home / "dagster" / "dagster.yaml"
    config.write_text(config.read_text() + "concurrency:\n  pools:\n    default_limit: 1\n")
    log = tmp_path / "scored.txt"
    process = start_slow_score(rb_home, log)
    wait_for_scored(process, log, 4)
    process.send_signal(signal.SIGKILL)
    process.wait()
    instance = DagsterInstance.get()
    (dead,) = [run for run in instance.get_runs() if run.job_name == "score_model"]
    assert dead.status == DagsterRunStatus.STARTED
    assert instance.event_log_storage.get_concurrency_info("scoring").claimed_slots  # held by the dead run
    assert list(lake_runs().values()) == ["running"]

    done = subprocess.run(
        [sys.executable, "-c", SLOW_CLI, *SCORE_ARGS],
        cwd=REPO,
        env=cli_env(rb_home, tmp_path / "scored-next.txt", 0.0),
        capture_output=True,
        text=True,
        timeout=300,  # without the reaping, it waits for the dead run's slot forever
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
    assert not instance.event_log_storage.get_concurrency_info("scoring").claimed_slots
    assert sorted(lake_runs().values()) == ["complete", "failed"]


def test_a_build_killed_midway_leaves_nothing_behind_after_the_next(rb_home):
    from rb_pipeline.core.paths import warehouse_path
    from rb_pipeline.warehouse.views import build_warehouse

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(gone.stdout)  # a process that has exited: its build files are leftovers
    path = warehouse_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    leftovers = [
        path.with_name(f".{path.name}.{dead_pid}.tmp"),
        path.with_name(f".{path.name}.{dead_pid}.tmp.wal"),
    ]
    in_progress = path.with_name(f".{path.name}.{os.getppid()}.tmp")  # a live process's build
    for file in [*leftovers, in_progress]:
        file.write_bytes(b"half a database")
    build_warehouse({})
    assert path.exists() and not any(file.exists() for file in leftovers)
    assert in_progress.exists()


def test_an_error_whose_first_line_is_a_heading_keeps_what_it_names() -> None:
    """Dagster's blocking-check failure is a heading ending in ':' and the check on the next line."""
    import argparse

    from rb_pipeline.cli import one_line

    error = RuntimeError("1 blocking asset check failed with ERROR severity:\nexamples_quality: 1 row x\n")
    assert one_line(error, argparse.Namespace()) == (
        "1 blocking asset check failed with ERROR severity: examples_quality: 1 row x"
    )
    assert one_line(RuntimeError("a: b\nsecond"), argparse.Namespace()) == "a: b"


def test_an_empty_model_name_is_refused_and_registers_nothing(rb_home, capsys) -> None:
    """`--model ""` was the current folder: it was scored and registered."""
    from rb_pipeline.cli import main

    assert main(["score", "--model", "", "--sample"]) == 2
    error = capsys.readouterr().err.splitlines()[0]
    assert error == (
        "rb-pipeline: error: --model is empty: give a registered id, a model folder or a Hub id ORG/NAME"
    )
    assert not (rb_home / "models.yaml").exists()


@pytest.fixture
def full_disk(tmp_path: Path):
    """A 4 MiB tmpfs filled to the last block (a real full disk: every write fails with ENOSPC);
    skipped where mounting is not permitted (not root, a container without CAP_SYS_ADMIN)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
    ).returncode:
        pytest.skip("mounting a small tmpfs is not permitted here")
    try:
        home = mount / "rb_home"
        (home / "dagster").mkdir(parents=True)
        (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        filler = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        with pytest.raises(OSError, match="No space left"):
            while True:
                os.write(filler, b"\0" * 4096)
        os.close(filler)
        yield home
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_early_in_score_prints_one_line_and_a_log(
    full_disk: Path, tiny_classifier, tmp_path
) -> None:
    """It used to exit 1 with nothing on stdout or stderr (the log could not be written, and the
    failed flush left stderr pointing at it)."""
    scratch = tmp_path / "scratch"  # the temporary folder, on a disk with room: the log goes there
    scratch.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "rb_pipeline.cli", "score", "--model", str(tiny_classifier), "--sample"],
        cwd=REPO,
        env=os.environ
        | {"RB_HOME": str(full_disk), "DAGSTER_HOME": str(full_disk / "dagster"), "TMPDIR": str(scratch)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    error, log = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr
    assert error.startswith("rb-pipeline: error: no space left on the disk of ") and error.endswith(
        ": free some space and run the command again"
    )
    assert log.startswith(f"rb-pipeline: log: {scratch}/") and log.endswith("-score.log")
    assert "No space left on device" in Path(log.removeprefix("rb-pipeline: log: ")).read_text()


def flip_bytes(path: Path, at: int, count: int = 8) -> None:
    """Invert `count` bytes in place (size kept), as a bad disk or a stray write would."""
    data = bytearray(path.read_bytes())
    data[at : at + count] = bytes(b ^ 0xFF for b in data[at : at + count])
    path.write_bytes(bytes(data))


def test_a_corrupted_score_shard_is_refused_by_sql_and_push_set_aside_by_the_warehouse_and_rescored(
    scored_in_shards: ScoredInShards, tmp_path, capsys
) -> None:
    """8 bytes flipped in a lake shard were served by `sql`, published by `push --dry-run` and kept by
    `warehouse --rebuild` (only the next `score` checked the hash in the file's name)."""
    from rb_pipeline.cli import main
    from rb_pipeline.warehouse.update import update_warehouse

    entry, settings, shards = scored_in_shards.entry, scored_in_shards.settings, scored_in_shards.shards
    examples, responses = scored_in_shards.examples, scored_in_shards.responses
    update_warehouse({})  # built from the honest files (and checked them)
    flip_bytes(shards[0], at=shards[0].stat().st_size // 2)
    refusal = f"{shards[0]}: content hash differs from the one recorded when it was written"
    capsys.readouterr()  # the scoring's progress bars

    for argv in (
        ["sql", "select count(*) from stored_scores"],
        ["push", "--model", entry.id, "--repo-id", "org/scores", "--dry-run", str(tmp_path / "out")],
    ):
        assert main(argv) == 2
        out, err = capsys.readouterr()
        error, log = err.splitlines()
        assert out == "" and error.startswith(f"rb-pipeline: error: {refusal}: run `rb-pipeline warehouse`")
    assert not (tmp_path / "out").exists()

    assert main(["warehouse", "--rebuild"]) == 0
    moved = shards[0].with_name(shards[0].name + SET_ASIDE_SUFFIX)
    out = capsys.readouterr().out.splitlines()
    assert (
        out[-1] == f"{moved}: set aside: its content hash differs from the one recorded when it was written"
    )
    assert not shards[0].exists() and moved.exists()
    assert main(["sql", "select count(*) as n from stored_scores", "--format", "csv"]) == 0
    assert capsys.readouterr().out == "n\n14\n"  # 22 - the 8 of the set-aside shard

    again = score_model(entry, responses, examples, settings, ["hm"], device="cpu", log=silent)
    assert (again.n_scored, again.n_reused) == (8, 14)  # the set-aside file's 8 scored again


def test_a_quoted_accuracy_is_imported(rb_home, tmp_path) -> None:
    """A metrics file writing its accuracies as strings ("0.75") was dropped as "no result"."""
    import json

    from rb_pipeline.sources.results.importer import import_path

    path = tmp_path / "quoted.json"
    path.write_text(json.dumps({"model": "org/quoted", "alpacaeval-easy": "0.75", "mt-bench-easy": 0.5}))
    (run,) = import_path(path, log=silent)
    metrics = pl.read_parquet(lake_dir("imported_metrics")).filter(pl.col("run_id") == run.run_id)
    # the quoted 0.75 is read as the number; a metrics file's counts are unknown (n NULL: "published metrics")
    assert sorted(metrics.select("subset", "n", "accuracy").iter_rows()) == [
        ("alpacaeval-easy", None, 0.75),
        ("mt-bench-easy", None, 0.5),
    ]


def test_an_import_under_a_local_models_id_says_where_it_shows(rb_home, tiny_classifier, tmp_path, capsys):
    """An import whose file claims a local model's id printed success while its run showed in no
    latest-run view (the local run stays the model's score: the reproduction diff compares the two
    under one id). It now says where it is listed, and `compare` reads it against the local run."""
    import json

    from rb_pipeline.cli import main

    examples, responses = hand_made_frames()  # 12 examples e0..e11, in RewardBench's alpacaeval-easy
    examples = examples.with_columns(benchmark=pl.lit("rewardbench"), subset=pl.lit("alpacaeval-easy"))
    responses = responses.with_columns(benchmark=pl.lit("rewardbench"))
    for table, frame in (("examples", examples), ("responses", responses)):
        write_parquet(frame, dataset_path(table, "rewardbench"))
    entry = ModelEntry(id="test/tiny", source=str(tiny_classifier))
    settings = ScorerSettings(max_length=256, batch_size=4)
    local = score_model(entry, responses, examples, settings, ["rewardbench"], device="cpu", log=silent)
    # the published file (hand-made): the even examples right, the odd ones wrong: 6/12 = 0.5
    published = tmp_path / "test-tiny.json"
    rows = [
        {"id": f"e{i}", "subset": "alpacaeval-easy", "scores_chosen": 1.0, "scores_rejected": 0.0}
        | ({"results": 1} if i % 2 == 0 else {"results": 0, "scores_chosen": -1.0})
        for i in range(12)
    ]
    published.write_text(json.dumps({"model": "test/tiny", **{k: [r[k] for r in rows] for k in rows[0]}}))
    capsys.readouterr()

    assert main(["import", str(published)]) == 0
    out = capsys.readouterr().out.splitlines()
    imported = out[0].split(" -> run ")[1].split(" ")[0]
    assert out[-1] == (
        f"test/tiny: its local run {local.run_id} stays the model's score (leaderboard, subset_accuracy);"
        f" imported run {imported} is listed in runs_history and subset_accuracy_history (provenance"
        f" 'imported'); compare them: rb-pipeline compare {imported} test/tiny"
    )
    sql = (
        "select run_id, provenance, is_latest, accuracy from subset_accuracy_history"
        " inner join runs_history using (model, run_id, benchmark, provenance)"
        " where model = 'test/tiny' order by provenance"
    )
    assert main(["sql", sql, "--format", "json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [(r["run_id"], r["provenance"], r["is_latest"]) for r in history] == [
        (local.run_id, "computed", True),
        (imported, "imported", False),
    ]
    assert history[1]["accuracy"] == 0.5  # 6 of 12, as the file says
    # the reproduction diff still pairs the two runs under the one id: all 12 examples decided by both
    assert main(["compare", imported, "test/tiny", "--format", "csv"]) == 0
    summary = capsys.readouterr().out.splitlines()
    assert summary[0].startswith("benchmark,subset,n_both,") and summary[1].startswith(
        "rewardbench,alpacaeval-easy,12,"
    )
