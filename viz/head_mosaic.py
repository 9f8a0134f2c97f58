"""Every head of every layer as ONE heatmap: the L × H small maps laid out on one grid with
background gaps between them, one trace and one pair of axes.

viz.attention.head_grid draws one subplot per head; with a real model's 6 × 12 or 12 × 12
heads that is 72-144 subplots, and plotly's per-axis layout work takes seconds to tens of
seconds per figure. The mosaic costs what one map costs, so the explorer's "all heads" view
stays interactive on pretrained models.
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from viz import sizing
from viz.common import style
from viz.maps import _matrix, _scale
from viz.theme import palette, sizes

SELECTED = "#e4002b"
MAX_CELL = 40.0


def _layout(H, Tk, W, presenter, names):
    """(cell px, gap in cells, left, right, top, bottom margins): square cells, H panels of Tk
    columns and gaps of at least 12 px (8 px normal) between them, filling W."""
    s = sizes(presenter)
    left = int(max(sizing.text_px(n, s.tick) for n in names) + 12)
    right, top, bottom = sizing.colorbar_px(presenter), int(sizing.line_px(s.tick) + 12), 10
    gap_px, room = (12 if presenter else 8), max(40, W - left - right)
    cell = room / (H * Tk)
    for _ in range(3):                      # the gap is a whole number of cells
        gap = max(1, math.ceil(gap_px / cell))
        cell = room / (H * Tk + (H - 1) * gap)
    return max(0.5, min(cell, MAX_CELL)), gap, left, right, top, bottom


def head_mosaic(weights, layer_names, selected=None, q_labels=None, k_labels=None,
                presenter: bool = False, *, dark: bool = False, width: int | None = None,
                max_labels_cells: int = 16_000, hover_note: str = "weight") -> go.Figure:
    """weights (L, H, Tq, Tk) -> one heatmap holding every head's map, layers down, heads
    across, on one [0, 1] scale with square cells filling `width` (default: the mode's content
    width). selected=(layer, head) is outlined. Hover names the layer and head, and the query
    and key labels when given and the mosaic has at most max_labels_cells cells."""
    w = _matrix(weights, 4)                                          # (L, H, Tq, Tk)
    L, H, Tq, Tk = w.shape
    names = [str(n) for n in layer_names]
    if len(names) != L:
        raise ValueError(f"{len(names)} layer names for {L} layers")
    W = sizing.content_width(presenter=presenter) if width is None else int(width)
    cell, gap, left, right, top, bottom = _layout(H, Tk, W, presenter, names)
    rows, cols = L * Tq + (L - 1) * gap, H * Tk + (H - 1) * gap
    z = np.full((rows, cols), np.nan, dtype=np.float32)                # (rows, cols)
    owner = np.zeros((rows, cols, 2), dtype=np.uint8)                  # (rows, cols, 2)
    for l in range(L):
        for h in range(H):
            r0, c0 = l * (Tq + gap), h * (Tk + gap)
            z[r0:r0 + Tq, c0:c0 + Tk] = w[l, h]
            owner[r0:r0 + Tq, c0:c0 + Tk] = (l, h)
    text, body = None, ""
    if (q_labels is not None and k_labels is not None and L * H * Tq * Tk <= max_labels_cells):
        q, k = [str(x) for x in q_labels], [str(x) for x in k_labels]
        text = np.full((rows, cols), "", dtype=object)
        for l in range(L):
            for h in range(H):
                r0, c0 = l * (Tq + gap), h * (Tk + gap)
                text[r0:r0 + Tq, c0:c0 + Tk] = [[f"{a} → {b}" for b in k] for a in q]
        body = " · %{text}"
    fig = go.Figure(go.Heatmap(
        z=z, zmin=0.0, zmax=1.0, colorscale=_scale(presenter, dark), customdata=owner,
        text=text, hoverongaps=False, xgap=0, ygap=0,
        hovertemplate=f"L%{{customdata[0]}} H%{{customdata[1]}}{body}: {hover_note} "
                      "%{z:.3f}<extra></extra>",
        colorbar=sizing.colorbar_spec(presenter)))
    fig.update_xaxes(tickmode="array", tickvals=[h * (Tk + gap) + (Tk - 1) / 2 for h in range(H)],
                     ticktext=[f"H{h}" for h in range(H)], side="top", showgrid=False,
                     zeroline=False, constrain="domain", range=[-0.5, cols - 0.5])
    fig.update_yaxes(tickmode="array", tickvals=[l * (Tq + gap) + (Tq - 1) / 2 for l in range(L)],
                     ticktext=names, autorange="reversed", showgrid=False, zeroline=False,
                     scaleanchor="x", scaleratio=1, constrain="domain", constraintoward="top")
    if selected is not None:
        l, h = selected
        r0, c0 = l * (Tq + gap), h * (Tk + gap)
        pad = max(0.3, gap / 2)
        fig.add_shape(type="rect", x0=c0 - pad - 0.5, x1=c0 + Tk - 0.5 + pad,
                      y0=r0 - pad - 0.5, y1=r0 + Tq - 0.5 + pad,
                      line=dict(color=SELECTED, width=4 if presenter else 3))
    fig = style(fig, presenter, dark=dark, width=int(left + right + cols * cell + 2),
                height=int(top + bottom + rows * cell + 2),
                margin=dict(l=left, r=right, t=top, b=bottom))
    bg = palette(dark)["bg"]
    fig.update_layout(plot_bgcolor=bg)                             # gaps show the page
    return fig
