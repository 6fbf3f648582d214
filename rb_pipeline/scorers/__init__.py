"""Built-in scorers; importing this package registers them."""

from rb_pipeline.scorers import (
    classifier,  # noqa: F401
    dpo,  # noqa: F401
    judges,  # noqa: F401
)
