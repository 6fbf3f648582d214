"""Where benchmark data comes from: format adapters, normalization, quality checks, materialized
datasets. Above the catalog; independent of models."""
