"""Where things live: the lake root, the folders the package ships, and the model-id encoding."""

from __future__ import annotations

import importlib.resources
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# The folders the package ships, by name: the repository keeps them at its top level (left), setup.py's
# build step copies each into the wheel as `rb_pipeline/shipped/<name>`.
SHIPPED_FOLDERS = {"sql": "sql", "catalog": "catalog", "samples": "data/samples"}


def shipped_dir(name: str) -> Path:
    """A folder the package ships (`sql`, `catalog`, `samples`): inside an installed wheel, else (a
    checkout, an editable install) the repository's top-level folder. The one place that says where."""
    installed = importlib.resources.files("rb_pipeline").joinpath("shipped", name)
    if isinstance(installed, Path) and installed.is_dir():
        return installed
    return REPO_ROOT / SHIPPED_FOLDERS[name]


def rb_home() -> Path:
    """The lake and warehouse root: `$RB_HOME`, default `./data/lake`."""
    return Path(os.environ.get("RB_HOME", "data/lake")).resolve()


def mirror_root() -> Path | None:
    """`$RB_MIRROR`, a folder of full local benchmark copies, if set."""
    value = os.environ.get("RB_MIRROR")
    return Path(value).resolve() if value else None


SOURCE_MODES = ("full", "sample", "hub")
OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def source_mode() -> str:
    """Where benchmark data comes from, `$RB_SOURCE`: `full` (default: the `$RB_MIRROR` copy where it is
    there, else the pinned Hub revision), `sample` (the shipped samples: `demo`, tests, `--sample`) or
    `hub` (the Hub wherever the catalog names one). `rb_pipeline.sources.normalize.planned_origin` applies it."""
    mode = os.environ.get("RB_SOURCE", "").strip().lower() or "full"
    if mode not in SOURCE_MODES:
        raise ValueError(f"RB_SOURCE={mode!r}: expected one of {', '.join(SOURCE_MODES)}")
    return mode


def offline_var() -> str | None:
    """The variable that puts the Hub client offline, if any (read now, and as huggingface_hub read it)."""
    for name in OFFLINE_VARS:
        if os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}:
            return name
    from huggingface_hub import constants

    return "HF_HUB_OFFLINE" if constants.is_offline_mode() else None


def lake_dir(*parts: str) -> Path:
    """A folder under the lake (`$RB_LAKE/...`, default `$RB_HOME/lake/...`; `$RB_LAKE` may be `s3://...`)."""
    from rb_pipeline.core.storage import lake_root

    return lake_root(rb_home() / "lake").joinpath(*parts)


def warehouse_path() -> Path:
    """The DuckDB warehouse file."""
    return rb_home() / "warehouse.duckdb"


def encode_model_id(model_id: str) -> str:
    """Model ids contain `/`; partition keys and folder names must not: `org/name` -> `org--name`."""
    if "--" in model_id:
        raise ValueError(f"model id {model_id!r} must not contain '--' (reserved for encoding '/')")
    return model_id.replace("/", "--")


def decode_model_key(key: str) -> str:
    """Inverse of `encode_model_id`."""
    return key.replace("--", "/")


def current_umask() -> int:
    """The process's umask. The rule for every file rb-pipeline writes (lake files, the warehouse, the
    catalog's YAML, logs): mode 0666 less the umask, as `touch` or DuckDB would create it, so a lake
    shared by a group (umask 002) is group-writable and the usual umask 022 gives 0644."""
    mask = os.umask(0o022)  # read by setting it: restored at once
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path next to `final` (`.<name>.<pid>.<random>.tmp`: the process that writes it
    can be told from its name); rename it into place only if the block succeeds. On an object store: a
    local temporary file, uploaded whole (see `rb_pipeline.core.storage`)."""
    from rb_pipeline.core.storage import is_remote, remote_upload

    if is_remote(final):
        with remote_upload(final) as tmp:
            yield tmp
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.{os.getpid()}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's 0600 would keep the file from a group
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a new temporary folder next to `final`; swap it into place only if the block succeeds (a
    folder already there is moved aside first, put back if the swap fails, and removed after)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.{os.getpid()}.", suffix=".tmp", dir=final.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; what it becomes is not secret
    old = tmp.with_suffix(".old")
    try:
        yield tmp
        if final.exists():
            os.rename(final, old)
        try:
            os.rename(tmp, final)
        except OSError:
            if old.exists():
                os.rename(old, final)
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
