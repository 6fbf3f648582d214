"""Inbound data, all of it: reading files (`records`), row models (`rows`), one adapter per benchmark
format (`formats/`), results published by other tools (`results/`), normalization, quality checks,
materialized datasets and a user's own file registered. Above the catalog; independent of models."""
