"""Published results in: `importer` reads result files written by other tools (rewardbench, RMB) into
the lake as runs; each module here is one result format, registered in `importer.RESULT_FORMATS` when
imported. A document is tried against the formats in the order imported below (the first that reads
it wins: a CLI metrics file with `extra_results: null` would also read as plain metrics).
"""

from rb_pipeline.sources.results import (  # noqa: F401, I001 (imported to register, in this order)
    rewardbench_cli_metrics,
    rmb_results,
    rewardbench_scores,
    rewardbench_metrics,
)
