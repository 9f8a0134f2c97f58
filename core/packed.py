"""An encoder stack run over the real tokens only, for training (issue 14).

    out = run_packed(stack, x, mask)     # x (B, T, D), mask (B, 1, 1, T) bool -> (B, T, D)

A batch of sources of different lengths is padded to its longest one: half the positions of a
sorting batch (lengths 1-20) and of a dates batch (8-29 characters) are padding. Everything in a
pre-LN block but attention itself works position by position (the layer norms, the q/k/v and
output projections, the feed-forward, the residual additions), so those run here on the N
real tokens as one (N, D) matrix; only the attention puts them back on the (B, T) grid, with the
same key-padding mask, and takes its real rows out again.

What a real token computes is unchanged (padding is never a key, so it never reaches a real
token), hence so are the loss and every gradient of a loss that reads real positions only (a
tagger's loss ignores padding, a classifier pools real tokens, a decoder's cross-attention masks
the padded memory). Padding rows come back as zeros instead of the values the padded layout
computes for them, which nothing reads. `Stack` takes this path only on a CPU, in training mode
with gradients on, without records, head masks, caches, rotary positions or cross-attention:
evaluation, the explorer and every analysis keep the padded layout and its exact outputs.
tests/test_packed.py holds outputs and gradients equal to the padded layout's.
"""
from __future__ import annotations

import torch

from .attention import _fused


def can_pack(stack, x, mask, memory, rope, caches, head_mask, records, offset) -> bool:
    """Whether `stack` may run `x` (B, T, D) with this key-padding `mask` packed."""
    if not (stack.training and torch.is_grad_enabled()) or x.device.type != "cpu":
        return False                     # (on a GPU the grid costs little; indices would sync)
    if memory is not None or rope is not None or caches is not None or head_mask or offset:
        return False
    if records is not None or mask is None or mask.dtype != torch.bool:
        return False
    B, T = x.shape[:2]
    if tuple(mask.shape) != (B, 1, 1, T):             # a key-padding mask, not causal
        return False
    return all(b.pre and b.cross_attn is None for b in stack.blocks)


def _self_attention(attn, h, idx, B: int, T: int, mask):
    """attn (a MultiHeadAttention) over the real tokens h (N, D), rows idx of the flattened
    (B, T) grid -> (N, D), as attn(grid, mask=mask)[0] gives at those rows."""
    def grid(t):                                                          # (N, D) -> (B, H, T, d)
        full = t.new_zeros(B * T, t.size(1)).index_copy(0, idx, t)        # (B·T, D)
        return attn._split(full.view(B, T, -1))                           # (B, H, T, d)

    q, k, v = grid(attn.q_proj(h)), grid(attn.k_proj(h)), grid(attn.v_proj(h))
    p = attn.dropout if attn.training else 0.0
    out = _fused(q, k, v, mask, p)                                        # (B, H, T, d)
    out = out.transpose(1, 2).reshape(B * T, attn.d_model).index_select(0, idx)   # (N, D)
    return attn.out_proj(out)                                             # (N, D)


def run_packed(stack, x, mask):
    """stack (a pre-LN Stack without cross-attention) over x (B, T, D) with the key-padding mask
    (B, 1, 1, T) -> (B, T, D): real positions as the padded layout computes them, padding 0."""
    B, T, D = x.shape
    idx = mask.reshape(B * T).nonzero().squeeze(1)                        # (N,)
    h = x.reshape(B * T, D).index_select(0, idx)                          # (N, D)
    for block in stack.blocks:                 # the blocks' own residual sub-layers, on rows
        h = block._sublayer(h, block.norm1, lambda t, attn=block.self_attn: _self_attention(
            attn, t, idx, B, T, mask))                                    # (N, D)
        h = block._sublayer(h, block.norm2, block.ff)                     # (N, D)
    h = stack.norm(h)                                                     # (N, D)
    return h.new_zeros(B * T, D).index_copy(0, idx, h).view(B, T, D)     # (B, T, D)
