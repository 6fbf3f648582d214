"""Resources, chosen in one place by environment (see `definitions.py`)."""

from dagster import ConfigurableResource


class ScoringResource(ConfigurableResource):
    """Where scoring runs: `cpu`, `cuda` or `cuda:N`; None: cuda when present, else cpu (decided when a
    model is loaded)."""

    device: str | None = None
