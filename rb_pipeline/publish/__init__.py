"""Publishing and importing: score datasets to the Hub, results of other tools into the lake."""
