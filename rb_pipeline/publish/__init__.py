"""Publishing: the score dataset for the Hub, the static report."""
