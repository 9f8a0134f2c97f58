"""Vision transformer (Dosovitskiy et al. 2020): patches + CLS token + position embeddings.

forward(images (B, C, H, W)) -> logits (B, n_classes). Token 0 is CLS, tokens 1..N the patches
in row-major order. Attention keys: `encoder.blocks.{i}.self_attn`, each (B, H, 1+N, 1+N).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..blocks import Stack
from ..config import ViTConfig
from ..positional import sincos_2d
from .base import AttentionModel, make_output


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, N, C·p·p), patches in row-major order."""
    B, C, H, W = images.shape
    p = patch_size
    x = images.reshape(B, C, H // p, p, W // p, p)                        # (B, C, gh, p, gw, p)
    x = x.permute(0, 2, 4, 1, 3, 5)                                       # (B, gh, gw, C, p, p)
    return x.reshape(B, (H // p) * (W // p), C * p * p)                   # (B, N, C·p·p)


class ViT(AttentionModel):
    kind = "vit"

    def __init__(self, cfg: ViTConfig = ViTConfig()):
        super().__init__()
        self.cfg = cfg
        self.patch_embed = nn.Linear(cfg.channels * cfg.patch_size ** 2, cfg.d_model)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.d_model))
        if cfg.pos == "learned":
            self.pos_embed = nn.Parameter(torch.randn(1 + cfg.n_patches, cfg.d_model) * 0.02)
        elif cfg.pos == "sincos2d":
            table = torch.cat([torch.zeros(1, cfg.d_model),
                               sincos_2d(cfg.grid_size, cfg.grid_size, cfg.d_model)])
            self.register_buffer("pos_embed", table, persistent=False)   # (1 + N, D)
        else:
            self.pos_embed = None
        self.encoder = Stack(cfg, cfg.n_layers)
        self.head = nn.Linear(cfg.d_model, cfg.n_classes)

    def forward(self, images, return_attention=False, return_scores=False, head_mask=None):
        self.check_head_mask(head_mask)
        cfg = self.cfg
        if images.dim() == 3:
            images = images.unsqueeze(1)                                  # (B, 1, H, W)
        if tuple(images.shape[1:]) != (cfg.channels, cfg.image_size, cfg.image_size):
            raise ValueError(f"expected images of shape (B, {cfg.channels}, {cfg.image_size}, "
                             f"{cfg.image_size}), got {tuple(images.shape)}")
        x = self.patch_embed(patchify(images.to(self.patch_embed.weight.dtype),
                                      cfg.patch_size))                    # (B, N, D)
        x = torch.cat([self.cls_token.expand(x.size(0), -1, -1), x], 1)   # (B, 1 + N, D)
        if self.pos_embed is not None:
            x = x + self.pos_embed                                        # (B, 1 + N, D)
        records = self._records(return_attention, return_scores)
        x = self.encoder(x, prefix="encoder.", head_mask=head_mask, records=records)  # (B, 1+N, D)
        logits = None if self.head is None else self.head(x[:, 0])       # (B, n_classes)
        return make_output(logits, records, return_attention, return_scores, hidden=x)

    def positional_encoding(self) -> torch.Tensor:
        """(N, D) position embedding of each patch (CLS excluded); zeros for pos="none"."""
        if self.pos_embed is None:
            return torch.zeros(self.cfg.n_patches, self.cfg.d_model)
        return self.pos_embed[1:].detach().clone()
