"""The DuckDB warehouse over the lake: views from sql/, confidence intervals, plots."""
