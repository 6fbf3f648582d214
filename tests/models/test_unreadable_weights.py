"""An unreadable weights file ends in one line naming the model and what to do (issue 28 wording):
a cut safetensors file, and a pickle refused by torch's weights-only loader (whose advice to load it
with `weights_only=False` is not repeated)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from rb_pipeline.catalog.entries import ModelEntry
from rb_pipeline.core.settings import ScorerSettings
from rb_pipeline.models.loader import load_scorer


class RunsCode:
    """Pickles as a call to `print`: a file that could run code, which must never be loaded."""

    def __reduce__(self):
        return (print, ("this must not be printed",))


def load_error(folder: Path) -> str:
    with pytest.raises(RuntimeError) as caught:
        load_scorer(ModelEntry(id="broken-model", source=str(folder)), ScorerSettings(), "cpu")
    return str(caught.value)


def test_cut_safetensors_names_the_model_and_says_what_to_do(tiny_classifier: Path, tmp_path: Path) -> None:
    folder = shutil.copytree(tiny_classifier, tmp_path / "cut")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    message = load_error(folder)
    assert message.startswith(f"model broken-model: cannot load from {folder}: ")
    assert "corrupt or cut short" in message and "download or copy the model again" in message
    assert "\n" not in message


def test_refused_pickle_does_not_advise_weights_only_false(
    tiny_classifier: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    folder = shutil.copytree(tiny_classifier, tmp_path / "pickled")
    (folder / "model.safetensors").unlink()
    torch.save({"x": RunsCode()}, folder / "pytorch_model.bin")
    message = load_error(folder)
    assert message.startswith(f"model broken-model: cannot load from {folder}: ")
    assert "use a safetensors copy" in message
    assert "weights_only" not in message and "\n" not in message
    assert "this must not be printed" not in capsys.readouterr().out


def test_weights_that_do_not_fit_the_config_name_the_tensor(tiny_classifier: Path, tmp_path: Path) -> None:
    """A config.json from another model (here a larger vocabulary) ended in transformers' "For details
    look at the above report!", a report the user is not shown: the tensor and both shapes are named."""
    import json

    folder = shutil.copytree(tiny_classifier, tmp_path / "other-config")
    config = json.loads((folder / "config.json").read_text())
    vocab = config["vocab_size"]
    (folder / "config.json").write_text(json.dumps(config | {"vocab_size": vocab + 8}))
    message = load_error(folder)
    assert message.startswith(
        f"model broken-model: cannot load from {folder}: its weights do not fit its config.json: "
    )
    assert f"in the weights but [{vocab + 8}," in message and "come from different models" in message
    assert "above report" not in message and "\n" not in message
