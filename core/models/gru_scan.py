"""A (bidirectional) GRU layer over right-padded sequences, both directions in one loop.

    memory = gru_scan(gru, x, keep)      # nn.GRU's weights; x (B, T, E), keep (B, T) bool
    memory = run_gru(gru, x, keep)       # gru_scan when training, torch's packed GRU otherwise

Equal to running `gru` (an nn.GRU with one layer, batch_first) over the packed sequences and
padding its output with zeros, but cheaper to train on a CPU: the input projections of every
step are one matrix product, the two directions advance together in one batched product per
step (its weight gradient summed over the steps in one product: core/models/rnn_ops), and
there is no packing. On a CPU autograd replays nn.GRU's packed loop op by op, so
training the dates_rnn encoder cost about as much as the whole decoder (issue 14).

Why no packing is needed: the padding is at the end of each row, so the forward direction reads
every real character before any padding (what it computes at padded steps is dropped), and the
backward direction reads each row with its real characters reversed in place (the padding stays
at the end), then its outputs are put back in order.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .rnn_ops import SharedOperand


def reversed_in_place(keep: torch.Tensor) -> torch.Tensor:
    """keep (B, T) bool, right-padded -> (B, T) long index: each row's real positions in reverse
    order, padding positions unchanged (a permutation that is its own inverse)."""
    T = keep.size(1)
    lengths = keep.sum(1, keepdim=True)                                   # (B, 1)
    t = torch.arange(T, device=keep.device)[None]                          # (1, T)
    return torch.where(t < lengths, lengths - 1 - t, t)                   # (B, T)


def gru_update(gi: torch.Tensor, gh: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """One GRU step from its projections, as torch.nn.GRU defines it (gates r, z, n):
    gi = W_i x + b_i and gh = W_h h + b_h (..., 3H), h (..., H) -> the new state (..., H)."""
    H = h.size(-1)
    i_rz, i_n = gi.split([2 * H, H], -1)          # split, not slices: one backward node each
    h_rz, h_n = gh.split([2 * H, H], -1)
    r, z = torch.sigmoid(i_rz + h_rz).chunk(2, -1)                        # (..., H) each
    n = torch.tanh(i_n + r * h_n)                                         # (..., H)
    return torch.lerp(n, h, z)                                            # (1 - z) n + z h


def _weights(gru: nn.GRU, directions: int):
    """The layer's weights stacked by direction: (D, 3H, E), (D, 3H, H), (D, 3H), (D, 3H)."""
    sfx = ["", "_reverse"][:directions]
    return [torch.stack([getattr(gru, f"{name}_l0{s}") for s in sfx])
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def gru_scan(gru: nn.GRU, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """x (B, T, E) right-padded, keep (B, T) bool (True = a real step) -> (B, T, D·H) outputs,
    the forward direction's then the backward one's, zeros at padding (D = 2 if bidirectional)."""
    if gru.num_layers != 1 or not gru.batch_first or not gru.bias:
        raise ValueError("gru_scan runs one batch_first GRU layer with biases")
    B, T, E = x.shape
    D, H = 2 if gru.bidirectional else 1, gru.hidden_size
    w_ih, w_hh, b_ih, b_hh = _weights(gru, D)
    rev = reversed_in_place(keep)                                         # (B, T)
    xs = [x] if D == 1 else [x, x.gather(1, rev[..., None].expand(B, T, E))]
    xs = torch.stack(xs).transpose(1, 2)                                  # (D, T, B, E)
    gi = torch.matmul(xs, w_ih.transpose(1, 2)[:, None]) + b_ih[:, None, None]  # (D, T, B, 3H)
    box = SharedOperand()                  # W_h's gradient summed over the steps in one product
    w_hh_t, b_hh = box.track(w_hh.transpose(1, 2)), b_hh[:, None]         # (D, H, 3H), (D, 1, 3H)
    h = x.new_zeros(D, B, H)                                              # (D, B, H)
    outs = []
    for g in gi.unbind(1):                                                # T x (D, B, 3H)
        h = gru_update(g, box.product(h, w_hh_t) + b_hh, h)               # (D, B, H)
        outs.append(h)
    out = torch.stack(outs, 2)                                            # (D, B, T, H)
    parts = [out[0]] if D == 1 else [out[0], out[1].gather(1, rev[..., None].expand(B, T, H))]
    return torch.cat(parts, -1) * keep[..., None]                         # (B, T, D·H)


def packed_gru(gru: nn.GRU, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """gru_scan's result from torch's own nn.GRU over the packed rows (its C++ loop: 2-3x
    faster than gru_scan's without gradients, far slower to differentiate on a CPU)."""
    lengths = keep.sum(1).clamp(min=1).cpu()                              # (B,)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, _ = gru(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))  # (B, T, D·H)
    return out * keep[..., None]                                          # (B, T, D·H)


def run_gru(gru: nn.GRU, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """The layer's outputs (B, T, D·H), zeros at padding: gru_scan where gradients will flow,
    packed_gru where they will not (evaluation, generation)."""
    if torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad
                                                           for p in gru.parameters())):
        return gru_scan(gru, x, keep)
    return packed_gru(gru, x, keep)
