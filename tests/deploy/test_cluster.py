"""The multi-worker deployment for real, on loopback (deploy/local-cluster/): PostgreSQL as the Dagster
instance, Redis as the Celery broker, two dagster-celery workers, SeaweedFS as the S3 lake, the daemon
and the webserver, all started by deploy/local-cluster/start.sh (services installed by
scripts/install_services.sh). Runs go in through the webserver's GraphQL API, as from the UI.

One cluster for the module, in order: a backfill of three model partitions spread over both workers
(with SQL readers running throughout), a worker process killed -9 mid-step, Redis stopped mid-run,
and a SIGTERM stop of every process."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "deploy" / "local-cluster"
MIRROR = Path(os.environ.get("RB_MIRROR") or REPO.parent / "shared" / "data")
VENV_BIN = Path(sys.executable).parent


def missing_services() -> list[str]:
    """What scripts/install_services.sh installs for the cluster, where it is not here."""
    from importlib.util import find_spec

    found = {
        "redis-server": shutil.which("redis-server"),
        "PostgreSQL's initdb": list(Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        "SeaweedFS's weed": (VENV_BIN / "weed").exists(),
        "dagster-celery": find_spec("dagster_celery"),
        "dagster-postgres": find_spec("dagster_postgres"),
    }
    return [name for name, there in found.items() if not there]


# Slow: about 3 minutes alone on 2 idle cores, started first in CI so the other xdist worker runs the
# rest of the suite beside it. The kill test scores the full RM-Bench (4,721 responses: a step long
# enough to be killed after its first shard): needs the mirror. RB_CLUSTER_TESTS=0 leaves it out.
pytestmark = [
    pytest.mark.slow(minutes=3),
    pytest.mark.mirror,
    pytest.mark.skipif(
        os.environ.get("RB_CLUSTER_TESTS") == "0",
        reason="RB_CLUSTER_TESTS=0 leaves the local-cluster tests out",
    ),
    pytest.mark.skipif(
        bool(missing_services()),
        reason=f"scripts/install_services.sh did not install {', '.join(missing_services())}",
    ),
]
BACKFILL_MODELS = ["test-org/cluster-a", "test-org/cluster-b", "test-org/cluster-c"]
BIG_MODEL = "test-org/cluster-big"  # scores RM-Bench's 4,721 responses: long enough to be killed mid-step
# RM-Bench registered as a user's benchmark, its files by absolute path into the mirror: origin `local`
# whatever RB_SOURCE a process has (the cluster's processes inherit the tests' `sample`, under which the
# catalog's rm-bench would be its 48-row sample)
BIG_BENCHMARK = "cluster-rm-bench"
SAMPLE_BENCHMARKS = ["rmb-bon", "rewardbench"]  # shipped samples: 290 + 48 responses
SCORE_CONFIG = {"benchmarks": SAMPLE_BENCHMARKS, "max_length": 64}
RUN_TIMEOUT = 600  # a ceiling for each wait, never a pace (waits poll); the note gives measured times


def cluster_env(folder: Path) -> dict[str, str]:
    """The variables of DIR/cluster.env, as every process of the cluster sees them."""
    out = subprocess.run(
        ["bash", "-c", f". '{folder}/cluster.env' && env -0"], capture_output=True, text=True, check=True
    ).stdout
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


def cluster_script(
    name: str, folder: Path, *services: str, timeout: int = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(CLUSTER / name), str(folder), *services],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The cluster up, with the datasets in its S3 lake, four tiny models registered and partitioned."""
    folder = tmp_path_factory.mktemp("cluster")
    patch = pytest.MonkeyPatch()
    patch.setenv("RB_HOME", str(folder / "rb_home"))  # start.sh's cluster.env keeps it
    register_big_benchmark(folder / "rb_home")  # before any process of the cluster loads the catalog
    started = cluster_script("start.sh", folder)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        for name, value in cluster_env(folder).items():
            if name not in os.environ or os.environ[name] != value:
                patch.setenv(name, value)
        patch.delenv("RB_MIRROR", raising=False)
        patch.delenv("RB_EXECUTOR")  # this process runs in-process jobs; the cluster's processes use Celery

        from dagster import DagsterInstance

        from assets.launch import materialize_datasets
        from rb_pipeline.catalog.entries import ModelEntry, register_model
        from rb_pipeline.core.paths import encode_model_id, rb_home
        from rb_pipeline.models.tiny_models import build_tiny_classifier

        materialize_datasets(SAMPLE_BENCHMARKS)  # BIG_BENCHMARK: normalized by the scores run that needs it
        for seed, model_id in enumerate([*BACKFILL_MODELS, BIG_MODEL], start=1):
            path = build_tiny_classifier(
                rb_home() / "models" / f"m{seed}", texts=["tokenizer text"], seed=seed
            )
            register_model(ModelEntry(id=model_id, source=str(path), max_length=64))
        DagsterInstance.get().add_dynamic_partitions(
            "models", [encode_model_id(m) for m in [*BACKFILL_MODELS, BIG_MODEL]]
        )
        yield folder
    finally:
        cluster_script("stop.sh", folder)  # no-op where the last test stopped it
        patch.undo()


