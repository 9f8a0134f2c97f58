"""core: a small PyTorch library of transformers whose every attention head can be inspected.

    from core import Decoder, DecoderConfig, get_device
    model = Decoder(DecoderConfig.preset("micro")).to(get_device())
    out = model(idx, return_attention=True)
    out.attention["decoder.blocks.0.self_attn"]      # (B, H, T, T)

Imports torch and numpy only (never streamlit or plotly). The names below are loaded on first
use (PEP 562), so `import core.checkpoint_files` or `core.naming` does not import torch: the
app's home page and its server start stay free of it (issue 14, cold start).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "attention": ("KVCache", "MultiHeadAttention", "attention_stages", "causal_mask",
                  "scaled_dot_product_attention"),
    "config": ("DecoderConfig", "EncoderConfig", "Seq2SeqConfig", "TransformerConfig",
               "ViTConfig", "config_from_dict"),
    "device": ("describe_device", "get_device"),
    "models": ("MODELS", "Decoder", "Encoder", "ModelOutput", "Seq2Seq", "ViT", "build_model"),
    "positional": ("RotaryEmbedding", "apply_rope", "rope_angles", "sincos_2d",
                   "sinusoidal_encoding", "sinusoidal_wavelengths"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = [name for names in _EXPORTS.values() for name in names]

if TYPE_CHECKING:                      # for readers and type checkers: what the names are
    from .attention import (KVCache, MultiHeadAttention, attention_stages, causal_mask,
                            scaled_dot_product_attention)
    from .config import (DecoderConfig, EncoderConfig, Seq2SeqConfig, TransformerConfig,
                         ViTConfig, config_from_dict)
    from .device import describe_device, get_device
    from .models import MODELS, Decoder, Encoder, ModelOutput, Seq2Seq, ViT, build_model
    from .positional import (RotaryEmbedding, apply_rope, rope_angles, sincos_2d,
                             sinusoidal_encoding, sinusoidal_wavelengths)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value                   # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
