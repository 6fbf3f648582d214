"""rb-pipeline: RewardBench and RMB as a data lake. Plain Python; Dagster lives in `assets/`."""

__version__ = "0.1.0"