def register_big_benchmark(home: Path) -> None:
    """BIG_BENCHMARK: the catalog's rm-bench under another name and columns, its files in the mirror."""
    entry = yaml.safe_load((REPO / "catalog" / "benchmarks" / "rm-bench.yaml").read_text())
    entry.pop("leaderboard_position", None)
    entry |= {"benchmark": BIG_BENCHMARK, "title": "RM-Bench (cluster test)"}
    entry["overall"] = {"name": BIG_BENCHMARK, "column": "cluster_rm_bench"}
    for section in entry["sections"].values():
        section["column"] = f"cluster_{section['column']}"
    for source in entry["local"]:
        source["path"] = str(MIRROR / source["path"])
    folder = home / "catalog" / "benchmarks"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{BIG_BENCHMARK}.yaml").write_text(yaml.safe_dump(entry, sort_keys=False))


# --- talking to the cluster --------------------------------------------------------------------------


def graphql(query: str, variables: dict) -> dict:
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=int(os.environ["RB_WEBSERVER_PORT"]))
    return client._execute(query, variables)


def run_config(score_config: dict) -> dict:
    """The cluster's score_model run config (deploy/celery/run_config.yaml on its Redis) for these settings."""
    config = yaml.safe_load(Path(os.environ["RB_RUN_CONFIG"]).read_text())
    config["ops"]["scores"]["config"] = score_config
    return config


def launch_backfill(models: list[str], score_config: dict) -> str:
    """A Dagster backfill of `score_model` over these model partitions, as the UI launches one."""
    from rb_pipeline.core.paths import encode_model_id

    mutation = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
        __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
    params = {
        "selector": {
            "partitionSetName": "score_model_partition_set",
            "repositorySelector": {
                "repositoryLocationName": "rb_pipeline",
                "repositoryName": "__repository__",
            },
        },
        "partitionNames": [encode_model_id(m) for m in models],
        "runConfigData": run_config(score_config),
    }
    answer = graphql(mutation, {"params": params})["launchPartitionBackfill"]
    assert answer["__typename"] == "LaunchBackfillSuccess", answer
    return answer["backfillId"]


def launch_run(model: str, score_config: dict) -> str:
    """One queued `score_model` run of a model partition, as the UI's launchpad launches one; its run id.
    (A failed run of a backfill is not retried once the backfill has ended, and a one-run backfill can
    end on its run's failure before the retry daemon looks: the fault tests launch runs.)"""
    from dagster_graphql import DagsterGraphQLClient

    from rb_pipeline.core.paths import encode_model_id

    client = DagsterGraphQLClient("127.0.0.1", port_number=int(os.environ["RB_WEBSERVER_PORT"]))
    return client.submit_job_execution(
        "score_model",
        repository_location_name="rb_pipeline",
        repository_name="__repository__",
        run_config=run_config(score_config),
        tags={"dagster/partition": encode_model_id(model)},
    )


def runs_with(tags: dict[str, str]) -> list:
    from dagster import DagsterInstance, RunsFilter

    return DagsterInstance.get().get_runs(filters=RunsFilter(tags=tags))


def runs_in_flight() -> list:
    """The runs queued, launching or running on the cluster."""
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    statuses = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED")
    busy = [DagsterRunStatus[status] for status in statuses]
    return DagsterInstance.get().get_runs(filters=RunsFilter(statuses=busy))


