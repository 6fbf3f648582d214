"""The engine: runs a model over normalized data (scoring, judging, data parallel) and records the run."""
