"""Frozen configuration dataclasses for every model kind, with named presets.

Every field has a default, so `DecoderConfig()` is a working model. Bounds are checked on
construction (a ValueError says which field is wrong): a checkpoint cannot ask for a model
that would not fit in memory.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from .rnn_config import RNNConfig

POSITIONAL_KINDS = ("learned", "sinusoidal", "rope", "none")
VIT_POSITIONAL_KINDS = ("learned", "sincos2d", "none")
NORM_KINDS = ("pre", "post")
# Feed-forward non-linearities: "gelu" is the exact (erf) GELU of BERT and ViT, "gelu_new" the
# tanh approximation of GPT-2 (Hugging Face's names, so a checkpoint's hidden_act maps directly).
ACTIVATIONS = ("gelu", "gelu_new", "relu", "silu", "quick_gelu")

# Limits keep a hostile or mistyped config from allocating gigabytes.
_LIMITS = dict(d_model=1024, n_heads=64, n_layers=24, max_len=4096, vocab_size=65536,
               d_ff=8192, n_classes=4096, n_in=1024, n_out=65536, image_size=256, channels=4,
               patch_size=256)
MAX_IN_WINDOW = 64        # steps a real-valued decoder's input embedding may read
_ZERO_OK = ("d_ff", "vocab_size", "n_in", "n_layers", "n_out")


@dataclass(frozen=True)
class TransformerConfig:
    """What every stack of blocks shares."""
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 0            # 0 means 4 * d_model
    dropout: float = 0.0
    norm: str = "pre"        # "pre" (LayerNorm before each sub-layer) or "post" (after the residual)
    bias: bool = True
    max_len: int = 64        # longest sequence the positional encoding covers
    norm_eps: float = 1e-5   # LayerNorm epsilon (torch's default; BERT and ViT checkpoints: 1e-12)
    activation: str = "gelu"  # feed-forward non-linearity, one of ACTIVATIONS

    # Size bounds checked on construction. Configs of pretrained checkpoints (core.pretrained)
    # widen them: their weights are bounded by a byte budget read from the file header instead.
    LIMITS: ClassVar[dict] = _LIMITS

    def __post_init__(self):
        for name, limit in self.LIMITS.items():
            if not hasattr(self, name):              # a field of another kind (image_size ...)
                continue
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            low = 0 if name in _ZERO_OK else 1
            if not low <= value <= limit:
                raise ValueError(f"{name}={value} is outside {low}..{limit}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")
        if self.norm not in NORM_KINDS:
            raise ValueError(f"norm must be one of {NORM_KINDS}, got {self.norm!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)):
            raise ValueError(f"dropout must be a number, got {self.dropout!r}")
        if not isinstance(self.bias, bool):
            raise ValueError(f"bias must be true or false, got {self.bias!r}")
        pad_id = getattr(self, "pad_id", 0)
        if isinstance(pad_id, bool) or not isinstance(pad_id, int):
            raise ValueError(f"pad_id must be an integer, got {pad_id!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if (isinstance(self.norm_eps, bool) or not isinstance(self.norm_eps, (int, float))
                or not 0.0 < self.norm_eps < 1.0):
            raise ValueError(f"norm_eps must be a number in (0, 1), got {self.norm_eps!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        allowed = VIT_POSITIONAL_KINDS if isinstance(self, ViTConfig) else POSITIONAL_KINDS
        if getattr(self, "pos", "none") not in allowed:
            raise ValueError(f"pos must be one of {allowed}, got {self.pos!r}")
        if getattr(self, "pos", None) == "rope" and self.d_head % 2:
            raise ValueError("rope needs an even head size (d_model / n_heads)")

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def ff_dim(self) -> int:
        return self.d_ff or 4 * self.d_model

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    @classmethod
    def preset(cls, name: str, **overrides):
        """A named size ("nano", "micro", "small") with any field overridden."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})


PRESETS = {
    "nano": dict(d_model=32, n_heads=2, n_layers=1),
    "micro": dict(d_model=64, n_heads=4, n_layers=2),
    "small": dict(d_model=128, n_heads=4, n_layers=4),
}


@dataclass(frozen=True)
class EncoderConfig(TransformerConfig):
    """Encoder-only: a per-token tagger (head="tagger") or a sequence classifier."""
    vocab_size: int = 16
    n_classes: int = 16
    head: str = "tagger"     # "tagger": logits per token (B, T, C); "classifier": (B, C)
    pos: str = "learned"
    pad_id: int = 0

    def __post_init__(self):
        super().__post_init__()
        if self.head not in ("tagger", "classifier"):
            raise ValueError(f"head must be 'tagger' or 'classifier', got {self.head!r}")


@dataclass(frozen=True)
class DecoderConfig(TransformerConfig):
    """Decoder-only causal model: tokens (vocab_size > 0) or real values (vocab_size=0, n_in)."""
    vocab_size: int = 16
    n_in: int = 1            # features per step when vocab_size == 0 (regression)
    n_out: int = 0           # outputs per step; 0 means vocab_size (or n_in for real values)
    pos: str = "learned"
    pad_id: int = 0
    in_window: int = 1       # real values: each step's embedding reads its last in_window steps
                             # (a causal convolution, as Informer's token embedding); 1 = itself

    def __post_init__(self):
        super().__post_init__()
        if self.vocab_size == 0 and self.n_in < 1:
            raise ValueError("a real-valued decoder (vocab_size=0) needs n_in >= 1")
        if isinstance(self.in_window, bool) or not isinstance(self.in_window, int) \
                or not 1 <= self.in_window <= MAX_IN_WINDOW:
            raise ValueError(f"in_window must be a whole number 1..{MAX_IN_WINDOW}, got "
                             f"{self.in_window!r}")
        if self.vocab_size > 0 and self.in_window != 1:
            raise ValueError("in_window is for real-valued inputs (vocab_size=0); a token "
                             "model embeds each token alone")

    @property
    def out_dim(self) -> int:
        return self.n_out or self.vocab_size or self.n_in


