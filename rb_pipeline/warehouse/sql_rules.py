"""The SQL templates of `sql/`: one Jinja environment for the views (warehouse) and for the rules the
bootstrap runs over resampled accuracies (stats), so a rule in `sql/macros/rules.sql` is written once."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from rb_pipeline.catalog.entries import AGGREGATIONS, RULES, SCORE_RULES
from rb_pipeline.core.paths import shipped_dir

SQL_DIR = shipped_dir("sql")  # read when a template is loaded: a test may point it at another folder


def sql_environment(sql_dir: Path | None = None) -> jinja2.Environment:
    """Templates under `sql_dir` (default SQL_DIR); an undefined name is an error, never an empty string."""
    return _environment(sql_dir or SQL_DIR)


@functools.cache  # one per folder: Jinja keeps its compiled templates (and recompiles a changed file)
def _environment(sql_dir: Path) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(sql_dir), undefined=jinja2.StrictUndefined, autoescape=False
    )
    # the names the macros branch on, read when a template renders (a rule declared later counts)
    environment.globals["aggregations"] = AGGREGATIONS
    environment.globals["credit_rules"] = RULES
    environment.globals["score_rules"] = list(SCORE_RULES)  # rules whose subset score is not an accuracy
    return environment


def render_macro(call: str, sql_dir: Path | None = None) -> str:
    """One macro of `sql/macros/rules.sql`, e.g. `section_scores('t', ['model'])`, as SQL."""
    template = "{% import 'macros/rules.sql' as rules with context %}{{ rules." + call + " }}"
    return sql_environment(sql_dir).from_string(template).render(leaderboard_columns=[])


def query_sql(name: str, sql_dir: Path | None = None, **context: object) -> str:
    """A query Python runs against the warehouse's views (exports, checks, stats, reports), from
    `sql/queries/<name>.sql`, rendered with `context`: never a view (those are `sql/*.sql`)."""
    return sql_environment(sql_dir).get_template(f"queries/{name}.sql").render(**context)


def template_texts(*folders: str, sql_dir: Path | None = None) -> list[str]:
    """The unrendered text of every template in these folders of `sql_dir` (e.g. `queries/stats`): what
    they read, for `views.view_order`'s `reading` (names inside `{{ }}` are not read as names)."""
    root = sql_dir or SQL_DIR
    return [path.read_text() for folder in folders for path in sorted((root / folder).glob("*.sql"))]
