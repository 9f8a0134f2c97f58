"""The Train page's architecture widgets, one set per config kind: a transformer (layers, heads,
d_model, positional encoding, LayerNorm) or the GRU encoder-decoder of `dates_rnn` (sizes, a
bidirectional encoder, and the attention switch: off is the fixed-context twin the lecture
compares against).

Each widget's remembered value is checked before it is drawn (ui.train.controls.keep), so a
stale or forged value is replaced, never raised.
"""
from __future__ import annotations

from typing import NamedTuple

import streamlit as st

from core.config import POSITIONAL_KINDS, VIT_POSITIONAL_KINDS



class Range(NamedTuple):
    """A number box's limits (a tuple of choices is a list of options instead)."""
    lo: int | float
    hi: int | float


LIMITS = dict(layers=Range(1, 6), heads=Range(1, 8))
D_MODELS = (16, 32, 48, 64, 96, 128)
RNN_SIZES = (8, 16, 32, 48, 64, 96, 128, 192, 256)
NORMS = ("pre", "post")


def _clamp(x, lo, hi):
    return max(lo, min(hi, x))


def _nearest(options, x):
    return min(options, key=lambda m: abs(m - x))


def is_rnn(task) -> bool:
    return task.kind == "rnn"


def positional_kinds(task) -> tuple:
    return VIT_POSITIONAL_KINDS if task.kind == "vit" else POSITIONAL_KINDS


def fields(task) -> dict:
    """{field: (default, options tuple or Range)}: the architecture widgets of this task's
    kind, defaults from the task's own config (snapped into the widgets' ranges)."""
    cfg = task.make_config()
    if is_rnn(task):
        return dict(d_emb=(_nearest(RNN_SIZES, cfg.d_emb), RNN_SIZES),
                    d_hidden=(_nearest(RNN_SIZES, cfg.d_hidden), RNN_SIZES),
                    d_attn=(_nearest(RNN_SIZES, cfg.d_attn), RNN_SIZES),
                    bidirectional=(bool(cfg.bidirectional), (True, False)),
                    attention=(bool(cfg.attention), (True, False)))
    pos = positional_kinds(task)
    return dict(layers=(_clamp(cfg.n_layers, *LIMITS["layers"]), LIMITS["layers"]),
                heads=(_clamp(cfg.n_heads, *LIMITS["heads"]), LIMITS["heads"]),
                d_model=(_nearest(D_MODELS, cfg.d_model), D_MODELS),
                pos=(cfg.pos if cfg.pos in pos else pos[0], pos),
                norm=(cfg.norm if cfg.norm in NORMS else NORMS[0], NORMS))


def make_config(task, **chosen):
    """The task's config with the chosen architecture; ValueError (the config's message) if it
    is not valid. A transformer's d_ff, where the task fixes one, is scaled with d_model."""
    if is_rnn(task):
        return task.make_config(d_emb=int(chosen["d_emb"]), d_hidden=int(chosen["d_hidden"]),
                                d_attn=int(chosen["d_attn"]),
                                bidirectional=bool(chosen["bidirectional"]),
                                attention=bool(chosen["attention"]))
    base, d_model = task.make_config(), int(chosen["d_model"])
    extra = {}
    if base.d_ff:
        extra["d_ff"] = max(1, round(base.d_ff * d_model / base.d_model))
    return task.make_config(n_layers=int(chosen["layers"]), n_heads=int(chosen["heads"]),
                            d_model=d_model, pos=chosen["pos"], norm=chosen["norm"], **extra)


def widgets(task, k) -> dict:
    """Draw the architecture widgets of this task's kind -> {field: value}. `k(field)` gives
    the widget key (checked and remembered per task)."""
    st.subheader("Architecture")
    if is_rnn(task):
        return _rnn(k)
    c = st.columns(5)
    return dict(
        layers=c[0].number_input("Layers", *LIMITS["layers"], step=1, key=k("layers")),
        heads=c[1].number_input("Heads", *LIMITS["heads"], step=1, key=k("heads")),
        d_model=c[2].select_slider("d_model", D_MODELS, key=k("d_model")),
        pos=c[3].selectbox("Positional encoding", positional_kinds(task), key=k("pos")),
        norm=c[4].radio("LayerNorm", NORMS, key=k("norm"), horizontal=True,
                        format_func=lambda n: f"{n}-LN"))


def _rnn(k) -> dict:
    c = st.columns(2)            # two switches, then three sliders: five in one row left their
    attention = c[0].toggle(     # labels wrapping mid-word ("Embeddin g") in presenter mode
        "Attention", key=k("attention"),
        help="On: Bahdanau (additive) attention reads every source character at each output "
             "step. Off: the fixed-context twin (Cho et al. 2014), whose decoder sees only the "
             "encoder's final states: one vector for the whole source.")
    bidirectional = c[1].toggle("Bidirectional encoder", key=k("bidirectional"),
                                help="The encoder reads the source both ways, so each "
                                     "annotation knows what comes before and after it")
    s = st.columns(3)
    return dict(
        attention=attention,
        d_emb=s[0].select_slider("Embedding", RNN_SIZES, key=k("d_emb"),
                                 help="Character embedding size (source and output)"),
        d_hidden=s[1].select_slider("Hidden", RNN_SIZES, key=k("d_hidden"),
                                    help="GRU state size (per direction in the encoder)"),
        d_attn=s[2].select_slider("Attention size", RNN_SIZES, key=k("d_attn"),
                                  disabled=not attention,
                                  help="Hidden size of the additive score vᵀ tanh(W s + U h)"),
        bidirectional=bidirectional)
