"""The Dagster code location: thin assets over the `rb_pipeline` library."""
