"""Encoder-only transformer: a per-token tagger (sorting) or a sequence classifier."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..blocks import Stack
from ..config import EncoderConfig
from ..positional import PositionalEmbedding, RotaryEmbedding
from .base import AttentionModel, make_output


class Encoder(AttentionModel):
    """forward(idx (B, T) long) -> logits (B, T, C) for head="tagger", (B, C) for "classifier".

    Padding (pad_id) is masked out of every key; attention keys: `encoder.blocks.{i}.self_attn`.
    """

    kind = "encoder"

    def __init__(self, cfg: EncoderConfig = EncoderConfig()):
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = PositionalEmbedding(cfg.pos, cfg.max_len, cfg.d_model)
        self.rope = RotaryEmbedding(cfg.d_head, cfg.max_len) if cfg.pos == "rope" else None
        self.encoder = Stack(cfg, cfg.n_layers)
        self.head = nn.Linear(cfg.d_model, cfg.n_classes)

    def forward(self, idx, return_attention=False, return_scores=False, head_mask=None):
        self.check_head_mask(head_mask)
        B, T = idx.shape
        keep = idx != self.cfg.pad_id                                     # (B, T)
        mask = None if bool(keep.all()) else keep[:, None, None, :]      # (B, 1, 1, T)
        x = self.tok(idx)                                                 # (B, T, D)
        pe = self.pos(T)
        if pe is not None:
            x = x + pe                                                    # (B, T, D)
        records = self._records(return_attention, return_scores)
        x = self.encoder(x, mask, prefix="encoder.", rope=self.rope, head_mask=head_mask,
                         records=records)                                 # (B, T, D)
        hidden = x
        if self.cfg.head == "classifier":
            w = keep.unsqueeze(-1).to(x.dtype)                            # (B, T, 1)
            x = (x * w).sum(1) / w.sum(1).clamp(min=1.0)                  # (B, D)
        return make_output(self.head(x), records, return_attention, return_scores,
                           hidden=hidden)

    def positional_encoding(self) -> torch.Tensor:
        """(max_len, D) added position vectors, or (max_len, d_head/2) rotation angles for RoPE."""
        return self.rope.angles.clone() if self.rope is not None else self.pos.table()
