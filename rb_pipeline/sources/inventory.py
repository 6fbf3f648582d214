"""What the catalog holds and what of it is here: per benchmark and subset, expected and local rows.

`catalog_summary` normalizes the locally available data (mirror, else shipped samples; never the
Hub) and counts examples and rejects per subset. A subset is `present` when local files gave it
rows (accepted or rejected), `hub only` when it has none locally but the benchmark has a Hub
source, and `absent locally` otherwise (e.g. the 3 RMB pairwise scenario files missing from the
mirror: the subset is generated from the best-of-N tree, but has no pairwise file).
"""

from __future__ import annotations

from collections import Counter

from rb_pipeline.catalog.entries import Benchmark
from rb_pipeline.sources.normalize import local_source_files, normalize
from rb_pipeline.sources.records import SourceError

PRESENT, HUB_ONLY, ABSENT = "present", "hub only", "absent locally"


def catalog_summary(benchmarks: dict[str, Benchmark]) -> list[dict]:
    """One entry per benchmark: name, title, kind, hub `repo@revision`, local origin
    (mirror / sample / local / absent), row totals, and per subset its section, weight, expected rows,
    local rows, rejects and availability."""
    return [benchmark_summary(benchmark) for benchmark in benchmarks.values()]


def benchmark_summary(benchmark: Benchmark) -> dict:
    """`catalog_summary` for one benchmark."""
    files = local_source_files(benchmark, missing_ok=True)
    actual: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    totals = {"source_rows": 0, "examples": 0, "rejects": 0}
    error = None
    if files:
        try:
            data = normalize(benchmark, files)
        except SourceError as exc:  # a broken file is reported, not raised: the listing goes on
            error = str(exc)
        else:
            actual.update(data.examples["subset"].to_list())
            rejected.update(s for s in data.rejects["subset"].to_list() if s is not None)
            totals = {
                "source_rows": data.source_rows,
                "examples": data.examples.height,
                "rejects": data.rejects.height,
            }
    hub = benchmark.hub
    names = list(benchmark.all_subsets) + sorted(set(actual) - set(benchmark.all_subsets))
    subsets = []
    for name in names:
        entry = benchmark.all_subsets.get(name)
        here = actual[name] or rejected[name]
        availability = PRESENT if here else (HUB_ONLY if hub is not None else ABSENT)
        subsets.append(
            {
                "subset": name,
                "section": entry.section if entry else None,
                "weight": benchmark.weight_of(name) if entry else None,
                "expected_rows": entry.expected_rows if entry else None,
                "actual_rows": actual[name],
                "rejects": rejected[name],
                "availability": availability,
            }
        )
    origins = sorted({f.origin for f in files})
    return {
        "benchmark": benchmark.benchmark,
        "title": benchmark.title,
        "kind": benchmark.kind,
        "hub": f"{hub.repo}@{hub.revision}" if hub else None,
        "local_origin": ", ".join(origins) if origins else "absent",
        **totals,
        "error": error,
        "subsets": subsets,
    }
