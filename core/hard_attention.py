"""Hard attention: each head looks at exactly one position instead of a weighted mix.

Soft attention returns a weighted average over all keys; hard attention (Xu et al. 2015, "Show,
Attend and Tell", arXiv:1502.03044) picks one: the most likely (argmax) or one drawn from the
weights, which makes the choice a sample. Pure torch, no model.
"""
from __future__ import annotations

import torch


def hard_attention(weights, mode: str = "argmax", seed: int = 0):
    """weights (..., N): soft attention rows (non-negative; each row is renormalised).

    Returns (index (...,) long, one_hot (..., N) of weights' dtype): per row the argmax
    (mode="argmax", ties to the lowest index) or a draw from the row's distribution
    (mode="sample", seeded: the same seed gives the same picks).
    """
    w = torch.as_tensor(weights)
    if w.dim() < 1 or w.size(-1) == 0:
        raise ValueError(f"weights must have a last axis of positions, got shape {tuple(w.shape)}")
    if not torch.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights must be finite and non-negative")
    total = w.sum(-1, keepdim=True)                                      # (..., 1)
    if (total <= 0).any():
        raise ValueError("every row of weights needs some positive weight")
    if mode == "argmax":
        index = w.argmax(-1)                                             # (...,)
    elif mode == "sample":
        g = torch.Generator().manual_seed(int(seed))
        p = (w / total).reshape(-1, w.size(-1)).to("cpu", torch.float64)  # (rows, N)
        index = torch.multinomial(p, 1, generator=g).reshape(w.shape[:-1]).to(w.device)
    else:
        raise ValueError(f"mode must be 'argmax' or 'sample', got {mode!r}")
    one_hot = torch.zeros_like(w).scatter_(-1, index.unsqueeze(-1), 1.0)  # (..., N)
    return index, one_hot
