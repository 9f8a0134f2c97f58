"""Positional encodings: sinusoidal (Vaswani et al. 2017), learned, none, RoPE, and 2-D sin-cos.

Every function returns plain tensors so a notebook or the app can plot them.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn


def _inverse_frequencies(d_model: int, base: float = 10000.0) -> torch.Tensor:
    """1 / base^(2i/d) for i = 0 .. ceil(d/2)-1, float64 for exact tables."""
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)             # (ceil(d/2),)
    return base ** (-two_i / d_model)


def sinusoidal_encoding(n_positions: int, d_model: int) -> torch.Tensor:
    """(n_positions, d_model): PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(same)."""
    if n_positions < 0 or d_model < 1:
        raise ValueError("n_positions must be >= 0 and d_model >= 1")
    pos = torch.arange(n_positions, dtype=torch.float64)[:, None]        # (N, 1)
    angles = pos * _inverse_frequencies(d_model)[None, :]                # (N, ceil(d/2))
    pe = torch.zeros(n_positions, d_model, dtype=torch.float64)          # (N, D)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles[:, : d_model // 2])
    return pe.float()


def sinusoidal_wavelengths(d_model: int) -> torch.Tensor:
    """(d_model,): the period in positions of each dimension, 2π·10000^(2i/d) for 2i and 2i+1."""
    periods = 2 * math.pi / _inverse_frequencies(d_model)                # (ceil(d/2),)
    return periods.repeat_interleave(2)[:d_model].float()                # (D,)


def sincos_2d(grid_h: int, grid_w: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    """(grid_h * grid_w, d_model) 2-D sin-cos embedding of a patch grid, row-major.

    Half the channels encode the row and half the column, each as a 1-D sinusoidal encoding.
    """
    if d_model % 4:
        raise ValueError("2-D sin-cos needs d_model divisible by 4")
    half = d_model // 2
    rows = sinusoidal_encoding(grid_h, half)                             # (Hg, D/2)
    cols = sinusoidal_encoding(grid_w, half)                             # (Wg, D/2)
    rows = rows[:, None, :].expand(grid_h, grid_w, half)                 # (Hg, Wg, D/2)
    cols = cols[None, :, :].expand(grid_h, grid_w, half)                 # (Hg, Wg, D/2)
    return torch.cat([rows, cols], dim=-1).reshape(grid_h * grid_w, d_model)  # (N, D)


def rope_angles(n_positions: int, d_head: int, base: float = 10000.0) -> torch.Tensor:
    """(n_positions, d_head / 2): the rotation angle p·θ_i of each pair of dimensions."""
    pos = torch.arange(n_positions, dtype=torch.float64)[:, None]        # (N, 1)
    return (pos * _inverse_frequencies(d_head, base)[None, :]).float()   # (N, d/2)


def apply_rope(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate consecutive pairs (x[2i], x[2i+1]) of x (..., T, d) by angles (T, d/2)."""
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)        # (T, d/2)
    x1, x2 = x[..., 0::2], x[..., 1::2]                                  # (..., T, d/2)
    out = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)  # (..., T, d/2, 2)
    return out.flatten(-2)                                               # (..., T, d)


class RotaryEmbedding(nn.Module):
    """RoPE (Su et al. 2021) applied to q and k inside attention: q·k depends on j - i only."""

    def __init__(self, d_head: int, max_len: int, base: float = 10000.0):
        super().__init__()
        if d_head % 2:
            raise ValueError("RoPE needs an even head size")
        self.register_buffer("angles", rope_angles(max_len, d_head, base), persistent=False)

    def forward(self, x, offset: int = 0):
        T = x.size(-2)                                                   # x (B, H, T, d)
        if offset + T > self.angles.size(0):
            raise ValueError(f"sequence of {offset + T} positions is longer than max_len "
                             f"{self.angles.size(0)}")
        return apply_rope(x, self.angles[offset:offset + T])             # (B, H, T, d)


class PositionalEmbedding(nn.Module):
    """Absolute position vectors added to token embeddings: "learned", "sinusoidal" or "none".

    forward(T, offset=0) -> (T, D) or None for "none" (and for "rope", which acts inside attention).
    table() -> (max_len, D): the encoding as a tensor for plotting (zeros for "none"/"rope").
    """

    def __init__(self, kind: str, max_len: int, d_model: int):
        super().__init__()
        self.kind, self.max_len, self.d_model = kind, max_len, d_model
        if kind == "learned":
            self.weight = nn.Parameter(torch.randn(max_len, d_model) * 0.02)
        elif kind == "sinusoidal":
            self.register_buffer("weight", sinusoidal_encoding(max_len, d_model), persistent=False)
        elif kind not in ("none", "rope"):
            raise ValueError(f"unknown positional encoding {kind!r}")

    def forward(self, T: int, offset: int = 0):
        if offset + T > self.max_len:
            raise ValueError(f"sequence of {offset + T} positions is longer than max_len "
                             f"{self.max_len}")
        if self.kind in ("none", "rope"):
            return None
        return self.weight[offset:offset + T]                            # (T, D)

    def table(self) -> torch.Tensor:
        if self.kind in ("none", "rope"):
            return torch.zeros(self.max_len, self.d_model)
        return self.weight.detach().clone()                              # (max_len, D)
