"""The catalog: benchmarks, models and ensembles from catalog/*.yaml as typed, frozen entries, and the
scoring rules and aggregations they may name. Above core only."""
