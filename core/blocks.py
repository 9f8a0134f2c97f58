"""Transformer blocks shared by every model: attention + feed-forward, pre-LN or post-LN.

A `Stack` is a list of blocks plus a final norm. It names its attention modules
`blocks.{i}.self_attn` / `blocks.{i}.cross_attn`; a model that holds it as `encoder` or
`decoder` passes that prefix, so attention dict keys equal `model.named_modules()` names.
"""
from __future__ import annotations

import torch.nn as nn
import torch.nn.functional as F

from .attention import KVCache, MultiHeadAttention
from .config import TransformerConfig
from .packed import can_pack, run_packed


def activation(name: str) -> nn.Module:
    """The feed-forward non-linearity for a config's `activation` (Hugging Face's names)."""
    acts = {"gelu": lambda: nn.GELU(), "gelu_new": lambda: nn.GELU(approximate="tanh"),
            "relu": lambda: nn.ReLU(), "silu": lambda: nn.SiLU(), "quick_gelu": lambda: QuickGELU()}
    if name not in acts:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(acts)}")
    return acts[name]()


class QuickGELU(nn.Module):
    """x·σ(1.702x) (CLIP's GELU approximation)."""

    def forward(self, x):
        return x * F.sigmoid(1.702 * x)


class FeedForward(nn.Module):
    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0, bias: bool = True,
                 act: str = "gelu"):
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_ff, bias=bias)
        self.fc2 = nn.Linear(d_ff, d_model, bias=bias)
        self.act = activation(act)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.drop(self.fc2(self.act(self.fc1(x))))               # (B, T, D)


class Block(nn.Module):
    """Self-attention, optional cross-attention, feed-forward; each a residual sub-layer."""

    def __init__(self, cfg: TransformerConfig, cross: bool = False):
        super().__init__()
        self.pre = cfg.norm == "pre"
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, cfg.dropout, cfg.bias)
        self.norm1 = nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)
        if cross:
            self.cross_attn = MultiHeadAttention(cfg.d_model, cfg.n_heads, cfg.dropout, cfg.bias)
            self.norm_cross = nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)
        else:
            self.cross_attn = None
        self.ff = FeedForward(cfg.d_model, cfg.ff_dim, cfg.dropout, cfg.bias, cfg.activation)
        self.norm2 = nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)
        self.drop = nn.Dropout(cfg.dropout)

    def _sublayer(self, x, norm, fn):
        if self.pre:
            return x + self.drop(fn(norm(x)))                            # (B, T, D)
        return norm(x + self.drop(fn(x)))

    def forward(self, x, mask=None, memory=None, memory_mask=None, *, rope=None, offset=0,
                cache=None, head_masks=None, records=None):
        """records: dict to fill with {"self_attn": {...}, "cross_attn": {...}} when given."""
        hm = head_masks or {}
        rec_self = rec_cross = None
        if records is not None:
            rec_self = records.setdefault("self_attn", {})
            if self.cross_attn is not None:
                rec_cross = records.setdefault("cross_attn", {})
        x = self._sublayer(x, self.norm1, lambda h: self.self_attn(
            h, mask=mask, rope=rope, offset=offset, cache=cache,
            head_mask=hm.get("self_attn"), record=rec_self)[0])
        if self.cross_attn is not None:
            x = self._sublayer(x, self.norm_cross, lambda h: self.cross_attn(
                h, context=memory, mask=memory_mask, head_mask=hm.get("cross_attn"),
                record=rec_cross)[0])
        return self._sublayer(x, self.norm2, self.ff)                    # (B, T, D)


class Stack(nn.Module):
    """n_layers blocks and a final LayerNorm (pre-LN only; post-LN blocks end normalised)."""

    def __init__(self, cfg: TransformerConfig, n_layers: int, cross: bool = False):
        super().__init__()
        self.blocks = nn.ModuleList(Block(cfg, cross) for _ in range(n_layers))
        self.norm = (nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps) if cfg.norm == "pre"
                     else nn.Identity())

    def forward(self, x, mask=None, memory=None, memory_mask=None, *, prefix: str, rope=None,
                offset=0, caches=None, head_mask=None, records=None):
        """head_mask: {module name: (H,)}; records: dict filled as {module name: record}.
        Training an encoder over padded sources runs the real tokens only (core/packed.py)."""
        if can_pack(self, x, mask, memory, rope, caches, head_mask, records, offset):
            return run_packed(self, x, mask)                              # (B, T, D)
        for i, block in enumerate(self.blocks):
            name = f"{prefix}blocks.{i}."
            block_hm = None
            if head_mask:
                block_hm = {kind: head_mask[name + kind] for kind in ("self_attn", "cross_attn")
                            if name + kind in head_mask}
            rec = {} if records is not None else None
            x = block(x, mask, memory, memory_mask, rope=rope, offset=offset,
                      cache=None if caches is None else caches[i], head_masks=block_hm,
                      records=rec)
            if rec:
                for kind, r in rec.items():
                    records[name + kind] = r
        return self.norm(x)                                               # (B, T, D)

    def new_caches(self) -> list:
        return [KVCache() for _ in self.blocks]
