"""Run tags naming the process that executes a Dagster run (set by the CLI's launches and the scores asset)."""

import os
import socket

# The process that runs a Dagster run's scoring: how a run whose process died is found (reap_dead_runs).
HOST_TAG, PID_TAG = "rb_pipeline/host", "rb_pipeline/pid"


def process_tags() -> dict[str, str]:
    """Tags naming this process, set on the runs it executes."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
