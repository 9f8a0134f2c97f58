"""The four stages of one head (raw scores, scaled, masked, softmax) side by side, and a
head's weights as CSV."""
from __future__ import annotations

import csv
import io

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz import sizing
from viz.common import style, to_numpy
from viz.maps import (BLOCKED_BG, HOVER, _blocked_marks, _labels, _matrix, _pair_labels, _scale,
                      _token_axes)
from viz.theme import diverging_scale, sizes


MAX_CELL = 60.0              # px: a short input does not need huge cells
STAGE_TITLES = {"raw": "raw q·kᵀ", "scaled": "scaled ÷ √d", "masked": "masked",
                "softmax": "softmax"}


def _grid(Tq: int, Tk: int, q_w: float, k_w: float, s, W: int, Hmax: int, cols: int) -> dict:
    """Cell size and label layout of the four panels in `cols` columns (4: one row, 2: 2×2).
    Each row of panels has its title above and, below, its key labels and colour bars."""
    rows = 4 // cols
    gap, bar = 24, 14
    left, right = int(q_w + 16), 16
    title_h = sizing.line_px(s.subtitle) + 12
    below = bar + sizing.line_px(s.colorbar) + 24                    # colour bar and its ticks
    cell = min((W - left - right - (cols - 1) * gap) / (cols * Tk),
               (Hmax - rows * (title_h + below + k_w + 12)) / (rows * Tq))
    cell = max(min(cell, MAX_CELL), 1.0)
    x_step, x_angle = sizing.label_step(cell, k_w), 0
    if x_step > 1:
        x_step, x_angle = sizing.label_step(cell, sizing.line_px(s.tick)), -90
    x_lab = sizing.line_px(s.tick) if x_angle == 0 else k_w
    return dict(rows=rows, cols=cols, gap=gap, bar=bar, left=left, right=right, title_h=title_h,
                below=below, cell=cell, x_step=x_step, x_angle=x_angle, x_lab=x_lab,
                y_step=sizing.label_step(cell, sizing.line_px(s.tick)))


def stages_figure(stages, q_labels, k_labels, mask=None, presenter: bool = False, *,
                  dark: bool = False, width: int | None = None,
                  max_height: int | None = None, columns: int | None = None) -> go.Figure:
    """stages: {"raw", "scaled", "masked", "softmax"} each (Tq, Tk), as four maps.

    raw has its own symmetric diverging scale, scaled and masked share one, softmax is on [0, 1];
    each panel has a horizontal colorbar below it. mask (Tq, Tk) bool, True = may attend (default:
    where "masked" is finite); blocked cells are NaN (grey) in the masked and softmax panels.
    columns: 4 (side by side), 2 (a 2×2 grid), or None: a row, unless its cells are too small
    to label every token and a 2×2 grid gives cells at least 1.25× larger. The panels fill width (default:
    the mode's content width) and max_height with square cells; each row of panels shares its
    query axis; labels are thinned by their pixel size so none overlap.
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
    s = sizes(presenter)
    W = sizing.content_width(presenter=presenter) if width is None else int(width)
    Hmax = sizing.height_limit(presenter=presenter) if max_height is None else int(max_height)
    q_w = max(sizing.text_px(sizing.short(t), s.tick) for t in q)
    k_w = max(sizing.text_px(sizing.short(t), s.tick) for t in k)
    if columns not in (None, 2, 4):
        raise ValueError(f"columns must be 2, 4 or None, got {columns!r}")
    g = _grid(Tq, Tk, q_w, k_w, s, W, Hmax, columns or 4)
    if columns is None and g["cell"] < sizing.line_px(s.tick):      # a row of cells too small
        square = _grid(Tq, Tk, q_w, k_w, s, W, Hmax, 2)             # to label each token
        if square["cell"] >= 1.25 * g["cell"]:
            g = square
    cell, rows, cols, gap = g["cell"], g["rows"], g["cols"], g["gap"]
    row_gap = g["x_lab"] + 14 + g["below"] + g["title_h"]           # labels, bars, next titles
    pw, ph = cell * Tk, cell * Tq
    plot_w, plot_h = cols * pw + (cols - 1) * gap, rows * ph + (rows - 1) * row_gap
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(STAGE_TITLES.values()),
                        horizontal_spacing=gap / plot_w,
                        vertical_spacing=row_gap / plot_h if rows > 1 else None,
                        shared_yaxes=True)
    cd = _pair_labels(q, k)
    for i, name in enumerate(STAGE_TITLES):
        r, c, n = i // cols + 1, i % cols + 1, i + 1
        fig.add_trace(go.Heatmap(
            z=z[name], x=np.arange(Tk), y=np.arange(Tq), coloraxis=f"coloraxis{n}", customdata=cd,
            hoverongaps=False, hovertemplate=HOVER.replace("weight", STAGE_TITLES[name])),
            row=r, col=c)
        if name in ("masked", "softmax"):
            marks = _blocked_marks(~allowed, presenter, cell)
            if marks is not None:
                fig.add_trace(marks, row=r, col=c)
        _token_axes(fig, q, k, 10**9, steps=(g["y_step"], g["x_step"]), row=r, col=c)
        dom = fig.layout[f"xaxis{'' if n == 1 else n}"].domain
        y_dom = fig.layout[f"yaxis{'' if n == 1 else n}"].domain
        lo, hi = (0.0, 1.0) if name == "softmax" else (-ranges[name], ranges[name])
        fig.layout[f"coloraxis{n}"] = dict(
            colorscale=_scale(presenter, dark) if name == "softmax" else diverging_scale(dark),
            cmin=lo, cmax=hi, colorbar=dict(
                orientation="h", x=(dom[0] + dom[1]) / 2, xanchor="center", len=dom[1] - dom[0],
                y=y_dom[0] - (g["x_lab"] + 14) / plot_h, yanchor="top", thickness=g["bar"],
                nticks=4))
    fig.update_xaxes(tickangle=g["x_angle"])
    top, bottom = int(g["title_h"]), int(g["x_lab"] + 14 + g["below"])
    style(fig, presenter, dark=dark, width=int(g["left"] + g["right"] + plot_w + 2),
          height=int(top + plot_h + bottom),
          margin=dict(l=g["left"], r=g["right"], t=top, b=bottom))
    fig.update_layout(plot_bgcolor=BLOCKED_BG)
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
