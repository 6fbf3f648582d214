"""The lake on object storage: `RB_LAKE=s3://...` against a real S3-compatible server (SeaweedFS's
`weed`, installed by scripts/install_services.sh and started here on loopback ports), plus the same
storage layer over a plain `file://` lake."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import polars as pl
import pytest

WEED = Path(sys.executable).parent / "weed"
BUCKET = "rb-lake"
KEY, SECRET = "rb-test-key", "rb-test-secret"  # only for this throw-away local server
MODEL = "test-org/tiny-s3"


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SeaweedFS master + volume + filer + S3 gateway on 127.0.0.1; yields its endpoint URL."""
    pytest.importorskip("s3fs", reason="the [scale] extra is not installed (scripts/install_services.sh)")
    if not WEED.exists():
        pytest.skip("SeaweedFS `weed` is not installed (scripts/install_services.sh)")
    root = tmp_path_factory.mktemp("seaweedfs")
    identities = {"identities": [{"name": "rb", "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
                                  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}  # fmt: skip
    (root / "s3.json").write_text(json.dumps(identities))
    (root / "data").mkdir()
    names = ["master", "master.port.grpc", "volume", "volume.port.grpc", "filer", "filer.port.grpc"]
    names += ["s3", "s3.port.grpc", "iam", "debug"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    command = [str(WEED), "server", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    command += ["-filer", "-s3", f"-s3.config={root / 's3.json'}", "-volume.max=4"]
    command += ["-master.volumeSizeLimitMB=64", "-master.telemetry=false"]
    command += ["-s3.port.iceberg=0", "-s3.port.lance=0"]  # extra listeners this test does not use
    command += [f"-{name}.port={ports[name]}" for name in ("master", "volume", "filer", "s3", "iam", "debug")]
    command += [f"-{name}={ports[name]}" for name in names if name.endswith(".grpc")]
    log = (root / "weed.log").open("w")
    server = subprocess.Popen(command, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    try:
        deadline = time.time() + 60
        while True:  # anonymous requests are refused once the gateway is up: any HTTP answer will do
            try:
                urllib.request.urlopen(endpoint, timeout=2)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise AssertionError((root / "weed.log").read_text()[-3000:]) from None
                time.sleep(0.3)
        import s3fs

        filesystem = s3fs.S3FileSystem(key=KEY, secret=SECRET, endpoint_url=endpoint)
        deadline = time.time() + 60
        while True:  # the gateway answers before the volume server takes writes
            try:
                filesystem.mkdir(BUCKET)
                filesystem.pipe_file(f"{BUCKET}/ready", b"ok")
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        yield endpoint
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        log.close()


@pytest.fixture
def s3_lake(s3_server: str, rb_home: Path, monkeypatch: pytest.MonkeyPatch, request) -> str:
    """`RB_LAKE` set to a fresh prefix of the bucket, credentials in the standard AWS variables."""
    for name, value in {
        "AWS_ENDPOINT_URL": s3_server,
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    uri = f"s3://{BUCKET}/{request.node.name}-{time.time_ns()}/lake"
    monkeypatch.setenv("RB_LAKE", uri)
    return uri


def bucket_keys(uri: str) -> list[str]:
    """Every key under an `s3://` prefix, listed afresh (credentials from the environment)."""
    import s3fs

    return s3fs.S3FileSystem(use_listings_cache=False).find(uri.removeprefix("s3://"))


def test_lake_writes_are_whole_objects_on_s3(s3_lake):
    from rb_pipeline.core.lake import dataset_path, read_dataset, write_parquet
    from rb_pipeline.core.paths import lake_dir

    frame = pl.DataFrame({"response_id": ["a", "b", "c"], "score": [0.5, -1.0, 2.0]})
    path = dataset_path("responses", "hand-made")
    assert str(path) == f"{s3_lake}/responses/benchmark=hand-made/part-0.parquet"
    write_parquet(frame, path)
    assert read_dataset("responses", "hand-made").equals(frame)
    write_parquet(frame.head(1), path)  # replaced whole
    assert read_dataset("responses", "hand-made").height == 1
    assert bucket_keys(s3_lake) == [str(path).removeprefix("s3://")]  # no temporary key, ever
    assert [p.name for p in lake_dir("responses").glob("*/*.parquet")] == ["part-0.parquet"]


def test_multipart_upload_is_invisible_until_complete(s3_lake):
    """What makes upload-whole atomic: the key does not exist while the parts are being sent."""
    import s3fs

    filesystem = s3fs.S3FileSystem(use_listings_cache=False)
    key = f"{s3_lake.removeprefix('s3://')}/scores/big.bin"
    part = os.urandom(5 * 2**20)  # S3's minimum part size
    with filesystem.open(key, "wb", block_size=5 * 2**20) as handle:
        handle.write(part + part[:1024])  # the first part is uploaded now
        assert handle.mpu is not None, "expected a multipart upload"
        assert not filesystem.exists(key)
    assert filesystem.size(key) == len(part) + 1024


def test_pipeline_and_warehouse_on_s3(s3_lake, rb_home):
    """Datasets, one model's scores (through Dagster) and the warehouse, with no Parquet on local disk."""
    from assets.launch import materialize_datasets, materialize_scores, materialize_warehouse
    from rb_pipeline.catalog.entries import ModelEntry, register_model
    from rb_pipeline.core.paths import lake_dir
    from rb_pipeline.core.storage import attach_lake
    from rb_pipeline.models.tiny_models import build_tiny_classifier
    from rb_pipeline.warehouse.views import connect, query

    path = build_tiny_classifier(rb_home / "models" / "tiny", texts=["tokenizer text"], seed=3)
    register_model(ModelEntry(id=MODEL, source=str(path), max_length=64))
    materialize_datasets(["rmb-bon"])
    materialize_scores(MODEL, {"benchmarks": ["rmb-bon"], "max_length": 64})
    materialize_warehouse()

    keys = bucket_keys(s3_lake)
    assert any("/scores/model=test-org--tiny-s3/run=" in key for key in keys)
    assert any("/responses/benchmark=rmb-bon/" in key for key in keys)
    assert not list(rb_home.rglob("*.parquet")), "the lake must not be written locally"
    runs = query("select model, status, n_scored from runs")
    assert runs.rows() == [(MODEL, "complete", 290)]
    assert query("select count(*) from scores").item() == 290
    leaderboard = query("select model, coverage from leaderboard")
    assert leaderboard["model"].to_list() == [MODEL]
    # shipped samples: the goal scores stay empty (not scored in full); their partial scores are there
    assert "rmb_helpfulness_bon: empty" in leaderboard["coverage"].item()
    assert query("select partial_score from section_scores")["partial_score"].is_not_null().all()
    with connect() as con:  # httpfs where installed at set-up, else fsspec: never a download here
        assert attach_lake(con, lake_dir()) in {"httpfs", "fsspec"}
        assert con.sql("select count(distinct response_id) from scores").fetchall() == [(290,)]


def test_rescoring_on_s3_reuses_scores(s3_lake, rb_home):
    from rb_pipeline.catalog.entries import ModelEntry
    from rb_pipeline.core.settings import ScorerSettings
    from rb_pipeline.engine.scoring import score_model
    from rb_pipeline.models.tiny_models import build_tiny_classifier

    path = build_tiny_classifier(rb_home / "models" / "tiny", texts=["tokenizer text"], seed=3)
    entry = ModelEntry(id=MODEL, source=str(path), max_length=64)
    prompt = [{"role": "user", "content": "hi"}]
    examples = pl.DataFrame({"benchmark": ["b"], "example_id": ["e"], "prompt": [prompt]})
    responses = pl.DataFrame({"benchmark": ["b", "b"], "example_id": ["e", "e"],
                              "response_id": ["r1", "r2"], "text": ["yes", "no"]})  # fmt: skip
    settings = ScorerSettings(max_length=64)
    first = score_model(entry, responses, examples, settings, ["b"], device="cpu", log=lambda _: None)
    again = score_model(entry, responses, examples, settings, ["b"], device="cpu", log=lambda _: None)
    assert (first.n_scored, again.n_reused) == (2, 2)


def test_file_uri_lake_uses_local_paths(tmp_path, rb_home, monkeypatch):
    """`RB_LAKE` may also be a folder or a `file://` URI: plain paths, temp-and-rename writes."""
    from rb_pipeline.core.lake import dataset_path, read_dataset, write_parquet
    from rb_pipeline.core.storage import attach_lake, is_remote

    monkeypatch.setenv("RB_LAKE", f"file://{tmp_path / 'shared-lake'}")
    path = dataset_path("examples", "hand-made")
    assert path == tmp_path / "shared-lake" / "examples" / "benchmark=hand-made" / "part-0.parquet"
    assert not is_remote(path)
    write_parquet(pl.DataFrame({"example_id": ["e1"]}), path)
    assert read_dataset("examples", "hand-made")["example_id"].to_list() == ["e1"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["part-0.parquet"]
    import duckdb

    with duckdb.connect() as con:
        assert attach_lake(con, path.parent) == "local"
    shutil.rmtree(tmp_path / "shared-lake")


def test_a_changed_endpoint_gets_its_own_file_system(monkeypatch):
    """fsspec caches file systems by their arguments: the lake passes the endpoint, so a process whose
    AWS_ENDPOINT_URL changes (another store) never keeps writing to the old one."""
    pytest.importorskip("s3fs", reason="the [scale] extra is not installed (scripts/install_services.sh)")
    from rb_pipeline.core.storage import lake_root

    monkeypatch.setenv("RB_LAKE", "s3://rb-lake/lake")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    first = lake_root(Path("unused")).fs
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2")
    second = lake_root(Path("unused")).fs
    assert first is not second
    assert first.endpoint_url == "http://127.0.0.1:1"
    assert second.endpoint_url == "http://127.0.0.1:2"
