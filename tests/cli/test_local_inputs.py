"""A user's own files and folders (`rb-pipeline score --dataset FILE --model FOLDER`): names unique by
construction, registrations that fail leave nothing behind, every rejected row is counted, and a
local model's revision is the hash of its files, so scores of other weights are never reused."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from dagster import Definitions

from assets.datasets import dataset_asset, dataset_key
from rb_pipeline.catalog.entries import (
    CatalogError,
    ModelEntry,
    load_benchmarks,
    load_models,
    local_revision,
    register_model,
    user_benchmarks_dir,
)
from rb_pipeline.cli import UserError, main, resolve_model
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.engine.scoring import score_model
from rb_pipeline.sources.datasets import dataset_benchmark, register_dataset
from tests.hand_made import hand_made_frames

PAIR = {"prompt": "What is 2+2?", "chosen": "4", "rejected": "5"}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def registered() -> dict[str, str]:
    """file name -> content of every user benchmark entry."""
    folder = user_benchmarks_dir()
    return {p.name: p.read_text() for p in folder.iterdir()} if folder.exists() else {}


# ---------------------------------------------------------------- dataset names


def test_a_file_named_like_a_catalog_benchmark_gets_its_own_name(rb_home: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "x" / "rewardbench.jsonl", [PAIR])
    name = register_dataset(path)
    assert re.fullmatch(r"rewardbench-[0-9a-f]{8}", name)
    catalog = load_benchmarks()  # the home still loads: no "defined twice"
    assert catalog["rewardbench"].source_file.endswith("catalog/benchmarks/rewardbench.yaml")
    assert (
        catalog[name].local[0].path == str(path)
        and catalog[name].title == "rewardbench.jsonl (local dataset)"
    )


def test_names_differing_in_punctuation_are_distinct_assets(rb_home: Path, tmp_path: Path) -> None:
    first = register_dataset(write_jsonl(tmp_path / "my-prefs.jsonl", [PAIR]))
    second = register_dataset(write_jsonl(tmp_path / "my_prefs.jsonl", [PAIR]))
    assert first != second
    assert first.startswith("my-prefs-") and second.startswith("my-prefs-")  # both named after the file
    catalog = load_benchmarks()
    assets = [dataset_asset(bench) for bench in catalog.values()]
    Definitions(assets=assets).resolve_all_job_defs()  # "Duplicate asset key" would raise here
    assert dataset_key(first) != dataset_key(second)
    assert len({key for a in assets for key in a.keys}) == len(catalog)


def test_same_file_name_in_two_folders_does_not_replace_the_first(rb_home: Path, tmp_path: Path) -> None:
    a = register_dataset(write_jsonl(tmp_path / "a" / "prefs.jsonl", [PAIR]))
    before = registered()
    b = register_dataset(write_jsonl(tmp_path / "b" / "prefs.jsonl", [PAIR, PAIR | {"prompt": "3+3?"}]))
    assert a != b
    assert {k: v for k, v in registered().items() if k == f"{a}.yaml"} == before  # a's entry untouched
    catalog = load_benchmarks()
    assert catalog[a].local[0].path == str(tmp_path / "a" / "prefs.jsonl")
    assert catalog[b].local[0].path == str(tmp_path / "b" / "prefs.jsonl")
    # the same file registered again keeps its name (its rows may have changed)
    assert register_dataset(tmp_path / "a" / "prefs.jsonl") == a
    assert dataset_benchmark(tmp_path / "a" / ".." / "a" / "prefs.jsonl").benchmark == a


def test_two_catalog_names_with_one_asset_key_are_refused(rb_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "catalog" / "benchmarks"
    folder.mkdir(parents=True)
    entry = "title: T\nkind: preference\nlocal: [{format: preference, path: /x.jsonl}]\n"
    (folder / "a.yaml").write_text("benchmark: my-prefs\n" + entry)
    (folder / "b.yaml").write_text("benchmark: my_prefs\n" + entry)
    with pytest.raises(
        CatalogError, match=r"b\.yaml: benchmark 'my_prefs' clashes with 'my-prefs' \(first in .*a\.yaml\)"
    ):
        load_benchmarks(tmp_path / "catalog")


# ---------------------------------------------------------------- failed registrations


def test_a_name_taken_by_another_entry_registers_nothing(rb_home: Path, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "prefs.jsonl", [PAIR])
    name = dataset_benchmark(path).benchmark
    user_benchmarks_dir().mkdir(parents=True)
    squatter = user_benchmarks_dir() / "hand-written.yaml"  # a hand-written entry holding that name
    squatter.write_text(
        f"benchmark: {name}\ntitle: T\nkind: preference\nlocal: [{{format: preference, path: /x}}]\n"
    )
    before = registered()
    with pytest.raises(Exception, match=f"its name '{name}' is taken by .*hand-written.yaml"):
        register_dataset(path)
    assert registered() == before
    load_benchmarks()  # the home still loads


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"prompt": "Q", "chosen": "A", "rej',
            r"invalid JSON on line 1 column 32: Unterminated string.*cut short",
        ),
        ('{"answer": "x"}\n', r"cannot tell the format"),
        ('{"prompt": "Q", "chosen": null, "rejected": "B"}\n{"prompt": "Q", "chosen": "A"}\n', "no row left"),
    ],
)
def test_an_unusable_file_registers_nothing_and_exits_2_with_one_line(
    rb_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture, content: str, message: str
) -> None:
    path = tmp_path / "prefs.jsonl"
    path.write_text(content)
    code = main(["score", "--model", "never/loaded", "--dataset", str(path)])
    err = capsys.readouterr().err
    error, log = err.splitlines()  # the one line, then where the full log is (rb_pipeline.cli.main)
    assert code == 2 and re.search(message, error) and log.startswith("rb-pipeline: log: "), err
    assert err.startswith(f"rb-pipeline: error: {path}")
    assert registered() == {}
    assert not (rb_home / "models.yaml").exists()  # it stopped before registering the model too


def test_every_row_rejected_names_the_count_and_first_reason(
    rb_home: Path, capsys: pytest.CaptureFixture
) -> None:
    path = Path(__file__).parents[1] / "bad_input" / "all_rejected.jsonl"
    assert main(["score", "--model", "never/loaded", "--dataset", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (
        f"rb-pipeline: error: {path}: 2 of 2 rows rejected (first: row 0: field 'chosen' is null);"
        " no row left to score"
    )


def test_some_rows_rejected_are_counted_on_stderr(
    rb_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = write_jsonl(tmp_path / "prefs.jsonl", [PAIR, PAIR | {"chosen": None}, PAIR | {"prompt": "Q2"}])
    name = register_dataset(path)
    assert capsys.readouterr().err == (
        f"{path}: 1 of 3 rows rejected (first: row 1: field 'chosen' is null); see the `rejects` table\n"
    )
    assert name in load_benchmarks()


# ---------------------------------------------------------------- model folders


def copy_model(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def test_two_folders_of_one_name_are_two_models(rb_home: Path, tmp_path: Path, tiny_classifier: Path) -> None:
    x = copy_model(tiny_classifier, tmp_path / "x" / "tiny-rm")
    y = copy_model(tiny_classifier, tmp_path / "y" / "tiny-rm")
    first, second = resolve_model(str(x), None), resolve_model(str(y), None)
    assert first.id != second.id
    assert (first.id, second.id) == (str(x.resolve()), str(y.resolve()))  # a folder's id is its path
    models = load_models()
    assert (models[first.id].location, models[second.id].location) == (str(x), str(y))
    assert resolve_model(str(x), None).id == first.id  # the same folder again: the same model


def test_a_folder_registered_under_an_older_id_keeps_it(
    rb_home: Path, tmp_path: Path, tiny_classifier: Path
) -> None:
    folder = copy_model(tiny_classifier, tmp_path / "tiny-rm")
    register_model(ModelEntry(id="local/tiny-rm", source=str(folder)))  # as homes made before have it
    assert resolve_model(str(folder), None).id == "local/tiny-rm"
    assert [m for m in load_models() if "tiny-rm" in m] == ["local/tiny-rm"]  # no second entry


def test_a_local_models_revision_is_the_hash_of_its_files(
    rb_home: Path, tmp_path: Path, tiny_classifier: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rb_pipeline.catalog.entries as catalog

    folder = copy_model(tiny_classifier, tmp_path / "tiny-rm")
    register_model(ModelEntry(id="local/rm", source=str(folder)))
    revision = load_models()["local/rm"].revision
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", revision)
    assert load_models()["OpenAssistant/reward-model-deberta-v3-large-v2"].revision == "main"  # Hub: as given
    hashed: list[str] = []
    real_sha256 = catalog._sha256
    monkeypatch.setattr(catalog, "_sha256", lambda file: hashed.append(file.name) or real_sha256(file))
    assert local_revision(folder) == revision and hashed == []  # unchanged: nothing is read again
    (folder / "config.json").touch()  # a new mtime, the same bytes: read again, same revision
    assert local_revision(folder) == revision and hashed == ["config.json"]
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # one bit of one weight (the header stays valid)
    weights.write_bytes(bytes(data))
    assert local_revision(folder) != revision and hashed == ["config.json", "model.safetensors"]


def test_overwritten_weights_are_scored_again_unchanged_ones_reused(
    rb_home: Path, tmp_path: Path, tiny_classifier: Path, sample_texts: list[str]
) -> None:
    from rb_pipeline.models.tiny_models import build_tiny_classifier

    folder = copy_model(tiny_classifier, tmp_path / "tiny-rm")
    register_model(ModelEntry(id="local/rm", source=str(folder)))
    examples, responses = hand_made_frames()
    distinct = responses["response_id"].n_unique()
    settings = ScorerSettings(max_length=256)

    def score():
        entry = load_models()["local/rm"]  # as the scores asset loads it
        return score_model(entry, responses, examples, settings, ["hm"], device="cpu", log=lambda _: None)

    first = score()
    assert (first.n_scored, first.n_reused) == (distinct, 0)
    again = score()
    assert (again.n_scored, again.n_reused) == (0, distinct)  # unchanged folder: everything reused
    other = build_tiny_classifier(tmp_path / "other", texts=sample_texts, seed=1)  # same shapes
    shutil.copy(other / "model.safetensors", folder / "model.safetensors")  # same path, new weights
    retrained = score()
    assert (retrained.n_scored, retrained.n_reused) == (distinct, 0)  # nothing reused


def test_ids_with_a_newline_or_a_double_dash_are_refused_before_anything_is_registered(
    rb_home: Path, tmp_path: Path, tiny_classifier: Path
) -> None:
    """A folder named `m--dash` was refused only after its entry was written to models.yaml; names
    with a newline were accepted, then `push` failed and tables printed across lines."""
    for name in ("org/m--dash", "org/line\nbreak", "org/tab\there"):
        with pytest.raises(
            UserError, match=r"^model id .* (must not contain '--'|holds a control character)"
        ):
            resolve_model(name, None)
    assert not (rb_home / "models.yaml").exists()
    # a folder's id is its path (the UI's scheme too), so a path holding either is refused, naming it
    for name in ("m--dash", "line\nbreak"):
        folder = copy_model(tiny_classifier, tmp_path / name)
        with pytest.raises(
            UserError, match=r"^model folder .*: its path is its id, and id .* rename the folder"
        ):
            resolve_model(str(folder), None)
    assert not (rb_home / "models.yaml").exists()


def test_the_cli_and_the_ui_name_a_folder_alike(rb_home: Path, tmp_path: Path, tiny_classifier: Path) -> None:
    """One naming scheme for local models: the CLI and the UI's `score_new_model` form give a folder
    the same id, its absolute path, whose partition key is its encoding and decodes back to it."""
    from assets.new_model import model_id_as_typed
    from assets.partitions import partition_model_id
    from rb_pipeline.core.paths import encode_model_id

    folder = copy_model(tiny_classifier, tmp_path / "rm")
    typed = str(folder)
    assert model_id_as_typed(typed) == str(folder.resolve())  # the UI, before anything is registered
    entry = resolve_model(typed, None)  # the CLI registers it
    assert entry.id == str(folder.resolve()) == model_id_as_typed(f"{typed}/")
    key = encode_model_id(entry.id)
    assert key == str(folder.resolve()).replace("/", "--") and partition_model_id(key) == entry.id
    # a lake made before: a folder registered as `local/<name>-<8 hex>` keeps that id on both routes
    older = copy_model(tiny_classifier, tmp_path / "older")
    register_model(ModelEntry(id="local/older-0123abcd", source=str(older)))
    assert resolve_model(str(older), None).id == model_id_as_typed(str(older)) == "local/older-0123abcd"


def test_a_folder_a_fifo_or_a_device_is_named_as_such(rb_home: Path, tmp_path: Path) -> None:
    """They were reported as "no such file" (and /dev/zero would be read forever)."""
    fifo = tmp_path / "prefs.jsonl"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    for path in (fifo, folder, Path("/dev/zero")):
        with pytest.raises(UserError) as refused:
            register_dataset(path)
        assert str(refused.value) == (
            f"{path}: not a regular file (a folder, a FIFO or a device): give a preference file"
        )
    assert registered() == {}
