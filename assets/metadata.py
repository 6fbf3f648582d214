"""Frames as Dagster table metadata: sortable columns with numbers, shown inline in the UI."""

import polars as pl
from dagster import MetadataValue, TableColumn, TableRecord, TableSchema


def _column_type(dtype: pl.DataType) -> str:
    if dtype.is_float():
        return "float"
    if dtype.is_integer():
        return "int"
    return "bool" if dtype == pl.Boolean else "string"


def frame_table(frame: pl.DataFrame, digits: int = 4, descriptions: dict[str, str] | None = None):
    """A frame as `MetadataValue.table`: floats rounded to `digits`, empty cells left empty, each
    column typed (so the UI sorts numbers as numbers) and described where `descriptions` says."""
    descriptions = descriptions or {}
    schema = TableSchema(
        columns=[
            TableColumn(name, _column_type(dtype), description=descriptions.get(name))
            for name, dtype in frame.schema.items()
        ]
    )
    as_text = [  # lists, dates, ...: their text
        pl.col(name).map_elements(str, return_dtype=pl.Utf8)
        for name, dtype in frame.schema.items()
        if _column_type(dtype) == "string" and dtype != pl.Utf8
    ]
    rounded = frame.with_columns(pl.col(pl.Float32, pl.Float64).round(digits), *as_text)
    # every record keeps every column (None where empty): Dagster requires the same fields in each
    records = [TableRecord(row) for row in rounded.iter_rows(named=True)]
    return MetadataValue.table(records, schema)
