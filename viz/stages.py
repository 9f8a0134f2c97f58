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


STAGE_TITLES = {"raw": "raw q·kᵀ", "scaled": "scaled ÷ √d", "masked": "masked",
                "softmax": "softmax"}


def stages_figure(stages, q_labels, k_labels, mask=None, presenter: bool = False, *,
                  dark: bool = False, width: int | None = None,
                  max_height: int | None = None) -> go.Figure:
    """stages: {"raw", "scaled", "masked", "softmax"} each (Tq, Tk), as four maps side by side.

    raw has its own symmetric diverging scale, scaled and masked share one, softmax is on [0, 1];
    each panel has a horizontal colorbar below it. mask (Tq, Tk) bool, True = may attend (default:
    where "masked" is finite); blocked cells are NaN (grey) in the masked and softmax panels.
    The four panels share the query axis and fill width (default: the mode's content width)
    with square cells; labels are thinned by their pixel size so none overlap.
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
    gap, bar = 24, 14
    q_w = max(sizing.text_px(sizing.short(t), s.tick) for t in q)
    k_w = max(sizing.text_px(sizing.short(t), s.tick) for t in k)
    left, right, top = int(q_w + 16), 16, int(sizing.line_px(s.subtitle) + 12)
    below = bar + sizing.line_px(s.colorbar) + 24                    # colour bar and its ticks
    cell = min((W - left - right - 3 * gap) / (4 * Tk), (Hmax - top - below - k_w - 12) / Tq)
    cell = max(cell, 1.0)
    x_step, x_angle = sizing.label_step(cell, k_w), 0
    if x_step > 1:
        x_step, x_angle = sizing.label_step(cell, sizing.line_px(s.tick)), -90
    x_lab = sizing.line_px(s.tick) if x_angle == 0 else k_w
    y_step = sizing.label_step(cell, sizing.line_px(s.tick))
    pw, plot_h = cell * Tk, cell * Tq
    plot_w = 4 * pw + 3 * gap
    fig = make_subplots(rows=1, cols=4, subplot_titles=list(STAGE_TITLES.values()),
                        horizontal_spacing=gap / plot_w, shared_yaxes=True)
    cd = _pair_labels(q, k)
    for c, name in enumerate(STAGE_TITLES, start=1):
        fig.add_trace(go.Heatmap(
            z=z[name], x=np.arange(Tk), y=np.arange(Tq), coloraxis=f"coloraxis{c}", customdata=cd,
            hoverongaps=False, hovertemplate=HOVER.replace("weight", STAGE_TITLES[name])),
            row=1, col=c)
        if name in ("masked", "softmax"):
            marks = _blocked_marks(~allowed, presenter, cell)
            if marks is not None:
                fig.add_trace(marks, row=1, col=c)
        _token_axes(fig, q, k, 10**9, steps=(y_step, x_step), row=1, col=c)
        dom = fig.layout[f"xaxis{'' if c == 1 else c}"].domain
        lo, hi = (0.0, 1.0) if name == "softmax" else (-ranges[name], ranges[name])
        fig.layout[f"coloraxis{c}"] = dict(
            colorscale=_scale(presenter, dark) if name == "softmax" else diverging_scale(dark),
            cmin=lo, cmax=hi, colorbar=dict(
                orientation="h", x=(dom[0] + dom[1]) / 2, xanchor="center", len=dom[1] - dom[0],
                y=-(x_lab + 14) / plot_h, yanchor="top", thickness=bar, nticks=4))
    fig.update_xaxes(tickangle=x_angle)
    bottom = int(x_lab + 14 + below)
    style(fig, presenter, dark=dark, width=int(left + right + plot_w + 2),
          height=int(top + plot_h + bottom), margin=dict(l=left, r=right, t=top, b=bottom))
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