def wait_until(what: str, condition, timeout: float = RUN_TIMEOUT, every: float = 1.0):
    deadline = time.time() + timeout
    while not (value := condition()):
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(every)
    return value


def run_events(run_id: str, event_type: str) -> list:
    """The run's event log entries of one Dagster event type (e.g. "ENGINE_EVENT")."""
    from dagster import DagsterInstance

    return [
        event
        for event in DagsterInstance.get().all_logs(run_id)
        if event.dagster_event and event.dagster_event.event_type_value == event_type
    ]


def celery_worker_of(run_id: str) -> str | None:
    """The Celery worker (`workerN@host`) that took the run's scores step, from its Dagster events."""
    for event in run_events(run_id, "ENGINE_EVENT"):
        data = event.dagster_event.engine_event_data
        if "Celery worker" in (data.metadata or {}):
            return data.metadata["Celery worker"].value
    return None


def materialized_by(run_id: str) -> bool:
    """Whether the run's events hold a materialization (its step succeeded)."""
    return bool(run_events(run_id, "ASSET_MATERIALIZATION"))


def run_failure(run_id: str) -> str:
    """The error a failed run ended with (its RUN_FAILURE event's error, in full)."""
    for event in run_events(run_id, "PIPELINE_FAILURE"):
        error = event.dagster_event.event_specific_data.error
        return (event.message or "") + "\n" + (error.to_string() if error else "")
    return ""


def lake_runs(model_id: str) -> pl.DataFrame:
    from rb_pipeline.core.paths import lake_dir
    from rb_pipeline.core.storage import read_parquet

    frames = [read_parquet(path) for path in lake_dir("runs").glob("*.parquet")]
    return pl.concat(frames, how="diagonal_relaxed").filter(pl.col("model") == model_id)


def leaderboard() -> pl.DataFrame:
    from rb_pipeline.warehouse.views import query

    board = query("select * from leaderboard order by model")
    return board.select([c for c in board.columns if board[c].null_count() < board.height])


READER_PAUSE = 4  # seconds between queries: each is a whole process, about 2 s of CPU on 2 cores
# warehouse rebuilds under the readers during the backfill: a few, not a CPU hog beside the runs
BACKFILL_REBUILDS = 3


def reader_loop(log: Path) -> subprocess.Popen:
    """A client that queries the warehouse with `rb-pipeline sql` over and over, one line per query."""
    sql = "select (select count(*) from leaderboard) as models, (select count(*) from scores) as scores"
    script = (
        f'while true; do "{VENV_BIN}/rb-pipeline" sql "{sql}" --format csv >out.$$ 2>&1; '
        f'echo "rc=$? $(tail -1 out.$$ | tr -d "\\n")"; sleep {READER_PAUSE}; done'
    )
    return subprocess.Popen(
        ["bash", "-c", script], cwd=log.parent, stdout=log.open("w"), start_new_session=True
    )


# --- the tests ---------------------------------------------------------------------------------------


