"""The SQL templates of `sql/`: one Jinja environment for the views (warehouse) and for the rules the
bootstrap runs over resampled accuracies (stats), so a rule in `sql/macros/rules.sql` is written once."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2

from rb_pipeline.catalog.entries import AGGREGATIONS
from rb_pipeline.core.paths import REPO_ROOT

SQL_DIR = REPO_ROOT / "sql"


@functools.cache  # one per folder: Jinja keeps its compiled templates (and recompiles a changed file)
def sql_environment(sql_dir: Path = SQL_DIR) -> jinja2.Environment:
    """Templates under `sql_dir`; an undefined name is an error, never an empty string."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(sql_dir), undefined=jinja2.StrictUndefined, autoescape=False
    )
    environment.globals["aggregations"] = list(AGGREGATIONS)  # the aggregation names the macros know
    return environment


def render_macro(call: str, sql_dir: Path = SQL_DIR) -> str:
    """One macro of `sql/macros/rules.sql`, e.g. `section_scores('t', ['model'])`, as SQL."""
    template = "{% import 'macros/rules.sql' as rules with context %}{{ rules." + call + " }}"
    return sql_environment(sql_dir).from_string(template).render(leaderboard_columns=[])
