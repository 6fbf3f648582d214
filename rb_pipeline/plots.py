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
    columns = [c for c in frame.columns if c != "model" and frame[c].null_count() < frame.height]
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


def markdown_image(png: bytes, alt: str) -> str:
    """A PNG as a markdown image with a data URI (renders in Dagster's metadata panel)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"
