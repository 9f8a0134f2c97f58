"""Attention figures: one map, a grid of every head, BertViz-style lines, the four stages, CSV.

Every map uses integer positions on its axes (tickvals/ticktext carry the token labels), so
repeated tokens stay distinct columns; hover shows both the token and its position. Queries run
down the y axis (first query on top), keys along x. Masked cells are NaN in z and show the grey
plot background (plus an "×" on small maps).
"""
from __future__ import annotations

import csv
import io

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.common import (ATTENTION_SCALE, DIVERGING_SCALE, HEAD_COLOURS, PRESENTER_SCALE, style,
                        thin_ticks, to_numpy)

BLOCKED_BG = "#d0d0d0"        # plot background = colour of masked (NaN) cells
MAX_MARKED_CELLS = 1024       # draw an "×" on masked cells only for maps up to this many cells
HOVER = ("query %{customdata[0]} (pos %{y}) → key %{customdata[1]} (pos %{x}): "
         "weight %{z:.3f}<extra></extra>")
# Above this many cells a map uses category axes named "token @pos" instead of per-cell hover
# labels: two strings per cell cost 0.3-1.5 s of building and JSON from 100 x 100 tokens up.
CATEGORY_AXES_CELLS = 4_096
HOVER_CATEGORIES = "query %{y} → key %{x}: weight %{z:.3f}<extra></extra>"


def _scale(presenter: bool) -> str:
    return PRESENTER_SCALE if presenter else ATTENTION_SCALE


def _labels(labels, n: int, what: str) -> list[str]:
    if labels is None:
        return [str(i) for i in range(n)]
    labels = [str(s) for s in labels]
    if len(labels) != n:
        raise ValueError(f"{len(labels)} {what} labels for {n} {what} positions")
    return labels


def _matrix(x, ndim: int = 2) -> np.ndarray:
    a = to_numpy(x).astype(np.float64)
    if a.ndim != ndim:
        raise ValueError(f"expected a {ndim}-d array, got shape {a.shape}")
    return a


def _pair_labels(q: list[str], k: list[str]) -> np.ndarray:
    """(Tq, Tk, 2) object array: [query label, key label] of every cell, for hover."""
    cd = np.empty((len(q), len(k), 2), dtype=object)                 # (Tq, Tk, 2)
    cd[..., 0] = np.asarray(q, dtype=object)[:, None]
    cd[..., 1] = np.asarray(k, dtype=object)[None, :]
    return cd


def _blocked_marks(blocked: np.ndarray, presenter: bool):
    """A text trace with an "×" on every blocked cell, or None when there are none / too many."""
    qi, kj = np.nonzero(blocked)                                     # (n,), (n,)
    if qi.size == 0 or blocked.size > MAX_MARKED_CELLS:
        return None
    return go.Scatter(x=kj, y=qi, mode="text", text="×", hoverinfo="skip", showlegend=False,
                      textfont=dict(color="#555555", size=16 if presenter else 11))


def _token_axes(fig, q: list[str], k: list[str], max_labels: int, categories=None, **rowcol):
    """Thinned token labels on both axes; with categories=(y names, x names) the tick values are
    those category names instead of integer positions."""
    xv, xt = thin_ticks(k, max_labels)
    yv, yt = thin_ticks(q, max_labels)
    if categories is not None:
        xv, yv = [categories[1][i] for i in xv], [categories[0][i] for i in yv]
    fig.update_xaxes(tickmode="array", tickvals=xv, ticktext=xt, showgrid=False, zeroline=False,
                     **rowcol)
    fig.update_yaxes(tickmode="array", tickvals=yv, ticktext=yt, autorange="reversed",
                     showgrid=False, zeroline=False, **rowcol)


def attention_heatmap(weights, q_labels, k_labels, title=None, zmin=0.0, zmax=1.0,
                      max_labels=48, presenter: bool = False, mask=None) -> go.Figure:
    """weights (Tq, Tk) as one heatmap; mask (Tq, Tk) bool, True = may attend, blocks cells."""
    w = _matrix(weights)                                             # (Tq, Tk)
    Tq, Tk = w.shape
    q, k = _labels(q_labels, Tq, "query"), _labels(k_labels, Tk, "key")
    z, blocked = w, np.zeros(w.shape, dtype=bool)
    if mask is not None:
        blocked = ~to_numpy(mask).astype(bool)                       # (Tq, Tk)
        z = np.where(blocked, np.nan, w)                             # (Tq, Tk)
    if w.size > CATEGORY_AXES_CELLS:
        xs = [f"{t} @{j}" for j, t in enumerate(k)]                   # unique category names
        ys = [f"{t} @{i}" for i, t in enumerate(q)]
        fig = go.Figure(go.Heatmap(z=z, x=xs, y=ys, zmin=zmin, zmax=zmax,
                                   colorscale=_scale(presenter), hovertemplate=HOVER_CATEGORIES,
                                   hoverongaps=False))
        _token_axes(fig, q, k, max_labels, categories=(ys, xs))
    else:
        fig = go.Figure(go.Heatmap(
            z=z, x=np.arange(Tk), y=np.arange(Tq), zmin=zmin, zmax=zmax,
            colorscale=_scale(presenter), customdata=_pair_labels(q, k), hovertemplate=HOVER,
            hoverongaps=False))
        marks = _blocked_marks(blocked, presenter)
        if marks is not None:
            fig.add_trace(marks)
        _token_axes(fig, q, k, max_labels)
    fig.update_layout(title=title)
    style(fig, presenter, height=int(min(900, max(320, 16 * Tq + 140))))
    fig.update_layout(plot_bgcolor=BLOCKED_BG)
    return fig


