"""What every model shares: the output record, parameter counting, attention names."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..attention import MultiHeadAttention


@dataclass
class ModelOutput:
    """logits, plus (when asked) attention weights and scores keyed by module name.

    attention: {name: (B, H, Tq, Tk)} post-softmax, pre-dropout, or None.
    scores:    {name: (B, H, Tq, Tk)} scaled q·kᵀ/√d before masking, or None.
    masks:     {name: bool mask broadcastable to (B, H, Tq, Tk), or None}, or None.
    cache:     per-layer KV caches after this call (decoders), else None.
    memory:    encoder output (B, Ts, D) for the seq2seq model's encode(), else None.
    hidden:    final hidden states (B, T, D) after the last block (and final norm), before any
               task head or pooling: the decoder side for seq2seq, (B, 1 + N, D) for a ViT.
    """
    logits: torch.Tensor | None
    attention: dict | None = None
    scores: dict | None = None
    masks: dict | None = None
    cache: list | None = None
    memory: torch.Tensor | None = None
    memory_mask: torch.Tensor | None = None
    hidden: torch.Tensor | None = None


def make_output(logits, records, return_attention, return_scores, **extra) -> ModelOutput:
    attention = scores = masks = None
    if return_attention:
        attention = {name: r["weights"] for name, r in records.items()}
    if return_scores:
        scores = {name: r["scores"] for name, r in records.items()}
        masks = {name: r["mask"] for name, r in records.items()}
    return ModelOutput(logits, attention, scores, masks, **extra)


class AttentionModel(nn.Module):
    """Base of every model: `kind`, `cfg`, parameter count, attention module names."""

    kind = "base"
    encoder_decoder = False   # True: forward(src, tgt), encode/decode, generate(src, bos, ...)

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def attention_names(self) -> list[str]:
        """Dotted names of every MultiHeadAttention, as `named_modules()` gives them."""
        return [n for n, m in self.named_modules() if isinstance(m, MultiHeadAttention)]

    def check_head_mask(self, head_mask) -> None:
        """A head mask names attention modules of this model ({name: (H,)}); a name this model
        does not have (a typo, another model's name) is an error, not a silent no-op."""
        if head_mask:
            names = self.attention_names()
            unknown = sorted(set(head_mask) - set(names))
            if unknown:
                raise ValueError(f"head_mask names no attention module of this model: "
                                 f"{', '.join(map(repr, unknown[:3]))}; it has {', '.join(names)}")

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @staticmethod
    def _records(return_attention: bool, return_scores: bool):
        return {} if (return_attention or return_scores) else None
