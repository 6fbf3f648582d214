"""`rb-pipeline sql` is read-only: every write, file outside the lake, extension or setting change is
refused with one line and exit code 2, and ordinary queries over every view still work."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import duckdb
import pytest

from rb_pipeline.cli import main
from rb_pipeline.core.paths import lake_dir
from rb_pipeline.warehouse.views import LAKE_TABLES, SQL_DIR, QueryError, build_warehouse, lock_to_lake, query
from tests.hand_made import write_hand_made_lake

# What a user may try; {home} is RB_HOME, {lake} the lake in it and {run} one of its run records.
ATTACKS = {
    "copy to a file": "copy (select 1 as x) to '{home}/out.csv'",
    "copy forged runs over the lake": "copy (select * from runs) to '{run}' (format parquet)",
    "copy over models.yaml": "copy (select 'x' as models) to '{home}/models.yaml' (format csv)",
    "export database": "export database '{home}/exported'",
    "attach writable": "attach '{home}/other.duckdb' as other (read_only false)",
    "attach and insert": "attach '{home}/other.duckdb' as o; create table o.t as select 1",
    "insert": "insert into subset_weights select * from subset_weights",
    "drop": "drop view leaderboard",
    "create": "create table t as select 1",
    "install an extension": "install httpfs",
    "load an extension": "load httpfs",
    "read a file outside the lake": "select * from read_text('{home}/models.yaml')",
    "read /etc": "select * from read_csv('/etc/passwd')",
    "escape the lake with ..": "select * from read_text('{lake}/../models.yaml')",
    "glob outside the lake": "select * from glob('{home}/*')",
    "set to unlock": "set enable_external_access = true",
    "reset the lock": "reset lock_configuration",
    "pragma": "pragma enable_profiling",
    "call": "call pragma_version()",
    "checkpoint": "checkpoint",
    "explain analyze runs the copy": "explain analyze copy (select 1) to '{lake}/x.csv'",
    "explain analyze behind a comment": "/* c */ explain analyze copy (select 1) to '{lake}/y.csv'",
    "a select then a copy": "select 1; copy (select 1) to '{lake}/z.csv'",
    "copy hidden in query()": "select * from query('copy (select 1) to ''{lake}/q.csv''')",
}


@pytest.fixture
def warehouse(hand_made_catalog, rb_home: Path) -> Path:
    catalog = hand_made_catalog
    write_hand_made_lake({"m1": {"r1": ("complete", ["hm", "hm-prior"], False)}})
    (rb_home / "models.yaml").write_text("models: []\n")  # a file beside the lake, not in it
    return build_warehouse(catalog)


def run_sql(sql: str, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = main(["sql", sql, "--format", "csv"])
    out, err = capsys.readouterr()
    return code, out, err


def home_files(home: Path) -> dict[Path, bytes]:
    """Every file of the home but Dagster's and the CLI's own logs (a failure writes its log there)."""
    return {
        p: p.read_bytes()
        for p in home.rglob("*")
        if p.is_file() and "dagster" not in p.parts and p.parent != home / "logs"
    }


@pytest.mark.parametrize("name", ATTACKS)
def test_every_write_or_outside_read_is_refused_with_one_line(
    name: str, warehouse: Path, rb_home: Path, capsys: pytest.CaptureFixture
) -> None:
    run = next(lake_dir().glob("runs/*.parquet"))
    sql = ATTACKS[name].format(home=rb_home, lake=lake_dir(), run=run)
    files_before = home_files(rb_home)
    code, out, err = run_sql(sql, capsys)
    assert code == 2, (out, err)
    assert out == ""
    error, log = err.splitlines()  # the one line, then where the full log is
    assert error.startswith("rb-pipeline: error: ") and log.startswith("rb-pipeline: log: "), err
    assert "root:" not in err  # nothing of a file outside the lake comes back
    # nothing written, nothing changed: the lake, models.yaml and the warehouse are as they were
    assert home_files(rb_home) == files_before


def test_statement_kinds_are_named_in_the_refusal(warehouse: Path) -> None:
    with pytest.raises(QueryError, match=r"^read-only: .* not COPY$"):
        query("copy (select 1) to '/tmp/never.csv'", warehouse)
    with pytest.raises(QueryError, match=r"^read-only: .* not SET$"):
        query("set threads = 1", warehouse)
    with pytest.raises(QueryError, match=r"not MULTI \(a PIVOT must list its values"):
        query("pivot subset_weights on subset using sum(weight)", warehouse)
    with pytest.raises(QueryError, match="Permission Error"):  # a query, but of a file outside the lake
        query("select * from read_csv('/etc/passwd')", warehouse)


def test_the_lock_holds_even_for_a_statement_that_got_through(rb_home: Path) -> None:
    """Defence in depth: once locked, DuckDB itself refuses to reopen file access or change settings."""
    lake = lake_dir()
    lake.mkdir(parents=True)
    with duckdb.connect() as con:
        lock_to_lake(con, lake)
        for sql in ("set enable_external_access = true", "set lock_configuration = false"):
            with pytest.raises(duckdb.Error, match="locked"):
                con.execute(sql)
        with pytest.raises(duckdb.Error, match="disabled by configuration"):
            con.execute(f"copy (select 1) to '{rb_home}/out.csv'")
        assert not (rb_home / "out.csv").exists()


def test_queries_over_every_view_still_work(warehouse: Path, capsys: pytest.CaptureFixture) -> None:
    views = sorted(set(LAKE_TABLES) | {p.stem for p in SQL_DIR.glob("*.sql")} | {"subset_weights"})
    assert {"examples", "responses", "scores", "runs", "rejects", "leaderboard", "subset_accuracy"} <= set(
        views
    )
    for view in views:
        query(f"select * from {view}", warehouse)  # every view reads the lake at query time
    # hand-made lake: m1 has 5 scored hm examples, 3 correct (e1 tie and e6 wrong): 3 of 5
    assert query("select count(*) as n from example_outcomes where benchmark = 'hm'", warehouse).item() == 5
    reads = [
        "with s as (select * from scores) select count(*) from s",
        "from runs select model",
        "describe leaderboard",
        "show tables",
        "summarize subset_accuracy",
        "explain select * from leaderboard",
        "explain analyze select count(*) from scores",
        "select 1; select 2",
        "values (1), (2)",
        "pivot subset_weights on subset in ('a1', 'a2') using sum(weight)",
        f"select count(*) from read_parquet('{lake_dir()}/scores/*/*/*.parquet')",  # a lake file
    ]
    for sql in reads:
        code, out, err = run_sql(sql, capsys)
        assert code == 0 and err == "", (sql, err)
        assert out
    code, out, _ = run_sql("select count(*) as n from scores", capsys)
    # 8 examples with 2, 2, 3, 2, 3, 2, 2, 2 responses = 18 scores for the one run
    assert (code, out.split()) == (0, ["n", "18"])


# a query that runs for hours: DuckDB cannot shortcut a hash sum over ten trillion rows
ENDLESS = "select sum(hash(i)) from range(10000000000000) t(i)"


ENV_AT_COLLECTION = dict(os.environ)  # to name what earlier tests of this worker changed


def why_still_running(process: subprocess.Popen, rb_home: Path) -> str:
    """What a child that did not stop was doing: its signal masks, limits, what earlier tests changed in
    the environment it inherited, and every thread's stack (faulthandler, on SIGABRT, into its log)."""
    proc = Path(f"/proc/{process.pid}")
    status = [
        line
        for line in (proc / "status").read_text().splitlines()
        if line.startswith(("Sig", "Shd", "Umask", "Threads"))
    ]
    threads = {
        t.name: ((t / "comm").read_text().strip(), (t / "wchan").read_text())
        for t in (proc / "task").iterdir()
    }
    environ = dict(item.split("=", 1) for item in (proc / "environ").read_text().split("\0") if "=" in item)
    changed = {  # values of the lake's own variables only: no credential is ever printed
        k: v if k.startswith(("RB_", "DAGSTER_")) else "..."
        for k, v in environ.items()
        if ENV_AT_COLLECTION.get(k) != v
    }
    gone = sorted(set(ENV_AT_COLLECTION) - set(environ))
    limits = (proc / "limits").read_text()
    cwd = os.readlink(proc / "cwd")
    process.send_signal(signal.SIGABRT)
    with suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=10)
    logs = "\n".join(log.read_text()[-6000:] for log in sorted((rb_home / "logs").glob("*.log")))
    return "\n".join(map(str, [status, threads, changed, gone, limits, cwd, logs]))


