"""`rb-pipeline report`: a static site over the warehouse that opens from disk, with no server.

Pages: `index.html` (the leaderboard with intervals, coverage, judge flags and null baselines, sortable
and filterable, and two charts), `models/<org--name>.html` (one per model: sections and subsets with
intervals, published models beside, the best null baseline, flips since its previous run, judge health,
suspect examples), `compare.html` (each model's local run against its imported published file),
`flips.html` (each model's latest run against its previous one) and `suspects.html`. Tables are plain
HTML sorted by tablesort (MIT, vendored from npm under `static/`); plots are matplotlib PNGs
(rb_pipeline.warehouse.plots). Every number comes from a warehouse view; nothing is computed here.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import jinja2
import polars as pl

from rb_pipeline.catalog.entries import load_benchmarks
from rb_pipeline.core.paths import encode_model_id, warehouse_path
from rb_pipeline.warehouse import answers
from rb_pipeline.warehouse.plots import section_chart, subset_heatmap
from rb_pipeline.warehouse.sql_rules import query_sql
from rb_pipeline.warehouse.views import connect, leaderboard_columns

STATIC = Path(__file__).with_name("static")
TEMPLATE = "report.html.jinja"
ROWS_SHOWN = 200  # rows per table at most (a page stays light; the views hold everything)
COVERAGE_SHOWN = 300  # characters of a model's coverage text on the leaderboard page


@dataclass
class Cell:
    text: str
    sort: float | str | None = None  # what tablesort orders by, when the text is not it
    href: str | None = None
    flag: bool = False


@dataclass
class Table:
    id: str
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


@dataclass
class Section:
    heading: str
    table: Table | None = None
    note: str = ""
    image: str = ""


def _number(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _interval(
    estimate: float | None, low: float | None, high: float | None, no_interval: str | None = None
) -> Cell:
    """`0.8123 [0.7900, 0.8300]`, or `0.8123 [why there is none]`, sorted by the estimate."""
    if estimate is None:
        return Cell("—", sort=-1.0)
    bounds = f" [{low:.4f}, {high:.4f}]" if low is not None and high is not None else ""
    bounds = f" [{no_interval}]" if no_interval else bounds
    return Cell(f"{estimate:.4f}{bounds}", sort=estimate)


def frame_table(table_id: str, frame: pl.DataFrame, links: dict[str, str] | None = None) -> Table:
    """A frame as a Table (the first ROWS_SHOWN rows); `links`: {column: page} links its cells to
    `page.format(encoded value)`; numbers sort as numbers."""
    links = links or {}
    rows = []
    for record in frame.head(ROWS_SHOWN).iter_rows(named=True):
        row = []
        for column, value in record.items():
            href = links[column].format(encode_model_id(value)) if column in links and value else None
            sort = value if isinstance(value, int | float) and not isinstance(value, bool) else None
            row.append(Cell(_number(value), sort=sort, href=href))
        rows.append(row)
    return Table(table_id, list(frame.columns), rows)


def model_page(model: str) -> str:
    return f"models/{encode_model_id(model)}.html"


class Site:
    """Writes the pages into `out`, each from the template, reading one open warehouse connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, out: Path) -> None:
        self.con, self.out = con, out
        loader = jinja2.FileSystemLoader(Path(__file__).parent)
        self.template = jinja2.Environment(loader=loader, autoescape=True).get_template(TEMPLATE)
        self.written = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")

    def sql(self, name: str, **params: object) -> pl.DataFrame:
        """The query `sql/queries/<name>.sql` with `params`."""
        return self.con.sql(query_sql(name), params=params or None).pl()

    def page(self, name: str, title: str, sections: list[Section]) -> Path:
        path = self.out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        root = "../" * name.count("/")
        html = self.template.render(
            title=title, sections=sections, root=root, written=self.written, warehouse=warehouse_path().name
        )
        path.write_text(html, encoding="utf-8")
        return path

    def image(self, name: str, png: bytes) -> str:
        (self.out / "images").mkdir(parents=True, exist_ok=True)
        (self.out / "images" / name).write_bytes(png)
        return f"images/{name}"

    # ------------------------------------------------------------ pages

    def leaderboard(self) -> None:
        board = self.sql("report/leaderboard")
        columns = [c for c in leaderboard_columns(load_benchmarks()) if c in board.columns]
        columns = [c for c in columns if board[c].null_count() < board.height] or columns[:1]
        intervals = {
            (row["model"], row["column_name"]): (row["ci_low"], row["ci_high"])
            for row in self.sql("report/overall_and_section_ci").iter_rows(named=True)
        }
        extra = ["rank_groups", "provenance", "judge_flags", "below_null", "coverage"]
        table = Table("leaderboard", ["model", *columns, *extra])
        for row in board.iter_rows(named=True):
            cells = [Cell(row["model"], href=model_page(row["model"]))]
            cells += [_interval(row[c], *intervals.get((row["model"], c), (None, None))) for c in columns]
            cells += [Cell(_number(row[c]), flag=c == "judge_flags" and bool(row[c])) for c in extra[:-1]]
            coverage = row["coverage"] or ""  # the start of it: the whole text is in the leaderboard view
            cells.append(Cell(coverage[:COVERAGE_SHOWN] + ("…" if len(coverage) > COVERAGE_SHOWN else "")))
            table.rows.append(cells)
        subsets = self.sql("report/subset_heatmap")
        sections = [
            Section(
                "Leaderboard",
                table,
                "Scores with bootstrap 95% intervals. rank_groups: rank per overall column among the models "
                "that can be told apart (paired bootstrap, Holm-corrected), `(tied)` where shared. judge_flags: subsets where a judge's unparseable or "
                "failed answers passed the threshold (judge_health); below_null: subsets where the model "
                "does not beat the best null baseline (its accuracy in brackets); coverage: what a score "
                "still needs.",
            ),
            Section(
                "Scores by section",
                image=self.image("sections.png", section_chart(self.sql("report/section_coverage"))),
            ),
        ]
        if subsets.height:
            sections.append(
                Section("Subset accuracy", image=self.image("subsets.png", subset_heatmap(subsets)))
            )
        prm_board = self.sql("report/prm_leaderboard")
        if prm_board.height:
            sections.append(
                Section(
                    "Process reward models",
                    frame_table("prm_leaderboard", prm_board, {"model": "models/{}.html"}),
                    "Step-level benchmarks (prm_leaderboard): PRMBench's overall and group PRMScores, "
                    "ProcessBench's mean F1, the threshold used; a score only where every subset it needs "
                    "was scored in full (coverage).",
                )
            )
        self.page("index.html", "Leaderboard", sections)

    def model(self, model: str) -> None:
        link = {"model": "{}.html"}
        section_rows = self.sql("report/model_sections", model=model)
        sections_table = Table(
            "sections", ["benchmark", "section", "score [95% interval]", "over what was scored", "missing"]
        )
        for row in section_rows.iter_rows(named=True):
            sections_table.rows.append(
                [
                    Cell(row["benchmark"]),
                    Cell(row["section"]),
                    _interval(row["score"], row["ci_low"], row["ci_high"]),
                    Cell(_number(row["partial_score"]), sort=row["partial_score"]),
                    Cell(_number(row["missing_brief"])),
                ]
            )
        subsets = self.sql("report/model_subsets", model=model)
        subsets_table = Table(
            "subsets",
            [
                "benchmark",
                "subset",
                "n",
                "score [95% interval]",
                "best null",
                "margin over null",
                "published",
            ],
        )
        for row in subsets.iter_rows(named=True):
            null = row["best_null_model"]
            subsets_table.rows.append(
                [
                    Cell(row["benchmark"]),
                    Cell(row["subset"]),
                    Cell(_number(row["n"]), sort=row["n"]),
                    _interval(row["score"], row["ci_low"], row["ci_high"], row["no_interval"]),
                    Cell(f"{null} {row['best_null_accuracy']:.4f}" if null else "—"),
                    Cell(_number(row["margin"]), sort=row["margin"], flag=(row["margin"] or 1) <= 0),
                    Cell(_number(row["published"])),
                ]
            )
        flips = self.flips_of(model)
        health = self.sql("report/model_judge_health", model=model)
        scored = self.sql("report/model_benchmarks", model=model)
        suspects = answers.suspects(self.con).filter(pl.col("benchmark").is_in(scored["benchmark"].to_list()))
        prm_scores = self.sql("hub/prm_scores", model=model)  # a PRM's; the Hub export's rows
        prm_sections = [
            Section(
                "Process reward scores",
                frame_table("prm_scores", prm_scores),
                "PRMBench per category, overall and group (PRMScore); ProcessBench per subset (F1).",
            )
        ]
        self.page(
            model_page(model),
            model,
            [
                *(prm_sections if prm_scores.height else []),
                Section("Sections", sections_table),
                Section(
                    "Subsets",
                    subsets_table,
                    "Score (the accuracy; RewardBench 2's Ties: its Ties score) with its bootstrap 95% "
                    "interval, the best null baseline's accuracy on the subset, and the published (imported) "
                    "models' score beside it.",
                ),
                Section(
                    "Flips since the previous run",
                    frame_table("flips", flips, link),
                    "Examples whose outcome changed between the model's previous run and its latest.",
                ),
                Section("Judge health", frame_table("health", health)),
                Section("Suspect examples", frame_table("suspects", suspects.drop("prompt"))),
            ],
        )

    def flips_of(self, model: str) -> pl.DataFrame:
        """The flips between the model's previous run and its latest, per benchmark."""
        frames = []
        for benchmark, latest in self.sql("report/model_latest_runs", model=model).iter_rows():
            previous = answers.previous_run(self.con, model, benchmark)
            if previous:
                frames.append(self.sql("report/flips_between", a=previous, b=latest, benchmark=benchmark))
        return (
            pl.concat(frames)
            if frames
            else pl.DataFrame({"example_id": []}, schema={"example_id": pl.String})
        )

    def comparisons(self) -> None:
        """compare.html: each model's latest computed run against its latest imported one (a published
        per-example file); flips.html: each model's latest run against its previous one."""
        pairs = self.sql("report/reproduction_pairs")
        summaries, disagreements = [], []
        for model, _, local, published in pairs.iter_rows():
            summary, flipped = answers.compare(self.con, local, published)
            summaries.append(summary.filter(pl.col("model_a") == model))
            disagreements.append(flipped.filter(pl.col("model_a") == model))
        summary = pl.concat(summaries) if summaries else pl.DataFrame()
        columns = ["model_a", "run_a", "run_b", *answers.COMPARE_COLUMNS]
        note = (
            "run_a: the local run; run_b: the imported published file. difference = accuracy_a - "
            "accuracy_b with a paired 95% interval; p: McNemar's exact test, Holm-corrected per benchmark."
        )
        flip_columns = ["model_a", "benchmark", "subset", "example_id", "change", "margin_a", "margin_b"]
        self.page(
            "compare.html",
            "Reproductions: local runs against published files",
            [
                Section(
                    "Per subset",
                    frame_table(
                        "compare",
                        summary.select(columns) if summary.height else summary,
                        {"model_a": "models/{}.html"},
                    ),
                    note,
                ),
                Section(
                    "Disagreeing examples (largest margin change first)",
                    frame_table(
                        "disagreements",
                        pl.concat(disagreements).select(flip_columns) if disagreements else pl.DataFrame(),
                    ),
                ),
            ],
        )

    def flips(self, models: list[str]) -> None:
        frames = [self.flips_of(model).with_columns(model=pl.lit(model)) for model in models]
        frames = [frame for frame in frames if frame.height]
        flips = pl.concat(frames).select("model", pl.exclude("model")) if frames else pl.DataFrame()
        self.page(
            "flips.html",
            "Flips since each model's previous run",
            [
                Section(
                    "Changed examples",
                    frame_table("flips", flips, {"model": "models/{}.html"}),
                    "lost: right in the previous run, wrong in the latest; gained: the other way.",
                )
            ],
        )

    def suspects(self) -> None:
        frame = answers.suspects(self.con)
        self.page(
            "suspects.html",
            "Suspect labels",
            [
                Section(
                    "Examples most models get wrong",
                    frame_table("suspects", frame),
                    "Weighted by each model's accuracy on the rest of the subset (sql/suspect_labels.sql); "
                    "`rb-pipeline suspects --out FILE.jsonl` exports them with their texts.",
                )
            ],
        )


def write_report(out: Path, model: str | None = None, path: Path | None = None) -> Path:
    """Write the site into `out` (every model's page, or only `model`'s); returns index.html's path."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(STATIC, out / "assets", dirs_exist_ok=True)
    with connect(read_only=True, path=path) as con:
        site = Site(con, out)
        models = site.sql("report/models")["model"].to_list()
        if model is not None and model not in models:
            raise ValueError(f"{model}: no such model in the warehouse")
        site.leaderboard()
        for name in [model] if model else models:
            site.model(name)
        site.comparisons()
        site.flips([model] if model else models)
        site.suspects()
    return out / "index.html"
