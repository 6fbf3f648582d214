"""Where the lake's bytes live: a local folder, or an object store (`s3://bucket/prefix`) through fsspec.

`RB_LAKE` names the lake root (default `$RB_HOME/lake`). `RB_HOME` itself stays a local folder: it
holds what needs a POSIX file system (the Dagster home, the DuckDB warehouse file, models.yaml).
Credentials and endpoint come from the standard AWS variables (`AWS_ENDPOINT_URL`,
`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`), read by s3fs/botocore and handed to
DuckDB: one configuration, no second one per reader.

Atomic writes on S3: S3 has no rename, and a copy of a temporary key would be a second full write
with no stronger guarantee. An S3 object only becomes visible once its upload completes (a single
PUT, or a multipart upload on CompleteMultipartUpload), so a reader sees the previous object or the
new one, never part of one. We therefore write the file locally (a temporary file) and upload it
whole to its final key: the same reader-side guarantee as the local temp-name-and-rename.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import util
from pathlib import Path
from typing import Any

import duckdb

REMOTE_PROTOCOLS = ("s3://", "s3a://", "gs://", "gcs://", "az://", "abfs://", "memory://")


def is_remote(location: object) -> bool:
    """True for an object-store URI (or a UPath on one); local paths and `file://` are not remote."""
    return str(location).startswith(REMOTE_PROTOCOLS)


def lake_root(default: Path) -> Path | Any:
    """The lake root: `$RB_LAKE` when set (a folder or a URI), else `default`.

    A URI becomes a `upath.UPath` (pathlib's API over fsspec: `/`, `glob`, `exists`, `open`), so the
    lake's path arithmetic is the same for both; listings are not cached, since other processes
    (other runs, other machines) add files while this one lives.
    """
    value = os.environ.get("RB_LAKE")
    if not value:
        return default
    if not is_remote(value):
        return Path(value.removeprefix("file://")).resolve()
    from upath import UPath

    # The endpoint is passed, not left to botocore, because fsspec caches file systems by their
    # arguments: a process whose AWS_ENDPOINT_URL changes must not keep writing to the old store.
    endpoint = s3_endpoint() if value.startswith(("s3://", "s3a://")) else ""
    options = {"endpoint_url": endpoint} if endpoint else {}
    return UPath(value.rstrip("/"), use_listings_cache=False, **options)


def s3_endpoint() -> str:
    """The S3 endpoint of the standard AWS variables ('' for AWS itself)."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or ""


@contextmanager
def remote_upload(final: Any) -> Iterator[Path]:
    """Yield a local temporary file; upload it whole to `final` (a UPath) only if the block succeeds."""
    scratch = Path(tempfile.mkdtemp(prefix="rb-upload-"))
    try:
        tmp = scratch / final.name
        yield tmp
        final.fs.put_file(str(tmp), final.path)  # one PUT, or a multipart upload published whole
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def read_parquet(path: Path | Any) -> Any:
    """One Parquet file of the lake as a polars frame, local or on an object store."""
    import polars as pl

    if not is_remote(path):
        return pl.read_parquet(path)
    with path.open("rb") as source:
        return pl.read_parquet(source)


def scan_parquet(files: list, schema: dict | None = None) -> Any:
    """`pl.scan_parquet` over lake files, local or on an object store (credentials from the environment).
    With `schema`, files written before a column existed read it as null (and unknown columns are dropped)."""
    import polars as pl

    if not files or not is_remote(files[0]):
        if schema is None:
            return pl.scan_parquet(files)
        return pl.scan_parquet(files, schema=schema, missing_columns="insert", extra_columns="ignore")
    frame = pl.concat([read_parquet(f).lazy() for f in files], how="diagonal_relaxed")
    if schema is None:
        return frame
    present = frame.collect_schema().names()
    return frame.select(
        [pl.col(k).cast(v) if k in present else pl.lit(None, dtype=v).alias(k) for k, v in schema.items()]
    )


# ---------------------------------------------------------------- DuckDB


def httpfs_status() -> str:
    """How DuckDB can reach S3 without downloading anything: `loaded`/`installed` (its own extension
    directory), `pypi` (the duckdb-extension-httpfs wheel for this duckdb), or `absent`."""
    with duckdb.connect() as con:
        rows = con.execute(
            "select loaded, installed from duckdb_extensions() where extension_name = 'httpfs'"
        ).fetchall()
    row = rows[0] if rows else None
    if row and row[0]:
        return "loaded"
    if row and row[1]:
        return "installed"
    return "pypi" if _pypi_httpfs() else "absent"


def _pypi_httpfs() -> Path | None:
    spec = util.find_spec("duckdb_extension_httpfs")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{duckdb.__version__}"
    found = sorted(folder.glob("httpfs.duckdb_extension"))
    return found[0] if found else None


def attach_lake(con: duckdb.DuckDBPyConnection, lake: Path | Any) -> str:
    """Let DuckDB read `lake` by its own path strings; returns how: `local`, `httpfs` or `fsspec`.

    httpfs when it is there without a download (autoinstall is off: a query never fetches code);
    otherwise DuckDB reads through the same fsspec file system the writers use.
    """
    if not is_remote(lake):
        return "local"
    con.execute("set autoinstall_known_extensions = false")
    status = httpfs_status()
    if str(lake).startswith("s3") and status != "absent":
        try:
            con.execute(f"load '{_pypi_httpfs()}'" if status == "pypi" else "load httpfs")
            con.execute(_s3_secret_sql())
            return "httpfs"
        except duckdb.Error:
            pass  # e.g. an extension built for another duckdb: fall back to fsspec
    protocol = lake.fs.protocol if isinstance(lake.fs.protocol, str) else lake.fs.protocol[0]
    if protocol not in con.list_filesystems():  # a connection keeps it: register once
        con.register_filesystem(lake.fs)
    return "fsspec"


def _s3_secret_sql() -> str:
    """A temporary DuckDB S3 secret from the standard AWS variables (nothing is persisted)."""
    endpoint = s3_endpoint()
    options = {
        "key_id": os.environ.get("AWS_ACCESS_KEY_ID", ""),
        "secret": os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
        "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    }
    if endpoint:
        options |= {
            "endpoint": endpoint.split("://", 1)[-1].rstrip("/"),
            "use_ssl": "true" if endpoint.startswith("https") else "false",
            "url_style": "path",
        }
    body = ", ".join(
        f"{key} {value}" if value in ("true", "false") else f"{key} {_sql_string(value)}"
        for key, value in options.items()
    )
    return f"create or replace temporary secret rb_lake (type s3, {body})"


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