def test_backfill_spreads_over_both_workers_and_matches_a_single_process_run(cluster, tmp_path):
    """Three model partitions, two workers: both take steps; every score lands once in the S3 lake; SQL
    readers running throughout never fail; the leaderboard equals one process scoring the same models."""
    from assets.launch import materialize_warehouse
    from rb_pipeline.core.paths import encode_model_id, lake_dir
    from rb_pipeline.warehouse.views import query

    materialize_warehouse()  # the readers' first warehouse (no scores yet)
    readers = []
    for i in range(3):
        (tmp_path / f"reader-{i}").mkdir()
        readers.append(reader_loop(tmp_path / f"reader-{i}" / "log"))
    start = time.time()
    backfill = launch_backfill(BACKFILL_MODELS, SCORE_CONFIG)
    try:
        materialize_warehouse()  # rebuilt and renamed into place while readers read and runs write
        rebuilds = 1
        # meanwhile, the same models scored one after another in this process, on a local lake
        solo = _single_process_leaderboard(tmp_path / "solo")
        runs = wait_until(
            "three runs", lambda: len(r := runs_with({"dagster/backfill": backfill})) == 3 and r
        )
        ids = [run.run_id for run in runs]
        while not all(run.is_finished for run in runs_with({"dagster/backfill": backfill})):
            if rebuilds < BACKFILL_REBUILDS:
                materialize_warehouse()
                rebuilds += 1
            time.sleep(2)
            assert time.time() - start < RUN_TIMEOUT, "backfill did not finish"
        materialize_warehouse()
    finally:
        for reader in readers:  # SIGKILL: a shell started where SIGINT is ignored ignores SIGTERM too
            os.killpg(reader.pid, signal.SIGKILL)  # (Dagster maps SIGTERM to SIGINT's handler)
            reader.wait()
    from dagster import DagsterInstance, DagsterRunStatus

    instance = DagsterInstance.get()
    assert [instance.get_run_by_id(i).status for i in ids] == [DagsterRunStatus.SUCCESS] * 3
    wall = max(instance.get_run_record_by_id(i).end_time for i in ids) - start
    workers = {celery_worker_of(i) for i in ids}
    assert {w.split("@")[0] for w in workers} == {"worker1", "worker2"}, workers
    print(f"\nbackfill of 3 partitions on 2 workers: {wall:.1f}s (launch to last run finished)")
    assert rebuilds >= 1  # readers read through rebuilds of the warehouse during the backfill

    # Readers: every query answered (rc=0), from the first warehouse to the last.
    for i in range(3):
        lines = (tmp_path / f"reader-{i}" / "log").read_text().splitlines()
        answered = [line for line in lines if line.startswith("rc=")]
        assert len(answered) >= 2, lines
        assert all(line.startswith("rc=0 ") for line in answered[:-1]), [
            x for x in answered if "rc=0" not in x
        ]

    # Every score once: the scores of each model's latest run cover each response exactly once, in S3.
    keys = [str(p) for p in lake_dir("scores").glob("*/*/*.parquet")]
    assert keys and all(k.startswith("s3://") for k in keys)
    assert not list(Path(os.environ["RB_HOME"]).rglob("*.parquet")), "the lake must not be written locally"
    per_model = query(
        "select l.model, count(*) as rows, count(distinct s.response_id) as distinct_responses "
        "from (select distinct model, run_id from latest_runs) l join scores s using (run_id) "
        "group by l.model order by l.model"
    )
    # 290 rmb-bon + 48 rewardbench distinct responses per model, each once
    assert per_model.rows() == [(m, 338, 338) for m in BACKFILL_MODELS]
    for model_id in BACKFILL_MODELS:
        assert any(f"/model={encode_model_id(model_id)}/run=" in k for k in keys)
    cluster_board = leaderboard()

    # The same models in one process, local lake: the same leaderboard.
    assert cluster_board.columns == solo.columns
    assert cluster_board["model"].to_list() == solo["model"].to_list() == BACKFILL_MODELS
    for column in cluster_board.columns[1:]:
        assert cluster_board[column].to_list() == pytest.approx(solo[column].to_list(), abs=1e-9), column


def _single_process_leaderboard(home: Path) -> pl.DataFrame:
    """Score BACKFILL_MODELS one after another in this process (the library: no Dagster run, no Celery)
    with a local lake; the leaderboard of the warehouse built from it."""
    from assets.launch import materialize_datasets
    from rb_pipeline.catalog.entries import ModelEntry, load_benchmarks, register_model
    from rb_pipeline.core.paths import rb_home
    from rb_pipeline.core.settings import settings_for
    from rb_pipeline.engine.evaluation import evaluate
    from rb_pipeline.warehouse.views import build_warehouse

    models = rb_home() / "models"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("RB_LAKE")
        patch.setenv("RB_HOME", str(home))
        patch.setenv("DAGSTER_HOME", str(home / "dagster"))
        materialize_datasets(SAMPLE_BENCHMARKS)
        catalog = load_benchmarks()
        chosen = {name: catalog[name] for name in SAMPLE_BENCHMARKS}
        for seed, model_id in enumerate(BACKFILL_MODELS, start=1):
            entry = ModelEntry(id=model_id, source=str(models / f"m{seed}"), max_length=64)
            register_model(entry)
            evaluate(entry, chosen, settings_for(entry), "cpu", log=lambda _: None)
        build_warehouse(catalog)
        return leaderboard()


