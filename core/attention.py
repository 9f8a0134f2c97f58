"""Scaled dot-product attention and multi-head attention that can hand back every head's weights.

One mask convention everywhere: a boolean mask, True = may attend. Shapes: B batch, H heads,
Tq queries, Tk keys, d head size.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def causal_mask(T: int, device=None, Tk: int | None = None) -> torch.Tensor:
    """(T, Tk) bool, True on and below the diagonal: query i may attend keys j <= i.

    With Tk > T (queries are the last T of Tk positions, as in cached decoding) the diagonal
    shifts so that query i sits at key position i + Tk - T.
    """
    Tk = T if Tk is None else Tk
    return torch.ones(T, Tk, dtype=torch.bool, device=device).tril(diagonal=Tk - T)  # (T, Tk)


def attention_stages(q: torch.Tensor, k: torch.Tensor, mask: torch.Tensor | None = None) -> dict:
    """The four stages of attention for the "stage" view, each (..., Tq, Tk).

    raw = q kᵀ; scaled = raw / √d; masked = scaled with -inf where the mask forbids;
    softmax = the attention weights (masked cells exactly 0, empty rows all 0).
    """
    raw = q @ k.transpose(-2, -1)                                   # (..., Tq, Tk)
    scaled = raw / math.sqrt(q.size(-1))                             # (..., Tq, Tk)
    masked = scaled if mask is None else scaled.masked_fill(~mask, float("-inf"))
    return {"raw": raw, "scaled": scaled, "masked": masked, "softmax": _masked_softmax(masked, mask)}


def stages_from_scores(scaled: torch.Tensor, mask: torch.Tensor | None, d_head: int) -> dict:
    """Rebuild the four stages from recorded scaled scores (what a model returns)."""
    masked = scaled if mask is None else scaled.masked_fill(~mask, float("-inf"))
    return {"raw": scaled * math.sqrt(d_head), "scaled": scaled, "masked": masked,
            "softmax": _masked_softmax(masked, mask)}


def _masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    weights = torch.softmax(scores, dim=-1)                          # (..., Tq, Tk)
    if mask is not None:
        # A fully masked row is NaN after softmax (all -inf): zero it, and make masked cells exact 0.
        weights = weights.masked_fill(~mask, 0.0)
    return weights


def scaled_dot_product_attention(q, k, v, mask=None):
    """softmax(q kᵀ / √d) v with the weights returned.

    q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv), mask bool broadcastable to (..., Tq, Tk),
    True = may attend. Returns (out (..., Tq, dv), weights (..., Tq, Tk)); rows sum to 1, masked
    cells are exactly 0 and a row with nothing to attend to is all zeros (its output too).
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))        # (..., Tq, Tk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = _masked_softmax(scores, mask)                          # (..., Tq, Tk)
    return weights @ v, weights                                      # (..., Tq, dv)


class KVCache:
    """Keys and values of one self-attention layer, grown one step at a time (decoding).

    The steps live in a buffer that doubles when full, so appending one step copies only that
    step (a torch.cat per step would copy the whole history every time: quadratic in length).
    """

    def __init__(self):
        self._k = self._v = None   # (B, H, capacity, d)
        self._len = 0

    def __len__(self) -> int:
        return self._len

    @property
    def k(self):
        return None if self._k is None else self._k[:, :, :self._len]   # (B, H, T, d)

    @property
    def v(self):
        return None if self._v is None else self._v[:, :, :self._len]   # (B, H, T, d)

    def update(self, k, v):
        """Append the new steps' keys and values (B, H, t, d); return all of them so far."""
        end = self._len + k.size(-2)
        if self._k is None or end > self._k.size(-2):
            cap = max(end, 2 * (0 if self._k is None else self._k.size(-2)), 16)
            grown_k = k.new_empty(*k.shape[:-2], cap, k.size(-1))           # (B, H, cap, d)
            grown_v = v.new_empty(*v.shape[:-2], cap, v.size(-1))
            if self._len:
                grown_k[:, :, :self._len] = self.k
                grown_v[:, :, :self._len] = self.v
            self._k, self._v = grown_k, grown_v
        self._k[:, :, self._len:end] = k
        self._v[:, :, self._len:end] = v
        self._len = end
        return self.k, self.v                                              # (B, H, T, d)


class MultiHeadAttention(nn.Module):
    """Multi-head attention with q_proj / k_proj / v_proj / out_proj, each Linear(d_model, d_model).

    forward(x, context=None, mask=None, need_weights=False) -> (out, weights):
    x (B, Tq, D); context (B, Tk, D) is the key/value source (None = self-attention);
    mask bool broadcastable to (B, H, Tq, Tk), True = may attend; weights (B, H, Tq, Tk)
    post-softmax, pre-dropout, or None when not asked for (then the fused kernel runs).

    Keyword-only extras, all per call (nothing is stored on the module):
    rope (a RotaryEmbedding) rotates q and k by position, with q/k positions starting at `offset`;
    cache (a KVCache) appends this call's keys/values and attends over all of them;
    head_mask (H,) multiplies each head's output (0 switches a head off, for ablation);
    record (a dict) receives "weights", "scores" (scaled q·kᵀ before masking), "mask" and
    "concat" (B, Tq, D): every head's output side by side, before out_proj.
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_model // n_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self.dropout = dropout

    def _split(self, x):
        B, T, _ = x.shape
        return x.view(B, T, self.n_heads, self.d_head).transpose(1, 2)   # (B, H, T, d)

    def forward(self, x, context=None, mask=None, need_weights=False, *, rope=None, offset=0,
                cache=None, head_mask=None, record=None):
        source = x if context is None else context
        q = self._split(self.q_proj(x))                                  # (B, H, Tq, d)
        k = self._split(self.k_proj(source))                             # (B, H, Tk, d)
        v = self._split(self.v_proj(source))                             # (B, H, Tk, d)
        if rope is not None:
            q = rope(q, offset)
            k = rope(k, offset)
        if cache is not None:
            k, v = cache.update(k, v)                                    # (B, H, Tcache, d)
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights or record is not None:
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)     # (B, H, Tq, Tk)
            masked = scores if mask is None else scores.masked_fill(~mask, float("-inf"))
            weights = _masked_softmax(masked, mask)                      # (B, H, Tq, Tk)
            out = F.dropout(weights, p, self.training) @ v               # (B, H, Tq, d)
            if record is not None:
                record.update(weights=weights, scores=scores, mask=mask)
        else:
            out = _fused(q, k, v, mask, p)                               # (B, H, Tq, d)
        if head_mask is not None:
            head_mask = torch.as_tensor(head_mask)
            if head_mask.numel() != self.n_heads:
                raise ValueError(f"head_mask needs one value per head ({self.n_heads}), got "
                                 f"shape {tuple(head_mask.shape)}")
            out = out * head_mask.to(device=out.device, dtype=out.dtype).view(1, -1, 1, 1)
        B, _, Tq, _ = out.shape
        out = out.transpose(1, 2).reshape(B, Tq, self.d_model)           # (B, Tq, D)
        if record is not None:
            record["concat"] = out         # the heads' outputs side by side, before out_proj
        return self.out_proj(out), (weights if need_weights else None)


def _fused(q, k, v, mask, p):
    """torch's fused kernel, made to agree with the explicit path on fully masked rows (zeros)."""
    if mask is None:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=p)
    empty = ~mask.any(dim=-1, keepdim=True)                              # (..., Tq, 1)
    if bool(empty.any()):
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask | empty, dropout_p=p)
        return out.masked_fill(empty, 0.0)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
