"""Attention maps shrunk for a thumbnail: each cell of the small map is the largest weight of a
block of the big one, so a sharp pattern (a diagonal, a column of sinks) stays visible at any
size, where a mean would fade it by the block's width.

    small, q_bins, k_bins = max_pool_map(w, 48)          # w (..., Tq, Tk) -> (..., tq, tk)

torch only.
"""
from __future__ import annotations

import math

import torch


def bins(n: int, parts: int) -> list[tuple[int, int]]:
    """[(start, stop)] of `parts` contiguous, non-overlapping blocks covering range(n), as even
    as possible (sizes differ by at most one)."""
    if n < 1 or parts < 1:
        raise ValueError(f"need n >= 1 and parts >= 1, got n={n}, parts={parts}")
    parts = min(parts, n)
    edges = [(i * n) // parts for i in range(parts + 1)]
    return [(edges[i], edges[i + 1]) for i in range(parts)]


def _pool_last(x: torch.Tensor, blocks: list[tuple[int, int]]) -> torch.Tensor:
    """Max over each block of the last axis: (..., n) -> (..., len(blocks))."""
    if len(blocks) == x.shape[-1]:
        return x
    size = max(b - a for a, b in blocks)
    n = x.shape[-1]
    # Pad each block to `size` with -inf by gathering indices (a block shorter than size
    # repeats its last index, which leaves its max unchanged).
    idx = torch.tensor([[min(a + j, b - 1) for j in range(size)] for a, b in blocks],
                       dtype=torch.long)                                  # (parts, size)
    if int(idx.max()) >= n:
        raise ValueError("blocks reach past the axis")
    g = x[..., idx.reshape(-1)]                                          # (..., parts * size)
    return g.reshape(*x.shape[:-1], len(blocks), size).amax(-1)          # (..., parts)


def max_pool_map(w: torch.Tensor, max_side: int):
    """w (..., Tq, Tk) -> (small (..., tq, tk), q blocks, k blocks) with tq <= max_side and
    tk <= max_side: each cell is the max of its block [start, stop) of queries × keys.
    A map already small enough comes back unchanged, with one-position blocks."""
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    Tq, Tk = w.shape[-2:]
    qb = bins(Tq, min(Tq, max_side))
    kb = bins(Tk, min(Tk, max_side))
    small = _pool_last(w, kb)                                            # (..., Tq, tk)
    small = _pool_last(small.transpose(-1, -2), qb).transpose(-1, -2)    # (..., tq, tk)
    return small, qb, kb


def block_labels(labels: list, blocks: list[tuple[int, int]]) -> list[str]:
    """A label per block: the token itself for a one-position block, else 'first…last (a–b)'."""
    out = []
    for a, b in blocks:
        if b - a == 1:
            out.append(str(labels[a]))
        else:
            out.append(f"{labels[a]}…{labels[b - 1]} ({a}–{b - 1})")
    return out


def pool_factor(n: int, max_side: int) -> int:
    """How many positions the largest block holds."""
    return math.ceil(n / max(1, min(n, max_side)))
