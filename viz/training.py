"""Training curves: loss (log scale) on the left, evaluation metrics in [0, 1] on the right;
the Train page's attention snapshots: layer names in words, keys ordered by value."""
from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.common import log_ticks, style, to_numpy
from viz.sizing import line_px
from viz.theme import line_colours, sizes


def _series(x) -> np.ndarray:
    return np.asarray([] if x is None else to_numpy(x), dtype=np.float64).ravel()  # (n,)


def training_curves(steps, losses, eval_steps=None, metrics=None,
                    presenter: bool = False, *, dark: bool = False) -> go.Figure:
    """Loss over steps (log y) and each metric (name -> values) over eval_steps on [0, 1].

    Empty inputs give empty axes, not an error. Non-positive or non-finite losses are dropped
    (a log axis cannot show them). Without eval_steps, metrics are drawn at 0, 1, 2, ...
    """
    steps, losses = _series(steps), _series(losses)
    if steps.size != losses.size:
        raise ValueError(f"{steps.size} steps for {losses.size} losses")
    keep = np.isfinite(losses) & (losses > 0)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "metrics"),
                        horizontal_spacing=0.1)
    width = 3 if presenter else 2
    colours = line_colours(dark)
    fig.add_trace(go.Scatter(x=steps[keep], y=losses[keep], mode="lines", name="loss",
                             line=dict(color=colours[0], width=width),
                             hovertemplate="step %{x}: loss %{y:.4g}<extra></extra>"),
                  row=1, col=1)
    metrics = metrics or {}
    ev = None if eval_steps is None else _series(eval_steps)
    for i, (name, values) in enumerate(metrics.items()):
        v = _series(values)                                          # (n_eval,)
        x = np.arange(v.size, dtype=np.float64) if ev is None else ev[: v.size]
        if x.size != v.size:
            raise ValueError(f"metric {name!r}: {v.size} values for {x.size} eval steps")
        fig.add_trace(go.Scatter(x=x, y=v, mode="lines+markers", name=str(name),
                                 line=dict(color=colours[(i + 1) % len(colours)],
                                           width=width),
                                 hovertemplate=f"step %{{x}}: {name} %{{y:.3f}}<extra></extra>"),
                      row=1, col=2)
    fig.update_yaxes(type="log", title_text="loss", row=1, col=1)
    if keep.any():                     # our own ticks and range: labels a tick apart, always
        lo, hi = float(losses[keep].min()), float(losses[keep].max())
        a, b = np.log10(lo), np.log10(hi)
        pad = max(0.05 * (b - a), 0.02)
        values, labels = log_ticks(10 ** (a - pad), 10 ** (b + pad))
        fig.update_yaxes(range=[a - pad, b + pad], tickmode="array", tickvals=values,
                         ticktext=labels, row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], title_text="score", row=1, col=2)
    fig.update_xaxes(title_text="step")
    fig.update_layout(legend=dict(orientation="h", x=0, y=0, yref="container", yanchor="bottom"))
    style(fig, presenter, dark=dark, height=500 if presenter else 380)
    s = sizes(presenter)                                  # ticks, "step", then the legend
    bottom = line_px(s.tick) + line_px(s.axis_title) + line_px(s.legend) + 24
    return fig.update_layout(margin=dict(b=int(bottom), t=int(line_px(s.subtitle) + 16)))


_NAME = re.compile(r"^(?:(?P<side>encoder|decoder)\.)?(?:.*\.)?blocks\.(?P<layer>\d+)\."
                   r"(?P<kind>self_attn|cross_attn)$")
_SINGLE = re.compile(r"^(?P<side>encoder|decoder)\.(?P<kind>self_attn|cross_attn)$")


def attention_title(name: str, head: int | None = None) -> str:
    """A dotted attention name in words: "encoder.blocks.2.self_attn", 1 -> "encoder layer 2,
    head 1"; "decoder.blocks.0.cross_attn", 3 -> "decoder layer 0, cross-attention head 3".
    A model with one attention module and no layers (the GRU's "decoder.cross_attn") ->
    "decoder cross-attention, head 0". Layers and heads count from 0, as everywhere in the app.
    Other names come back as given."""
    m = _NAME.match(str(name))
    if m is None and (one := _SINGLE.match(str(name))):       # one attention module (the GRU)
        text = f"{one['side']} " + ("cross-attention" if one["kind"] == "cross_attn"
                                    else "self-attention")
        return text if head is None else f"{text}, head {head}"
    if m is None:
        return str(name) if head is None else f"{name}, head {head}"
    side = m["side"] or "layer"
    text = f"{side} layer {m['layer']}" if m["side"] else f"layer {m['layer']}"
    cross = m["kind"] == "cross_attn"
    if head is None:
        return text + (", cross-attention" if cross else "")
    return text + (f", cross-attention head {head}" if cross else f", head {head}")


def value_order(labels) -> np.ndarray | None:
    """The permutation that sorts keys by their value (stable: equal values keep their order),
    or None when a label is not a number (then keys keep their input order)."""
    try:
        values = np.array([float(str(s)) for s in labels], dtype=np.float64)     # (Tk,)
    except ValueError:
        return None
    if not np.isfinite(values).all():
        return None
    return np.argsort(values, kind="stable")


def order_keys(weights, order) -> np.ndarray:
    """weights (..., Tk) with the key axis permuted: column r is key order[r]."""
    w = to_numpy(weights).astype(np.float64)
    order = np.asarray(order, dtype=int)
    if sorted(order.tolist()) != list(range(w.shape[-1])):
        raise ValueError(f"order must be a permutation of 0..{w.shape[-1] - 1}")
    return w[..., order]                                               # (..., Tk)


def snapshot_heatmap(weights, q_labels, k_labels, name: str, head: int, step: int,
                     keys_by_value: bool = False, presenter: bool = False, *,
                     dark: bool = False, width: int | None = None):
    """One training snapshot (Tq, Tk) of one head: square cells, titled in words ("encoder
    layer 1, head 0 at step 300"). keys_by_value puts the keys in order of their value (when
    the labels are numbers), so a head that reads "the input of my rank" (sorting) forms a
    diagonal; the x title says so."""
    from viz.attention import attention_heatmap
    w = to_numpy(weights).astype(np.float64)                           # (Tq, Tk)
    Tq, Tk = w.shape
    q = [str(i) for i in range(Tq)] if q_labels is None else [str(s) for s in q_labels]
    k = [str(i) for i in range(Tk)] if k_labels is None else [str(s) for s in k_labels]
    order = value_order(k) if keys_by_value else None
    if order is not None:
        w, k = order_keys(w, order), [k[j] for j in order]
    fig = attention_heatmap(w, q, k, title=f"{attention_title(name, head)} at step {step}",
                            presenter=presenter, dark=dark, width=width)
    if order is not None:
        fig.update_xaxes(title_text="…key (column), sorted by value")
    return fig