def worker_processes(folder: Path, worker: str) -> tuple[int, list[int]]:
    """(Celery's main process, its pool processes) of a worker started as `worker`."""
    wrapper = int((folder / "pids" / worker).read_text())  # `dagster-celery worker start`, which runs celery

    def children(pid: int) -> list[int]:
        found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        return [int(p) for p in found]

    (main,) = children(wrapper)
    return main, children(main)


def test_worker_killed_mid_step_is_retried_on_the_other_worker(cluster):
    """kill -9 of the worker process scoring a model, once its first shard is in the S3 lake: Celery reports
    the lost worker, the run fails, the daemon retries it (run_retries), the other worker finishes it
    (the broken one taken out), reusing every published score; no score row is lost or doubled."""
    from dagster import DagsterInstance, DagsterRunStatus

    from assets.launch import materialize_warehouse
    from rb_pipeline.core.paths import encode_model_id, lake_dir
    from rb_pipeline.core.storage import read_parquet
    from rb_pipeline.warehouse.views import query

    config = {"benchmarks": [BIG_BENCHMARK], "max_length": 128}
    start, timeline = time.time(), {}
    run_id = launch_run(BIG_MODEL, config)
    worker = wait_until("a worker to take the step", lambda: celery_worker_of(run_id))
    worker = worker.split("@")[0]
    timeline[f"step on {worker}"] = time.time() - start
    model_dir = lake_dir("scores", f"model={encode_model_id(BIG_MODEL)}")
    # the first shard (2,048 rows, or what 30 s scored) published in the S3 lake: the step is mid-way
    first_shard = wait_until(
        "the first shard", lambda: list(model_dir.glob("run=*/part-00000-*.parquet")), every=0.2
    )
    _, (pool_process,) = worker_processes(cluster, worker)
    os.kill(pool_process, signal.SIGKILL)
    killed_at = time.time()
    timeline["first shard seen, kill -9"] = killed_at - start
    first_rows = read_parquet(first_shard[0]).height

    instance = DagsterInstance.get()
    failed = wait_until("the run to fail", lambda: (r := instance.get_run_by_id(run_id)).is_finished and r)
    timeline["run failed"] = time.time() - start
    assert failed.status == DagsterRunStatus.FAILURE
    failure = run_failure(failed.run_id)
    assert "WorkerLostError: Worker exited prematurely: signal 9 (SIGKILL)" in failure, failure
    # The broken machine is taken out (its Celery parent would take the retry otherwise): the retry must
    # finish on the other worker. It comes back afterwards, in the background (the SIGTERM test waits).
    taken_out = cluster_script("stop.sh", cluster, worker)
    assert taken_out.returncode == 0, taken_out.stderr
    retry = wait_until("the retry", lambda: runs_with({"dagster/parent_run_id": failed.run_id}))[0]
    timeline["retry queued"] = time.time() - start
    retry = wait_until(
        "the retry to finish", lambda: (r := instance.get_run_by_id(retry.run_id)).is_finished and r
    )
    timeline["retry finished"] = time.time() - start
    assert retry.status == DagsterRunStatus.SUCCESS
    other = celery_worker_of(retry.run_id).split("@")[0]
    assert other != worker, f"the retry ran on {other}, the worker whose process was killed"
    print(
        f"\nkill -9 of {worker}'s pool process after {first_rows} scores were published; the retry "
        f"finished on {other}; seconds from launch: "
        + ", ".join(f"{what} {at:.0f}" for what, at in timeline.items())
    )
    RESTARTED[worker] = subprocess.Popen(
        ["bash", str(CLUSTER / "start.sh"), str(cluster), worker],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    materialize_warehouse()
    runs = lake_runs(BIG_MODEL).sort("started_at")
    dead, done = runs.row(0, named=True), runs.row(-1, named=True)
    # the dead run never counts: left `running`, or marked failed by the retry (its process is gone)
    assert dead["status"] in ("running", "failed") and done["status"] == "complete"
    assert str(first_shard[0]).split("run=")[1].startswith(dead["run_id"])
    published = query(f"select count(*) from stored_scores where run_id = '{dead['run_id']}'").item()
    assert published >= first_rows > 0
    assert done["n_reused"] == published  # nothing the dead run published is scored again
    assert done["n_scored"] + done["n_reused"] == done["n_responses"] == 4721  # distinct RM-Bench responses
    # every score stored once over both runs (the retry stored only what the dead run had not)
    stored = query(
        "select count(*), count(distinct response_id) from stored_scores"
        f" where run_id in ('{dead['run_id']}', '{done['run_id']}')"
    ).row(0)
    assert stored == (4721, 4721)
    rows, distinct, from_dead = query(
        f"select count(*), count(distinct response_id), count(*) filter (where scored_in_run = '{dead['run_id']}')"
        f" from scores where run_id = '{done['run_id']}'"
    ).row(0)
    assert rows == distinct == 4721  # every response once in the run the views read: none lost, none doubled
    assert from_dead == published  # the dead run's scores, read where it published them


RESTARTED: dict[str, subprocess.Popen] = {}  # workers start.sh is bringing back after the kill test


def test_redis_stopped_mid_run_then_relaunch_completes(cluster):
    """Redis (broker and results) stopped for a few seconds while a step runs: the run either waits it out
    or fails with one clear error line, and a re-launch (the daemon's run retry) completes it."""
    from dagster import DagsterInstance, DagsterRunStatus

    config = SCORE_CONFIG | {"max_length": 48}  # new settings: this run scores again
    run_id = launch_run(BACKFILL_MODELS[0], config)
    wait_until("the step submitted", lambda: celery_worker_of(run_id))
    stopped = cluster_script("stop.sh", cluster, "redis")
    assert stopped.returncode == 0, stopped.stderr
    time.sleep(5)  # the outage itself (a fixed length on purpose), not a wait for anything
    restarted = cluster_script("start.sh", cluster, "redis")
    assert restarted.returncode == 0, restarted.stderr

    instance = DagsterInstance.get()
    final = wait_until("the run", lambda: (x := instance.get_run_by_id(run_id)).is_finished and x)
    if final.status == DagsterRunStatus.SUCCESS:
        outcome = "waited it out"
    else:
        failure = run_failure(final.run_id)
        line = next(x for x in failure.splitlines() if "ConnectionError" in x)  # the one clear line
        assert "Connection refused" in line or "Connection closed" in line, failure
        # the re-launch: the daemon's run retry (run_retries), from the failed step; or none, where the step
        # went on in its Celery worker and materialized the scores after the run was marked failed (seen
        # once: the retry from the failure then finds no step left to run)
        retried = wait_until(
            "the retry, or the step finishing after the run failed",
            lambda: runs_with({"dagster/parent_run_id": final.run_id}) or materialized_by(final.run_id),
        )
        if retried is True:
            outcome = f"failed ({line.strip()[:120]}), yet its step went on and materialized the scores"
        else:
            retry = wait_until(
                "it to finish", lambda: (x := instance.get_run_by_id(retried[0].run_id)).is_finished and x
            )
            assert retry.status == DagsterRunStatus.SUCCESS
            outcome = f"failed ({line.strip()[:120]}), completed by the daemon's retry"
    print(f"\nRedis stopped 5 s mid-run: {outcome}")


def test_sigterm_stops_every_process(cluster):
    """stop.sh sends SIGTERM to each service's process group: all exit in time, none needs SIGKILL."""
    for worker, starting in RESTARTED.items():  # the killed worker is back first: stopped with the rest
        output, _ = starting.communicate(timeout=RUN_TIMEOUT)
        assert starting.returncode == 0, f"{worker} did not come back: {output}"
    groups = {
        path.name: int(path.read_text()) for path in (cluster / "pids").iterdir() if path.name != "postgres"
    }
    assert {"worker1", "worker2", "daemon", "webserver", "redis", "s3"} <= set(groups)
    # the cluster at rest first: a run the daemon is launching (the warehouse following the retried scores
    # run) would be cut off mid-launch and log a traceback that is not stop.sh's doing
    wait_until("no run in flight", lambda: not runs_in_flight())
    start = time.time()
    stopped = cluster_script("stop.sh", cluster)
    assert stopped.returncode == 0, stopped.stderr  # stop.sh exits 1 naming any group it had to SIGKILL
    for pgid in groups.values():
        with pytest.raises(ProcessLookupError):
            os.killpg(pgid, 0)  # nothing of the group is left
    print(f"\nSIGTERM stop of {sorted(groups)} and postgres: {time.time() - start:.1f}s")
    assert "Traceback" not in (cluster / "logs" / "daemon.log").read_text()[-5000:]
