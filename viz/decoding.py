"""Figures for step-by-step causal decoding: the mask, one query's attention, next-token choice.

Token axes use integer positions with tickvals/ticktext (repeated tokens stay distinct).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from viz.common import (ATTENTION_SCALE, HEAD_COLOURS, PRESENTER_SCALE, style, thin_ticks,
                        to_numpy)

ALLOWED_COLOUR = "#7fc8a9"
BLOCKED_COLOUR = "#3a3a3a"
HIGHLIGHT = "#e4002b"
MAX_TEXT_CELLS = 4096         # the "×" on blocked mask cells, only for maps up to this size


def _scale(presenter: bool) -> str:
    return PRESENTER_SCALE if presenter else ATTENTION_SCALE


def _labels(labels, n: int) -> list[str]:
    labels = [str(s) for s in labels]
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} positions")
    return labels


def _ticks(fig, labels, axis: str, max_labels: int = 48):
    vals, text = thin_ticks(labels, max_labels)
    getattr(fig, f"update_{axis}axes")(tickmode="array", tickvals=vals, ticktext=text,
                                       showgrid=False, zeroline=False)


def causal_mask_figure(labels, step: int, presenter: bool = False) -> go.Figure:
    """The T x T causal mask (T = len(labels)); the row of query `step` is outlined.

    z is 1 where query i may attend key j (j <= i) and 0 where it is blocked (j > i); blocked
    cells are dark with an "×", allowed cells light.
    """
    labels = [str(s) for s in labels]
    T = len(labels)
    if not 0 <= step < max(T, 1):
        raise ValueError(f"step {step} outside 0..{T - 1}")
    z = np.tril(np.ones((T, T)))                                     # (T, T) 1 = allowed
    text = np.where(z == 0, "×", "") if T * T <= MAX_TEXT_CELLS else None  # (T, T)
    cd = np.empty((T, T, 3), dtype=object)                           # (T, T, 3)
    cd[..., 0] = np.asarray(labels, dtype=object)[:, None]
    cd[..., 1] = np.asarray(labels, dtype=object)[None, :]
    cd[..., 2] = np.where(z == 1, "may attend", "blocked (future)")
    fig = go.Figure(go.Heatmap(
        z=z, x=np.arange(T), y=np.arange(T), zmin=0, zmax=1, showscale=False, xgap=1, ygap=1,
        colorscale=[[0, BLOCKED_COLOUR], [0.5, BLOCKED_COLOUR], [0.5, ALLOWED_COLOUR],
                    [1, ALLOWED_COLOUR]],
        text=text, texttemplate="%{text}" if text is not None else None,
        textfont=dict(color="#bbbbbb", size=18 if presenter else 12), customdata=cd,
        hovertemplate=("query %{customdata[0]} (pos %{y}) → key %{customdata[1]} (pos %{x}): "
                       "%{customdata[2]}<extra></extra>")))
    fig.add_shape(type="rect", x0=-0.5, x1=T - 0.5, y0=step - 0.5, y1=step + 0.5,
                  line=dict(color=HIGHLIGHT, width=4 if presenter else 3))
    _ticks(fig, labels, "x")
    _ticks(fig, labels, "y")
    fig.update_yaxes(autorange="reversed", title_text="query")
    fig.update_xaxes(title_text="key", side="top")
    fig.update_layout(title=f"causal mask: query {step} sees keys 0..{step}")
    return style(fig, presenter, height=int(min(800, max(320, 26 * T + 140))))


def attention_row(weights, k_labels, title=None, presenter: bool = False) -> go.Figure:
    """weights (Tk,) of one query as bars over key positions, y on [0, 1]."""
    w = to_numpy(weights).astype(np.float64).ravel()                # (Tk,)
    k = _labels(k_labels, w.size)
    fig = go.Figure(go.Bar(
        x=np.arange(w.size), y=w, customdata=np.asarray(k, dtype=object),
        marker=dict(color=w, colorscale=_scale(presenter), cmin=0.0, cmax=1.0),
        hovertemplate="key %{customdata} (pos %{x}): weight %{y:.3f}<extra></extra>"))
    _ticks(fig, k, "x")
    fig.update_yaxes(range=[0, 1], title_text="weight")
    fig.update_layout(title=title, bargap=0.15)
    return style(fig, presenter, height=380 if presenter else 280)


def heads_row(weights, k_labels, presenter: bool = False) -> go.Figure:
    """weights (H, Tk): every head's weights for the new query, one row per head (H0 on top)."""
    w = to_numpy(weights).astype(np.float64)                        # (H, Tk)
    if w.ndim != 2:
        raise ValueError(f"expected (H, Tk), got shape {w.shape}")
    H, Tk = w.shape
    k = _labels(k_labels, Tk)
    heads = [f"H{h}" for h in range(H)]
    cd = np.empty((H, Tk, 2), dtype=object)                          # (H, Tk, 2)
    cd[..., 0] = np.asarray(heads, dtype=object)[:, None]
    cd[..., 1] = np.asarray(k, dtype=object)[None, :]
    fig = go.Figure(go.Heatmap(
        z=w, x=np.arange(Tk), y=np.arange(H), zmin=0.0, zmax=1.0, colorscale=_scale(presenter),
        customdata=cd, xgap=1, ygap=1,
        hovertemplate=("%{customdata[0]} → key %{customdata[1]} (pos %{x}): "
                       "weight %{z:.3f}<extra></extra>")))
    _ticks(fig, k, "x")
    fig.update_yaxes(tickmode="array", tickvals=list(range(H)), ticktext=heads,
                     autorange="reversed", showgrid=False)
    return style(fig, presenter, height=int(max(200, (34 if presenter else 26) * H + 120)))


def topk_bars(probs, vocab_labels, k: int = 5, chosen=None, presenter: bool = False) -> go.Figure:
    """probs (V,): the k most likely tokens as horizontal bars, most likely on top.

    chosen (a vocabulary index) is drawn in a highlight colour; if it is not among the top k it
    is added as an extra bar at the bottom. customdata holds each bar's vocabulary index.
    """
    p = to_numpy(probs).astype(np.float64).ravel()                  # (V,)
    vocab = _labels(vocab_labels, p.size)
    idx = np.argsort(-p, kind="stable")[: max(1, min(k, p.size))]   # (k,)
    if chosen is not None and int(chosen) not in idx:
        idx = np.append(idx, int(chosen))                            # (k + 1,)
    chosen_mask = np.array([chosen is not None and i == int(chosen) for i in idx])
    colours = np.where(chosen_mask, HIGHLIGHT, HEAD_COLOURS[0])
    names = [vocab[i] for i in idx]
    fig = go.Figure(go.Bar(
        x=p[idx], y=np.arange(idx.size), orientation="h", customdata=idx,
        marker=dict(color=colours.tolist()), text=[f"{v:.3f}" for v in p[idx]],
        textposition="outside", cliponaxis=False,
        hovertext=names, hovertemplate="%{hovertext}: p = %{x:.4f}<extra></extra>"))
    ticktext = [f"<b>{n}</b> (chosen)" if c else n for n, c in zip(names, chosen_mask)]
    fig.update_yaxes(tickmode="array", tickvals=list(range(idx.size)), ticktext=ticktext,
                     autorange="reversed")
    fig.update_xaxes(range=[0, 1.15], title_text="probability")
    return style(fig, presenter, height=int(max(200, (44 if presenter else 32) * idx.size + 100)))
