"""core: a small PyTorch library of transformers whose every attention head can be inspected.

    from core import Decoder, DecoderConfig, get_device
    model = Decoder(DecoderConfig.preset("micro")).to(get_device())
    out = model(idx, return_attention=True)
    out.attention["decoder.blocks.0.self_attn"]      # (B, H, T, T)

Imports torch and numpy only (never streamlit or plotly).
"""
from .attention import (KVCache, MultiHeadAttention, attention_stages, causal_mask,
                        scaled_dot_product_attention)
from .config import (DecoderConfig, EncoderConfig, Seq2SeqConfig, TransformerConfig, ViTConfig,
                     config_from_dict)
from .device import describe_device, get_device
from .models import MODELS, Decoder, Encoder, ModelOutput, Seq2Seq, ViT, build_model
from .positional import (RotaryEmbedding, apply_rope, rope_angles, sincos_2d, sinusoidal_encoding,
                         sinusoidal_wavelengths)

__all__ = [
    "KVCache", "MultiHeadAttention", "attention_stages", "causal_mask",
    "scaled_dot_product_attention", "DecoderConfig", "EncoderConfig", "Seq2SeqConfig",
    "TransformerConfig", "ViTConfig", "config_from_dict", "describe_device", "get_device",
    "MODELS", "Decoder", "Encoder", "ModelOutput", "Seq2Seq", "ViT", "build_model",
    "RotaryEmbedding", "apply_rope", "rope_angles", "sincos_2d", "sinusoidal_encoding",
    "sinusoidal_wavelengths",
]