def started_by_a_shell(argv: list[str], sigint: signal.Handlers) -> list[str]:
    """`argv` as a shell starts it with SIGINT at `sigint`: SIG_DFL at a terminal, SIG_IGN for a background
    job of a script (`cmd &`), whatever this test process inherited. A suite started as such a job runs
    with SIGINT ignored, and an ignored signal stays ignored across fork and exec: the Ctrl-C test's child
    then ran on (the hang of past full runs). Its /proc status showed SIGINT caught, not ignored: importing
    polars installs a C handler that chains to the disposition it found, here "ignore"."""
    shim = f"import os, signal, sys; signal.signal(signal.SIGINT, signal.{sigint.name}); os.execv(sys.argv[1], sys.argv[1:])"
    return [sys.executable, "-c", shim, *argv]


@pytest.mark.parametrize(
    ("number", "sigint"),
    [
        pytest.param(signal.SIGINT, signal.SIG_DFL, id="ctrl-c-at-a-terminal"),
        pytest.param(signal.SIGTERM, signal.SIG_IGN, id="sigterm-to-a-background-job"),
    ],
)
def test_a_long_query_stops_on_ctrl_c_and_sigterm_within_a_second(
    number: int, sigint: signal.Handlers, warehouse: Path, rb_home: Path
) -> None:
    """It used to ignore three SIGINTs and SIGTERM (only SIGKILL ended it). Stopped in 0.15 s (idle), the
    exit took up to a second on a loaded machine: the interpreter's last garbage collection walked every
    object DuckDB, Arrow and polars had made; the console script now leaves them to the exit (0.04 s)."""
    process = subprocess.Popen(
        started_by_a_shell([sys.executable, "-m", "rb_pipeline.cli", "sql", ENDLESS], sigint),
        env=os.environ | {"RB_HOME": str(rb_home), "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        time.sleep(6)  # imports done, the query running
        assert process.poll() is None, process.communicate()
        if sigint == signal.SIG_IGN:  # a background job's ignored SIGINT is honoured; SIGTERM still stops it
            process.send_signal(signal.SIGINT)
            time.sleep(0.5)
            assert process.poll() is None, process.communicate()
        sent = time.monotonic()
        process.send_signal(number)
        try:
            _, err = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            raise AssertionError(why_still_running(process, rb_home)) from None
        stopped_in = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + number, err
    assert stopped_in < 1.0, stopped_in
    assert err.splitlines()[0] == f"rb-pipeline: stopped by {signal.Signals(number).name}", err


# `sql` of a long query in a process where a SIGINT's KeyboardInterrupt is consumed while the warehouse
# opens, as DuckDB consumes one that lands in its own calls on the main thread (seen: `execute` then
# raises "Query interrupted", or nothing; a check catching DuckDB errors then went on)
SIGNAL_CONSUMED = f"""
import os, signal, sys, time
from rb_pipeline import cli
from rb_pipeline.warehouse import views

opened = views.connect

def connect_consuming_a_signal(*args, **kwargs):
    con = opened(*args, **kwargs)
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
    except KeyboardInterrupt:
        pass
    return con

views.connect = connect_consuming_a_signal
sys.exit(cli.main(["sql", {ENDLESS!r}]))
"""


def test_a_stop_signal_whose_interrupt_was_consumed_still_stops_the_query(
    rb_home: Path, warehouse: Path
) -> None:
    """A stop signal is recorded (the wakeup pipe) whatever becomes of its KeyboardInterrupt: the query's
    wait polls for it. Before, the query then ran on, deaf to the signal (seen in a stress loop: DuckDB
    consumed a signal landing while `sql` opened the warehouse). A stop signal carried by another error is
    a stop too (cli.main)."""
    process = subprocess.Popen(
        started_by_a_shell([sys.executable, "-c", SIGNAL_CONSUMED], signal.SIG_DFL),  # as at a terminal
        env=os.environ | {"RB_HOME": str(rb_home), "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError(why_still_running(process, rb_home)) from None
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert err.splitlines()[0] == "rb-pipeline: stopped by SIGINT", err


def test_timeout_stops_a_long_query_with_one_line(warehouse: Path, capsys: pytest.CaptureFixture) -> None:
    started = time.monotonic()
    code = main(["sql", ENDLESS, "--timeout", "0.5"])
    took = time.monotonic() - started
    error = capsys.readouterr().err.splitlines()[0]
    assert code == 2 and error == "rb-pipeline: error: query stopped after its time limit (--timeout 0.5 s)"
    assert took < 1.5, took  # 0.5 s, then the interrupt
    with pytest.raises(SystemExit) as refused:  # argparse: one line, must be above 0
        main(["sql", "select 1", "--timeout", "0"])
    assert refused.value.code == 2
    assert "argument --timeout: must be above 0, not '0'" in capsys.readouterr().err


def test_a_query_from_python_c_writes_no_progress_bar_into_its_output(warehouse: Path, rb_home: Path) -> None:
    """DuckDB takes a caller without a script file (`python -c`, a notebook) for a terminal and, once a query
    runs 2 s, drew its progress bar on stdout, into the rows."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from rb_pipeline.cli import main; sys.exit(main(sys.argv[1:]))"]
        + ["sql", ENDLESS, "--timeout", "2.5", "--format", "csv"],
        env=os.environ | {"RB_HOME": str(rb_home), "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert "time limit" in done.stderr.splitlines()[0], done.stderr


def test_output_streams_and_escapes(warehouse: Path, capsys: pytest.CaptureFixture) -> None:
    """JSON has no NaN or Infinity (they are null); a table escapes control characters, so a cell stays
    on its line and cannot drive the terminal; a table shows at most --max-rows rows, CSV and JSON every
    row, batch by batch (one header)."""
    nan_sql = "select 'nan'::double as x, 'inf'::double as y, 1.5::double as z"
    assert main(["sql", nan_sql, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"x": None, "y": None, "z": 1.5}]
    assert main(["sql", "select chr(27) || '[31mred' || chr(13) || chr(10) || 'x' as t"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "\\x1b[31mred\\r\\nx" in out
    assert len(out.splitlines()) == 4  # header, rule, the one row, "(1 rows)"
    assert main(["sql", "select range as i from range(5)", "--max-rows", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [
        "(2 rows)",
        "(only the first 2 rows shown: --max-rows N, or --format csv or json for all)",
    ]
    # 200,000 rows: 4 batches of STREAM_ROWS (65,536): one header, every row once, in order
    assert main(["sql", "select range as i from range(200000)", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "i" and lines[1:] == [str(i) for i in range(200000)]
    assert main(["sql", "select range as i from range(70000)", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"i": i} for i in range(70000)]
    assert main(["sql", "select 1 as i where false", "--format", "json"]) == 0
    assert capsys.readouterr().out == "[]\n"


@pytest.mark.parametrize("how", ["move", "copy"])
def test_a_moved_or_copied_rb_home_keeps_working(
    how: str, warehouse: Path, rb_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The views named the lake by its absolute path: after a move every query failed with "file
    system operations are disabled" (the old folder is outside the new lake)."""
    board = "select * from leaderboard order by model"
    before = query(board)
    counts = "select (select count(*) from runs) as runs, (select count(*) from stored_scores) as scores"
    before_counts = query(counts)
    target = tmp_path / "elsewhere" / "rb_home"
    target.parent.mkdir()
    if how == "move":
        shutil.move(rb_home, target)
    else:
        shutil.copytree(rb_home, target)
        # the old lake must not be the one read: drop its runs
        for run in (rb_home / "lake" / "runs").glob("*.parquet"):
            run.unlink()
    monkeypatch.setenv("RB_HOME", str(target))
    assert query(board).equals(before)
    assert query(counts).equals(before_counts) and before_counts["runs"].item() > 0


def test_a_function_of_an_extension_is_named_not_cut(
    warehouse: Path, rb_home: Path, capsys: pytest.CaptureFixture
) -> None:
    """`sqlite_scan` made DuckDB try to install sqlite_scanner: its message (cut at "extension
    'sqlite_scanner:" before the heading rule) spoke of a directory it may not open."""
    code, out, err = run_sql(f"select * from sqlite_scan('{rb_home}/other.db', 't')", capsys)
    error, _log = err.splitlines()
    assert (code, out) == (2, "")
    assert error == (
        "rb-pipeline: error: this query needs DuckDB's extension sqlite_scanner, which `rb-pipeline sql`"
        " neither installs nor loads: it reads the warehouse's tables and views only"
        ' (`rb-pipeline sql "show tables"` lists them)'
    )
