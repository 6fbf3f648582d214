"""Plots attached to asset metadata: PNGs rendered with matplotlib (Agg), embedded as data URIs."""

from __future__ import annotations

import base64
import io

import polars as pl


def _pyplot():
    """matplotlib's pyplot on the Agg backend (no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")  # room for the long names
    _pyplot().close(figure)
    return buffer.getvalue()


def section_chart(sections: pl.DataFrame, max_models: int = 8) -> bytes:
    """Grouped bars, one group per benchmark/section, one bar per model: the section's score, or its
    partial score over the subsets scored (hatched, labelled with its coverage), so a model run on
    part of the data still shows its numbers. `sections`: model, benchmark, section, score (complete
    or partial), complete, coverage."""
    plt = _pyplot()
    frame = sections.with_columns(column=pl.col("benchmark") + "/" + pl.col("section"))
    models = frame["model"].unique().sort().head(max_models).to_list()
    columns = frame["column"].unique().sort().to_list()
    width = 0.8 / max(len(models), 1)
    figure, axes = plt.subplots(figsize=(min(12, max(6, 0.9 * len(columns) + 2)), 4.5), dpi=100)
    for index, model in enumerate(models):
        rows = {r["column"]: r for r in frame.filter(pl.col("model") == model).iter_rows(named=True)}
        label = model  # on the model's first bar only
        for x, column in enumerate(columns):
            row = rows.get(column)
            if row is None or row["score"] is None:
                continue
            bar = axes.bar(
                x + index * width,
                row["score"],
                width,
                color=f"C{index}",
                hatch=None if row["complete"] else "//",
                edgecolor="white" if row["complete"] else "black",
                label=label,
            )
            label = None
            if not row["complete"]:
                axes.bar_label(bar, [row["coverage"]], fontsize=6, rotation=90, padding=2)
    axes.set_xticks([x + 0.4 - width / 2 for x in range(len(columns))], columns, rotation=30, ha="right")
    axes.set_ylim(0, 1.15)
    axes.set_ylabel("accuracy (hatched: partial)")
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png(figure)


def subset_chart(subsets: pl.DataFrame, max_models: int = 6, max_subsets: int = 40) -> bytes:
    """Per-subset score (subset_accuracy's score: the accuracy, or a rule's own score such as RewardBench
    2's Ties), one horizontal bar per model (published, imported models beside scored ones), with the
    bootstrap 95% interval as an error bar where the warehouse computed it.
    `subsets`: model, benchmark, subset, score, ci_low, ci_high (null: no interval)."""
    plt = _pyplot()
    frame = subsets.filter(pl.col("score").is_not_null()).with_columns(
        label=pl.col("benchmark") + "/" + pl.col("subset")
    )
    models = frame["model"].unique().sort().head(max_models).to_list()
    labels = frame["label"].unique().sort().head(max_subsets).to_list()
    height = 0.8 / max(len(models), 1)
    figure, axes = plt.subplots(
        figsize=(9, max(3, 0.3 * len(labels) * max(1, len(models)) ** 0.5 + 1.5)), dpi=100
    )
    position = {label: i for i, label in enumerate(labels)}
    for index, model in enumerate(models):
        rows = frame.filter((pl.col("model") == model) & pl.col("label").is_in(labels))
        y = [position[label] + index * height for label in rows["label"]]
        score = rows["score"].to_numpy()
        low = rows["ci_low"].fill_null(rows["score"]).to_numpy()
        high = rows["ci_high"].fill_null(rows["score"]).to_numpy()
        axes.barh(y, score, height, color=f"C{index}", label=model)
        axes.errorbar(score, y, xerr=[score - low, high - score], fmt="none", ecolor="black", lw=0.8)
    axes.set_yticks([i + 0.4 - height / 2 for i in range(len(labels))], labels, fontsize=7)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("score: accuracy, or the subset's rule's score (bars: bootstrap 95% interval)")
    axes.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2)
    return _png(figure)


def subset_heatmap(subset_accuracy: pl.DataFrame, max_models: int = 20) -> bytes:
    """Benchmark/subset (rows) x models (columns), colour = score (subset_accuracy's: the accuracy, or a
    rule's own score such as RewardBench 2's Ties) with its colour scale; blank where
    not scored. Subsets run down the page, so the image keeps a panel's width however many there are."""
    plt = _pyplot()
    import numpy as np

    frame = subset_accuracy.with_columns(column=pl.col("benchmark") + "/" + pl.col("subset"))
    models = frame["model"].unique(maintain_order=True).sort().head(max_models).to_list()
    subsets = frame["column"].unique().sort().to_list()
    grid = np.full((len(subsets), len(models)), np.nan)
    row_of = {c: i for i, c in enumerate(subsets)}
    column_of = {m: j for j, m in enumerate(models)}
    for model, column, score in frame.select("model", "column", "score").iter_rows():
        if model in column_of and score is not None:
            grid[row_of[column], column_of[model]] = score
    figure, axes = plt.subplots(
        figsize=(min(9, 2.5 + 0.6 * len(models)), min(40, max(2.5, 0.16 * len(subsets) + 1.5))), dpi=100
    )
    image = axes.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap="viridis", vmin=0, vmax=1)
    axes.set_xticks(range(len(models)), models, rotation=30, ha="right", fontsize=7)
    axes.set_yticks(range(len(subsets)), subsets, fontsize=5)
    figure.colorbar(image, ax=axes, label="score (blank: not scored)", fraction=0.08, pad=0.04)
    return _png(figure)


def markdown_image(png: bytes, alt: str) -> str:
    """A PNG as a markdown image with a data URI (renders in Dagster's metadata panel)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"
