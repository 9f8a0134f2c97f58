"""Attention figures: one map, a grid of every head, BertViz-style lines; the four stages and
the CSV export live in viz/stages.py and are re-exported here.

Every map uses integer positions on its axes (tickvals/ticktext carry the token labels), so
repeated tokens stay distinct columns; hover shows both the token and its position. Queries run
down the y axis (first query on top), keys along x. Masked cells are NaN in z and show the grey
plot background (plus an "×" on small maps).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz import sizing
from viz.common import style, to_numpy
from viz.maps import (BLOCKED_BG, CATEGORY_AXES_CELLS, HOVER, HOVER_CATEGORIES, _blocked_marks,
                      _labels, _matrix, _pair_labels, _scale, square_map)
from viz.stages import STAGE_TITLES, stages_figure, weights_to_csv  # noqa: F401 (re-export)
from viz.theme import line_colours, sizes


def attention_heatmap(weights, q_labels, k_labels, title=None, zmin=0.0, zmax=1.0,
                      max_labels=48, presenter: bool = False, mask=None, *, dark: bool = False,
                      width: int | None = None, max_height: int | None = None) -> go.Figure:
    """weights (Tq, Tk) as one heatmap; mask (Tq, Tk) bool, True = may attend, blocks cells.

    Sized for the page (viz.sizing.heatmap_size): width = the content width it may fill
    (default: the mode's screen, 780 px presenting, 1460 px otherwise), max_height = the
    tallest figure wanted; cells are square, labels thinned so none overlap (and at most
    max_labels per axis). Render it with st.plotly_chart(fig, width="content").
    """
    w = _matrix(weights)                                             # (Tq, Tk)
    Tq, Tk = w.shape
    q, k = _labels(q_labels, Tq, "query"), _labels(k_labels, Tk, "key")
    z, blocked = w, np.zeros(w.shape, dtype=bool)
    if mask is not None:
        blocked = ~to_numpy(mask).astype(bool)                       # (Tq, Tk)
        z = np.where(blocked, np.nan, w)                             # (Tq, Tk)
    categories = None
    if w.size > CATEGORY_AXES_CELLS:
        xs = [f"{t} @{j}" for j, t in enumerate(k)]                   # unique category names
        ys = [f"{t} @{i}" for i, t in enumerate(q)]
        fig = go.Figure(go.Heatmap(z=z, x=xs, y=ys, zmin=zmin, zmax=zmax,
                                   colorscale=_scale(presenter, dark),
                                   hovertemplate=HOVER_CATEGORIES, hoverongaps=False))
        categories = (ys, xs)
    else:
        fig = go.Figure(go.Heatmap(
            z=z, x=np.arange(Tk), y=np.arange(Tq), zmin=zmin, zmax=zmax,
            colorscale=_scale(presenter, dark), customdata=_pair_labels(q, k),
            hovertemplate=HOVER, hoverongaps=False))
    size = square_map(fig, Tq, Tk, q, k, title, presenter, dark, width, max_height, max_labels,
                      categories=categories)
    if categories is None:
        marks = _blocked_marks(blocked, presenter, size.cell)
        if marks is not None:
            fig.add_trace(marks)
    fig.update_layout(plot_bgcolor=BLOCKED_BG)
    return fig


def head_grid(weights, layer_names, q_labels=None, k_labels=None, selected=None,
              presenter: bool = False, *, dark: bool = False, width: int | None = None,
              max_panel: int = 220) -> go.Figure:
    """weights (L, H, Tq, Tk): an L x H grid of small maps on one [0, 1] scale.

    Layer names label the rows (left), "H0".. the columns (top). Panels have square cells and
    together fill width (default: the mode's content width), each at most max_panel px wide.
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
    s = sizes(presenter)
    W = sizing.content_width(presenter=presenter) if width is None else int(width)
    gap = 12 if presenter else 8
    left = int(max(sizing.text_px(n, s.subtitle) for n in names) + 16)
    right, top, bottom = sizing.colorbar_px(presenter), int(sizing.line_px(s.subtitle) + 10), 10
    pw = max(20.0, min(max_panel, (W - left - right - (H - 1) * gap) / H))   # panel width
    ph = pw * Tq / Tk                                                # square cells
    plot_w, plot_h = H * pw + (H - 1) * gap, L * ph + (L - 1) * gap
    fig = make_subplots(rows=L, cols=H, horizontal_spacing=gap / plot_w if H > 1 else 0.0,
                        vertical_spacing=gap / plot_h if L > 1 else 0.0)
    for l in range(L):
        for h in range(H):
            fig.add_trace(go.Heatmap(z=w[l, h], coloraxis="coloraxis", customdata=cd,
                                     hovertemplate=f"L{l} H{h}: " + body), row=l + 1, col=h + 1)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed")
    fig.update_layout(coloraxis=dict(colorscale=_scale(presenter, dark), cmin=0.0, cmax=1.0,
                                     colorbar=sizing.colorbar_spec(presenter)))
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
    for h in range(H):                     # head numbers above the first row
        dom = fig.layout[f"xaxis{'' if h == 0 else h + 1}"].domain
        fig.add_annotation(text=f"H{h}", x=(dom[0] + dom[1]) / 2, y=1.0, xref="paper",
                           yref="paper", xanchor="center", yanchor="bottom", showarrow=False)
    return style(fig, presenter, dark=dark, width=int(left + right + plot_w + 2),
                 height=int(top + bottom + plot_h + 2),
                 margin=dict(l=left, r=right, t=top, b=bottom))


def head_view(weights, q_labels, k_labels, heads=None, presenter: bool = False,
              min_weight: float = 0.02, n_bins: int = 8, *, dark: bool = False) -> go.Figure:
    """weights (H, Tq, Tk): lines from query i (x=0) to key j (x=1), opacity ~ weight.

    One colour and one legend entry per head (legendgroup: a click toggles the head). Weights
    are binned into n_bins opacity levels; each (head, bin) is one Scatter of segments joined by
    NaN gaps. Line y values are positions (query i at y=i, key j at y=j).
    """
    w = _matrix(weights, 3)                                          # (H, Tq, Tk)
    H, Tq, Tk = w.shape
    q, k = _labels(q_labels, Tq, "query"), _labels(k_labels, Tk, "key")
    heads = list(range(H)) if heads is None else [int(h) for h in heads]
    colours = line_colours(dark)
    fig = go.Figure()
    for h in heads:
        colour = colours[h % len(colours)]
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
    font = sizes(presenter).tick
    fig.add_trace(go.Scatter(x=np.zeros(Tq), y=np.arange(Tq), mode="text", text=q,
                             textposition="middle left", textfont=dict(size=font),
                             showlegend=False,
                             hovertemplate="query %{text} (pos %{y})<extra></extra>"))
    fig.add_trace(go.Scatter(x=np.ones(Tk), y=np.arange(Tk), mode="text", text=k,
                             textposition="middle right", textfont=dict(size=font),
                             showlegend=False,
                             hovertemplate="key %{text} (pos %{y})<extra></extra>"))
    fig.update_xaxes(visible=False, range=[-0.6, 1.6])
    fig.update_yaxes(visible=False, autorange="reversed")
    fig.update_layout(legend=dict(title="heads", orientation="h", y=1.02, yanchor="bottom"))
    row_px = sizing.line_px(font) + 4                                # one label per row, apart
    return style(fig, presenter, dark=dark, height=int(max(300, row_px * max(Tq, Tk) + 140)))