def head_grid(weights, layer_names, q_labels=None, k_labels=None, selected=None,
              presenter: bool = False) -> go.Figure:
    """weights (L, H, Tq, Tk): an L x H grid of small maps on one [0, 1] scale.

    selected=(layer, head) outlines that cell. Hover shows token labels when labels are given
    and the grid is small enough (L*H*Tq*Tk <= 250k cells), else positions only.
    """
    w = _matrix(weights, 4)                                          # (L, H, Tq, Tk)
    L, H, Tq, Tk = w.shape
    names = [str(n) for n in layer_names]
    if len(names) != L:
        raise ValueError(f"{len(names)} layer names for {L} layers")
    with_labels = (q_labels is not None or k_labels is not None) and w.size <= 250_000
    cd = (_pair_labels(_labels(q_labels, Tq, "query"), _labels(k_labels, Tk, "key"))
          if with_labels else None)
    body = HOVER if with_labels else ("query pos %{y} → key pos %{x}: "
                                      "weight %{z:.3f}<extra></extra>")
    fig = make_subplots(rows=L, cols=H, horizontal_spacing=0.01 + 0.04 / H,
                        vertical_spacing=0.02 + 0.08 / L,
                        subplot_titles=[f"L{l} H{h}" for l in range(L) for h in range(H)])
    for l in range(L):
        for h in range(H):
            fig.add_trace(go.Heatmap(z=w[l, h], coloraxis="coloraxis", customdata=cd,
                                     hovertemplate=f"L{l} H{h}: " + body), row=l + 1, col=h + 1)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed")
    fig.update_layout(coloraxis=dict(colorscale=_scale(presenter), cmin=0.0, cmax=1.0))
    if selected is not None:
        l, h = selected
        n = l * H + h + 1
        ax = "" if n == 1 else str(n)
        fig.add_shape(type="rect", xref=f"x{ax} domain", yref=f"y{ax} domain", x0=-0.03, x1=1.03,
                      y0=-0.03, y1=1.02, line=dict(color="#e4002b", width=4 if presenter else 3))
    for l, name in enumerate(names):       # layer names left of each row, horizontal
        dom = fig.layout[f"yaxis{'' if l == 0 else l * H + 1}"].domain
        fig.add_annotation(text=name, x=-0.005, y=(dom[0] + dom[1]) / 2, xref="paper",
                           yref="paper", xanchor="right", showarrow=False)
    style(fig, presenter, height=int(max(300, min(1400, (150 if presenter else 120) * L))))
    chars = max((len(n) for n in names), default=0)
    return fig.update_layout(margin=dict(l=20 + chars * (12 if presenter else 7)))


def head_view(weights, q_labels, k_labels, heads=None, presenter: bool = False,
              min_weight: float = 0.02, n_bins: int = 8) -> go.Figure:
    """weights (H, Tq, Tk): lines from query i (x=0) to key j (x=1), opacity ~ weight.

    One colour and one legend entry per head (legendgroup: a click toggles the head). Weights
    are binned into n_bins opacity levels; each (head, bin) is one Scatter of segments joined by
    NaN gaps. Line y values are positions (query i at y=i, key j at y=j).
    """
    w = _matrix(weights, 3)                                          # (H, Tq, Tk)
    H, Tq, Tk = w.shape
    q, k = _labels(q_labels, Tq, "query"), _labels(k_labels, Tk, "key")
    heads = list(range(H)) if heads is None else [int(h) for h in heads]
    fig = go.Figure()
    for h in heads:
        colour = HEAD_COLOURS[h % len(HEAD_COLOURS)]
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=f"H{h}",
                                 legendgroup=f"H{h}", line=dict(color=colour, width=3)))
        qi, kj = np.nonzero(w[h] >= min_weight)                      # (n,), (n,)
        bins = np.minimum((w[h][qi, kj] * n_bins).astype(int), n_bins - 1)  # (n,)
        for b in np.unique(bins):
            sel = bins == b
            n = int(sel.sum())
            x = np.tile([0.0, 1.0, np.nan], n)                       # (3n,)
            y = np.stack([qi[sel], kj[sel], np.full(n, np.nan)], 1).ravel()  # (n, 3) -> (3n,)
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", opacity=(b + 1) / n_bins,
                                     line=dict(color=colour, width=3 if presenter else 2),
                                     legendgroup=f"H{h}", showlegend=False, hoverinfo="skip",
                                     name=f"H{h} ≥{b / n_bins:.2f}"))
    size = 20 if presenter else 13
    fig.add_trace(go.Scatter(x=np.zeros(Tq), y=np.arange(Tq), mode="text", text=q,
                             textposition="middle left", textfont=dict(size=size),
                             showlegend=False,
                             hovertemplate="query %{text} (pos %{y})<extra></extra>"))
    fig.add_trace(go.Scatter(x=np.ones(Tk), y=np.arange(Tk), mode="text", text=k,
                             textposition="middle right", textfont=dict(size=size),
                             showlegend=False,
                             hovertemplate="key %{text} (pos %{y})<extra></extra>"))
    fig.update_xaxes(visible=False, range=[-0.6, 1.6])
    fig.update_yaxes(visible=False, autorange="reversed")
    fig.update_layout(legend=dict(title="heads", orientation="h", y=1.02, yanchor="bottom"))
    row_px = 28 if presenter else 20
    return style(fig, presenter, height=int(max(300, row_px * max(Tq, Tk) + 120)))