@dataclass(frozen=True)
class Seq2SeqConfig(TransformerConfig):
    """Encoder-decoder with cross-attention. n_layers is used for both sides unless set."""
    src_vocab_size: int = 16
    tgt_vocab_size: int = 16
    n_dec_layers: int = 0    # 0 means n_layers
    pos: str = "learned"
    pad_id: int = 0

    def __post_init__(self):
        super().__post_init__()
        for name in ("src_vocab_size", "tgt_vocab_size", "n_dec_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65536:
                raise ValueError(f"{name}={value!r} is out of range")
        if self.n_dec_layers > self.LIMITS["n_layers"]:
            raise ValueError(f"n_dec_layers={self.n_dec_layers} is too large")

    @property
    def dec_layers(self) -> int:
        return self.n_dec_layers or self.n_layers


@dataclass(frozen=True)
class ViTConfig(TransformerConfig):
    """Vision transformer: square images cut into square patches, plus a CLS token."""
    image_size: int = 16
    patch_size: int = 4
    channels: int = 1
    n_classes: int = 10
    pos: str = "learned"     # "learned", "sincos2d" or "none"; max_len is unused (the grid fixes it)

    def __post_init__(self):
        super().__post_init__()
        if self.image_size % self.patch_size:
            raise ValueError(f"image_size={self.image_size} must be a multiple of "
                             f"patch_size={self.patch_size}")
        if self.grid_size > 64:
            raise ValueError("too many patches (at most 64 x 64)")
        if self.pos == "sincos2d" and self.d_model % 4:
            raise ValueError("sincos2d needs d_model divisible by 4")

    @property
    def grid_size(self) -> int:
        return self.image_size // self.patch_size

    @property
    def n_patches(self) -> int:
        return self.grid_size ** 2


CONFIGS = {"encoder": EncoderConfig, "decoder": DecoderConfig, "seq2seq": Seq2SeqConfig,
           "vit": ViTConfig, "rnn": RNNConfig}


def config_from_dict(kind: str, values: dict) -> TransformerConfig:
    """Rebuild a config from `to_dict()` output; unknown kinds or fields, or values that are not
    a table of field names, raise ValueError."""
    if not isinstance(kind, str) or kind not in CONFIGS:
        shown = repr(kind) if len(repr(kind)) <= 40 else repr(kind)[:37] + "..."
        raise ValueError(f"unknown model kind {shown}; choose one of {', '.join(CONFIGS)}")
    if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
        raise ValueError(f"a {kind} config must be a table of field names and values, not "
                         f"{type(values).__name__}")
    cls = CONFIGS[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown config fields for {kind}: "
                         f"{', '.join(repr(u[:30]) for u in sorted(unknown)[:5])}")
    return cls(**values)


def parameter_count(cfg: TransformerConfig) -> int:
    """The number of parameters the model for `cfg` has, computed without building it.

    Used to refuse a checkpoint whose config asks for more weights than the file holds before
    anything is allocated; tests check it equals `num_parameters()` of the built model.
    """
    if hasattr(cfg, "parameter_count"):              # a config that counts its own (RNNConfig)
        return cfg.parameter_count()
    d, ff, b = cfg.d_model, cfg.ff_dim, int(cfg.bias)
    attn = 4 * (d * d + b * d)
    block = attn + 2 * d + (d * ff + b * ff + ff * d + b * d) + 2 * d
    final_norm = 2 * d if cfg.norm == "pre" else 0

    def stack(n_layers, cross=False):
        return n_layers * (block + (attn + 2 * d if cross else 0)) + final_norm

    pos = cfg.max_len * d if getattr(cfg, "pos", None) == "learned" else 0
    if isinstance(cfg, EncoderConfig):
        return cfg.vocab_size * d + pos + stack(cfg.n_layers) + d * cfg.n_classes + cfg.n_classes
    if isinstance(cfg, DecoderConfig):
        embed = cfg.vocab_size * d if cfg.vocab_size else cfg.n_in * cfg.in_window * d + d
        return embed + pos + stack(cfg.n_layers) + d * cfg.out_dim + cfg.out_dim
    if isinstance(cfg, Seq2SeqConfig):
        return ((cfg.src_vocab_size + cfg.tgt_vocab_size) * d + 2 * pos + stack(cfg.n_layers)
                + stack(cfg.dec_layers, cross=True) + d * cfg.tgt_vocab_size + cfg.tgt_vocab_size)
    if isinstance(cfg, ViTConfig):
        vit_pos = (1 + cfg.n_patches) * d if cfg.pos == "learned" else 0
        return (cfg.channels * cfg.patch_size ** 2 * d + d + d + vit_pos + stack(cfg.n_layers)
                + d * cfg.n_classes + cfg.n_classes)
    raise ValueError(f"unknown config type {type(cfg).__name__}")
