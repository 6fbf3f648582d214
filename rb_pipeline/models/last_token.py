"""A sequence classifier reads one position per row: the last token that is not the pad id (transformers'
pooling rule). Its last layer still needs keys and values at every position, but its queries, attention
output and MLP only at that position. `classifier.classify` runs the last block that way for the
architectures below (GPT-2's 12 layers: about 7% of a forward's FLOPs; a share of 1 / layers in general)
and every other block, the embeddings and the head through the model's own code.

Each row's pooled position is computed here with the head's rule; every other position of the last
block's output is NaN, so a row the head pools elsewhere cannot score silently: any non-finite logit
sends the batch through the model's whole forward instead.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
import torch.nn.functional as F
import transformers

# sequence-classifier classes whose last block `gpt2_block_at` mirrors (checked against the whole
# forward by tests/models/test_last_token.py); others run their whole forward
LAST_BLOCK_CLASSES = frozenset({"GPT2ForSequenceClassification"})


def runs_last_block_at_pooled_token(model) -> bool:
    """Whether `classifier.classify` takes the last-block shortcut for this model: transformers' own
    GPT-2 classifier on one device (transformers >= 5; SDPA or eager attention without
    upcast-and-reorder; no cross-attention) with a pad id to pool by."""
    config = model.config
    return (
        int(transformers.__version__.split(".")[0]) >= 5  # blocks return a tensor, take `cache` second
        and type(model).__name__ in LAST_BLOCK_CLASSES
        and type(model).__module__.startswith("transformers.")
        and config.pad_token_id is not None
        and not hasattr(model, "hf_device_map")  # placed by accelerate, whose hooks wrap each forward
        and not config.add_cross_attention
        and config._attn_implementation in ("sdpa", "eager")  # a 4-D mask or none (flash: 2-D)
        and not (config._attn_implementation == "eager" and config.reorder_and_upcast_attn)
    )


def pooled_positions(input_ids: torch.Tensor, pad_token_id: int) -> torch.Tensor:
    """The position each row is pooled at: its rightmost token that is not the pad id (0 when all are)."""
    positions = torch.arange(input_ids.shape[-1], device=input_ids.device)
    return (positions * (input_ids != pad_token_id)).argmax(-1)


@contextmanager
def last_block_at(block: torch.nn.Module, positions: torch.Tensor):
    """Run `block` only at `positions` (one per row) while inside."""

    def forward(hidden_states, cache=None, attention_mask=None, *args, **kwargs):
        return gpt2_block_at(block, hidden_states, attention_mask, positions.to(hidden_states.device))

    before = vars(block).get("forward")  # a hook's wrapper, if any (else the class's forward)
    block.forward = forward
    try:
        yield
    finally:
        if before is None:
            del block.forward
        else:
            block.forward = before


def gpt2_block_at(
    block: torch.nn.Module, hidden_states: torch.Tensor, mask: torch.Tensor | None, positions: torch.Tensor
) -> torch.Tensor:
    """`GPT2Block.forward` (self-attention, eval mode) at one position per row: keys and values from
    every position, the rest from that position alone. `mask`: the model's 4-D attention mask (boolean
    or additive) or None (plain causal). Returns the block's output shape, NaN where not computed."""
    attention = block.attn
    rows = torch.arange(hidden_states.shape[0], device=hidden_states.device)
    batch, width, dim = hidden_states.shape
    heads, head_dim = attention.num_heads, attention.head_dim
    normed = block.ln_1(hidden_states)
    weight, bias = attention.c_attn.weight, attention.c_attn.bias  # Conv1D: x @ weight + bias, [q | k | v]
    keys_values = torch.addmm(bias[dim:], normed.reshape(-1, dim), weight[:, dim:])
    key, value = keys_values.view(batch, width, 2, heads, head_dim).permute(2, 0, 3, 1, 4)
    query = torch.addmm(bias[:dim], normed[rows, positions], weight[:, :dim]).view(batch, heads, 1, head_dim)
    if mask is None:
        allowed = torch.arange(width, device=positions.device)[None, :] <= positions[:, None]
        mask = allowed[:, None, None, :]
    else:
        mask = mask.expand(batch, -1, -1, -1)[rows, :, positions, :].unsqueeze(2)
    attended = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=attention.scaling)
    residual = hidden_states[rows, positions] + attention.c_proj(attended.reshape(batch, dim))
    out = residual + block.mlp(block.ln_2(residual))
    result = hidden_states.new_full(hidden_states.shape, float("nan"))
    result[rows, positions] = out
    return result