STAGE_TITLES = {"raw": "raw q·kᵀ", "scaled": "scaled ÷ √d", "masked": "masked",
                "softmax": "softmax"}


def stages_figure(stages, q_labels, k_labels, mask=None, presenter: bool = False) -> go.Figure:
    """stages: {"raw", "scaled", "masked", "softmax"} each (Tq, Tk), as four maps side by side.

    raw has its own symmetric diverging scale, scaled and masked share one, softmax is on [0, 1];
    each panel has a horizontal colorbar below it. mask (Tq, Tk) bool, True = may attend (default:
    where "masked" is finite); blocked cells are NaN (grey) in the masked and softmax panels.
    """
    z = {name: _matrix(stages[name]) for name in STAGE_TITLES}      # each (Tq, Tk)
    Tq, Tk = z["raw"].shape
    q, k = _labels(q_labels, Tq, "query"), _labels(k_labels, Tk, "key")
    allowed = np.isfinite(z["masked"]) if mask is None else to_numpy(mask).astype(bool)
    for name in ("masked", "softmax"):
        z[name] = np.where(allowed, z[name], np.nan)                 # (Tq, Tk)
    for name in ("raw", "scaled"):
        z[name] = np.where(np.isfinite(z[name]), z[name], np.nan)

    def sym(a):
        m = np.nanmax(np.abs(a)) if np.isfinite(a).any() else 0.0
        return float(m) if m > 0 else 1.0

    ranges = {"raw": sym(z["raw"]), "scaled": sym(z["scaled"]), "masked": sym(z["scaled"])}
    fig = make_subplots(rows=1, cols=4, subplot_titles=list(STAGE_TITLES.values()),
                        horizontal_spacing=0.05)
    cd = _pair_labels(q, k)
    for c, name in enumerate(STAGE_TITLES, start=1):
        fig.add_trace(go.Heatmap(
            z=z[name], x=np.arange(Tk), y=np.arange(Tq), coloraxis=f"coloraxis{c}", customdata=cd,
            hoverongaps=False, hovertemplate=HOVER.replace("weight", STAGE_TITLES[name])),
            row=1, col=c)
        if name in ("masked", "softmax"):
            marks = _blocked_marks(~allowed, presenter)
            if marks is not None:
                fig.add_trace(marks, row=1, col=c)
        _token_axes(fig, q, k, 24, row=1, col=c)
        dom = fig.layout[f"xaxis{'' if c == 1 else c}"].domain
        lo, hi = (0.0, 1.0) if name == "softmax" else (-ranges[name], ranges[name])
        fig.layout[f"coloraxis{c}"] = dict(
            colorscale=_scale(presenter) if name == "softmax" else DIVERGING_SCALE, cmin=lo,
            cmax=hi, colorbar=dict(orientation="h", x=(dom[0] + dom[1]) / 2, xanchor="center",
                                   len=dom[1] - dom[0], y=-0.12, yanchor="top", thickness=12))
    style(fig, presenter, height=int(min(700, max(340, 14 * Tq + 220))))
    fig.update_layout(plot_bgcolor=BLOCKED_BG, margin=dict(b=90))
    return fig


def _unique(labels: list[str]) -> list[str]:
    """Labels as they are when distinct, else "label@pos" for every one."""
    return labels if len(set(labels)) == len(labels) else [f"{s}@{i}" for i, s in enumerate(labels)]


def weights_to_csv(weights, q_labels, k_labels) -> str:
    """weights (Tq, Tk) as CSV: header "query\\key", key labels; then one row per query.

    Repeated labels become "label@pos". Values are written at full precision (repr).
    """
    w = _matrix(weights)                                             # (Tq, Tk)
    q = _unique(_labels(q_labels, w.shape[0], "query"))
    k = _unique(_labels(k_labels, w.shape[1], "key"))
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["query\\key", *k])
    for label, row in zip(q, w):
        out.writerow([label, *(repr(float(v)) for v in row)])
    return buf.getvalue()
