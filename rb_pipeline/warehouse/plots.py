"""Plots attached to asset metadata: PNGs rendered with matplotlib (Agg), embedded as data URIs."""

from __future__ import annotations

import base64
import io

import polars as pl


def section_bar_chart(leaderboard: pl.DataFrame, max_models: int = 12) -> bytes:
    """Grouped bars: each non-empty leaderboard column (x) for the top models (one bar each)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = leaderboard.head(max_models)
    columns = [  # the score columns (not model, coverage or provenance)
        c for c in frame.columns if frame[c].dtype.is_float() and frame[c].null_count() < frame.height
    ]
    width = 0.8 / max(frame.height, 1)
    figure, axes = plt.subplots(figsize=(max(6, 1.1 * len(columns)), 4), dpi=100)
    for index, row in enumerate(frame.iter_rows(named=True)):
        values = [row[c] if row[c] is not None else 0.0 for c in columns]
        axes.bar([x + index * width for x in range(len(columns))], values, width, label=row["model"])
    axes.set_xticks([x + 0.4 - width / 2 for x in range(len(columns))], columns, rotation=30, ha="right")
    axes.set_ylim(0, 1)
    axes.set_ylabel("accuracy")
    axes.legend(fontsize=7, loc="upper right")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def subset_heatmap(subset_accuracy: pl.DataFrame, max_models: int = 20) -> bytes:
    """Models (rows) x benchmark/subset (columns), colour = accuracy; blank where not scored."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    frame = subset_accuracy.with_columns(column=pl.col("benchmark") + "/" + pl.col("subset"))
    models = frame["model"].unique(maintain_order=True).sort().head(max_models).to_list()
    columns = frame["column"].unique().sort().to_list()
    grid = np.full((len(models), len(columns)), np.nan)
    row_of = {m: i for i, m in enumerate(models)}
    column_of = {c: j for j, c in enumerate(columns)}
    for model, column, accuracy in frame.select("model", "column", "accuracy").iter_rows():
        if model in row_of and accuracy is not None:
            grid[row_of[model], column_of[column]] = accuracy
    figure, axes = plt.subplots(
        figsize=(min(40, max(6, 0.18 * len(columns) + 3)), max(2.5, 0.35 * len(models) + 1.5)), dpi=100
    )
    image = axes.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap="viridis", vmin=0, vmax=1)
    axes.set_yticks(range(len(models)), models, fontsize=7)
    axes.set_xticks(range(len(columns)), columns, rotation=90, fontsize=5)
    figure.colorbar(image, ax=axes, label="accuracy", fraction=0.03)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")  # room for the long subset names
    plt.close(figure)
    return buffer.getvalue()


def markdown_image(png: bytes, alt: str) -> str:
    """A PNG as a markdown image with a data URI (renders in Dagster's metadata panel)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"
