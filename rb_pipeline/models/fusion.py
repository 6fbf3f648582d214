"""Faster kernels for the same functions, swapped in when a model is loaded (`fuse`): scores move by
float32 rounding only (~1e-7, pinned to 1e-5 by tests/models/test_fusion.py).

- GELUs written as elementwise Python ops (GPT-2's `gelu_new`, `gelu_fast`) become torch's fused
  kernel of the same function (a GPT-2-small forward on the CPU: about 20% faster).
- On the CPU, an MLP's up-projection and its GELU become one oneDNN matmul with the GELU in its
  epilogue (`LinearGELU`; GPT-2 and GPT-NeoX MLPs): the activation is computed while the product is
  still in cache instead of in a second pass over memory (3 to 5% of a GPT-2-small forward here).
"""

from __future__ import annotations

import torch
from transformers import activations

# MLP class -> (its up-projection, its activation): the activation is applied to the projection alone
MLP_UP_PROJECTIONS = {"GPT2MLP": ("c_fc", "act"), "GPTNeoXMLP": ("dense_h_to_4h", "act")}


def fuse(model: torch.nn.Module) -> None:
    """Every swap below that applies to `model` (called once, at load)."""
    fuse_activations(model)
    fuse_gelu_into_matmul(model)


def fuse_activations(model: torch.nn.Module) -> int:
    """Swap tanh-approximate GELUs written as elementwise ops for torch's fused kernel; return how many."""
    unfused = (activations.NewGELUActivation, activations.FastGELUActivation)
    swapped = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) in unfused:
                setattr(module, name, activations.GELUTanh())
                swapped += 1
    return swapped


def gelu_approximation(module: torch.nn.Module) -> str | None:
    """oneDNN's name of the GELU `module` computes ("tanh" or "none"), else None."""
    if isinstance(module, activations.GELUTanh) or (
        isinstance(module, torch.nn.GELU) and module.approximate == "tanh"
    ):
        return "tanh"
    if isinstance(module, activations.GELUActivation) or (
        isinstance(module, torch.nn.GELU) and module.approximate == "none"
    ):
        return "none"
    return None


class LinearGELU(torch.nn.Module):
    """`gelu(x @ weight.T + bias)` as one oneDNN call (`torch.ops.mkldnn._linear_pointwise`, the op
    torch's own CPU compiler emits), on a weight packed once for it. Inference only."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, approximate: str) -> None:
        super().__init__()
        self.out_features, self.in_features = weight.shape
        self.packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach().contiguous(), 4096)
        self.bias = bias.detach()
        self.approximate = approximate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        out = torch.ops.mkldnn._linear_pointwise(flat, self.packed, self.bias, "gelu", [], self.approximate)
        return out.view(*x.shape[:-1], self.out_features)


def fuse_gelu_into_matmul(model: torch.nn.Module) -> int:
    """Replace the up-projection + GELU of each known MLP (`MLP_UP_PROJECTIONS`) on the CPU in float32
    (not in a model placed by a device map) by a `LinearGELU` (the activation by an identity); return how many. Nothing changes where oneDNN is
    missing or a first fused product differs from the unfused one by more than float rounding."""
    if not torch.backends.mkldnn.is_available() or not hasattr(torch.ops.mkldnn, "_linear_pointwise"):
        return 0
    if hasattr(model, "hf_device_map"):  # placed by accelerate: its hooks load the weights it offloads
        return 0
    fused = 0
    for module in list(model.modules()):
        names = MLP_UP_PROJECTIONS.get(type(module).__name__)
        if names is None:
            continue
        projection, activation = (getattr(module, name) for name in names)
        approximate = gelu_approximation(activation)
        weight = getattr(projection, "weight", None)
        if (
            approximate is None
            or weight is None
            or weight.device.type != "cpu"
            or weight.dtype != torch.float32
        ):
            continue
        # transformers' Conv1D (GPT-2) stores the weight as [in, out], torch.nn.Linear as [out, in]
        weight = weight.t() if type(projection).__name__ == "Conv1D" else weight
        replacement = LinearGELU(weight, projection.bias, approximate)
        if fused == 0 and not agrees(replacement, projection, activation):
            return 0
        setattr(module, names[0], replacement)
        setattr(module, names[1], torch.nn.Identity())
        fused += 1
    return fused


@torch.inference_mode()
def agrees(fused: LinearGELU, projection: torch.nn.Module, activation: torch.nn.Module) -> bool:
    """Whether the fused module computes what the projection and activation do, on a random input."""
    try:
        x = torch.randn(7, fused.in_features)
        expected = activation(projection(x))
        got = fused(x)
    except RuntimeError:
        return False
    scale = float(expected.abs().max()) or 1.0
    return got.shape == expected.shape and float((got - expected).abs().max()) <= 1e-5 * max(scale, 1.0)
