"""The frozen config of the GRU encoder-decoder (core/models/rnn.py), kind "rnn".

It lives beside core/config.py (which registers it in CONFIGS) rather than in the model file, so
the ground floor imports no model. Bounds are checked on construction, like every config: a
checkpoint cannot ask for a model that would not fit in memory.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

_LIMITS = dict(src_vocab_size=65536, tgt_vocab_size=65536, d_emb=1024, d_hidden=1024,
               d_attn=1024, max_len=4096, pad_id=65536)


@dataclass(frozen=True)
class RNNConfig:
    """A GRU encoder (bidirectional by default) and a GRU decoder, with or without Bahdanau
    (additive) attention. Without attention the decoder sees only the encoder's final states."""
    src_vocab_size: int = 16
    tgt_vocab_size: int = 16
    d_emb: int = 32          # character embedding size (source and target)
    d_hidden: int = 64       # GRU state size (per direction in the encoder)
    d_attn: int = 64         # size of the additive attention's hidden layer (W s + U h)
    bidirectional: bool = True
    attention: bool = True   # False: the fixed-context baseline (Cho et al. 2014)
    max_len: int = 64        # longest source or output the app accepts (a GRU has no own limit)
    pad_id: int = 0

    def __post_init__(self):
        for name, limit in _LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer, got {value!r}")
            low = 0 if name == "pad_id" else 1
            if not low <= value <= limit:
                raise ValueError(f"{name}={value} is outside {low}..{limit}")
        for name in ("bidirectional", "attention"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")

    # What the pages read of every config: one attention "layer" with one (additive) head.
    n_layers = property(lambda self: 1, doc="one attention module: decoder.cross_attn")
    n_heads = property(lambda self: 1, doc="Bahdanau attention has a single head")

    @property
    def d_memory(self) -> int:
        """Size of one encoder annotation h_j (both directions side by side)."""
        return self.d_hidden * (2 if self.bidirectional else 1)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    @classmethod
    def preset(cls, name: str, **overrides):
        raise ValueError(f"the GRU model has no preset {name!r}: set d_hidden, d_emb, d_attn")

    def parameter_count(self) -> int:
        """The model's parameter count, computed without building it (see core.config)."""
        E, H, A, M = self.d_emb, self.d_hidden, self.d_attn, self.d_memory

        def gru(n_in, n_h):              # 3 gates: input and hidden weights, two biases each
            return 3 * (n_in * n_h + n_h * n_h + 2 * n_h)

        n = (self.src_vocab_size + self.tgt_vocab_size) * E
        n += gru(E, H) * (2 if self.bidirectional else 1)          # encoder
        n += M * H + H                                             # init: summary -> s_0
        n += gru(E + M, H)                                         # decoder cell
        if self.attention:
            n += H * A + M * A + A + A                             # W, U (+ bias), v
        n += (H + M + E) * self.tgt_vocab_size + self.tgt_vocab_size   # output layer
        return n
