"""What every attention map shares: the hover templates, label checks, blocked-cell marks,
token axes and `square_map`, which sizes a single map (square cells, labels that cannot overlap,
axis titles naming query and key) through viz.sizing and the figure theme.

Queries run down the y axis (first query on top), keys along x. Masked cells are NaN in z and
show the grey plot background (plus an "×" on small maps).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from viz import sizing
from viz.common import style, thin_ticks, tick_step, to_numpy
from viz.theme import sizes, weight_scale

BLOCKED_BG = "#d0d0d0"        # plot background = colour of masked (NaN) cells
MAX_MARKED_CELLS = 1024       # draw an "×" on masked cells only for maps up to this many cells
HOVER = ("query %{customdata[0]} (pos %{y}) → key %{customdata[1]} (pos %{x}): "
         "weight %{z:.3f}<extra></extra>")
# Above this many cells a map uses category axes named "token @pos" instead of per-cell hover
# labels: two strings per cell cost 0.3-1.5 s of building and JSON from 100 x 100 tokens up.
CATEGORY_AXES_CELLS = 4_096
HOVER_CATEGORIES = "query %{y} → key %{x}: weight %{z:.3f}<extra></extra>"


QUERY_TITLE = "query (row) attends to…"
KEY_TITLE = "…key (column)"
# Shorter names for a map too small for the full ones (3 tokens at half the page presenting):
# the longest that fits beside the cells is used.
QUERY_TITLES = (QUERY_TITLE, "query (row)", "query")
KEY_TITLES = (KEY_TITLE, "key (column)", "key")


def fitting_title(options, room_px: float, font_px: float) -> str:
    """The first of options whose estimated width fits room_px, else the last (shortest)."""
    return next((t for t in options if sizing.text_px(t, font_px) <= room_px), options[-1])


def _scale(presenter: bool, dark: bool = False):
    return weight_scale(presenter, dark)


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


def _blocked_marks(blocked: np.ndarray, presenter: bool, cell_px: float | None = None):
    """A text trace with an "×" on every blocked cell, or None when there are none, too many,
    or (cell_px given) cells too small for the mark."""
    qi, kj = np.nonzero(blocked)                                     # (n,), (n,)
    size = sizes(presenter).cell
    if qi.size == 0 or blocked.size > MAX_MARKED_CELLS or (cell_px and cell_px < size):
        return None
    return go.Scatter(x=kj, y=qi, mode="text", text="×", hoverinfo="skip", showlegend=False,
                      textfont=dict(color="#555555", size=size))


def _token_axes(fig, q: list[str], k: list[str], max_labels: int, categories=None,
                steps=None, **rowcol):
    """Thinned token labels on both axes (every steps=(y, x)-th one, default at most
    max_labels); with categories=(y names, x names) the tick values are those category names
    instead of integer positions."""
    ys, xs = steps or (None, None)
    xv, xt = thin_ticks([sizing.short(t) for t in k], max_labels, xs)
    yv, yt = thin_ticks([sizing.short(t) for t in q], max_labels, ys)
    if categories is not None:
        xv, yv = [categories[1][i] for i in xv], [categories[0][i] for i in yv]
    fig.update_xaxes(tickmode="array", tickvals=xv, ticktext=xt, showgrid=False, zeroline=False,
                     **rowcol)
    fig.update_yaxes(tickmode="array", tickvals=yv, ticktext=yt, autorange="reversed",
                     showgrid=False, zeroline=False, **rowcol)


def square_map(fig, Tq: int, Tk: int, q: list[str], k: list[str], title, presenter: bool,
               dark: bool, width=None, max_height=None, max_labels: int = 10**9,
               categories=None, colorbar: bool = True, axis_titles=True,
               colorbar_title: str = "weight"):
    """Size fig (one map, Tq × Tk) with sizing.heatmap_size: square cells that stay square
    when the page narrows the figure (scaleanchor), thinned labels that cannot overlap, axis
    titles (True: naming query and key; or (y title, x title); False: none), the title wrapped
    to the figure's width. Returns the size."""
    s = sizes(presenter)
    if axis_titles is True:
        axis_titles = (QUERY_TITLE, KEY_TITLE)
    kw = dict(presenter=presenter, width=width, max_height=max_height, colorbar=colorbar,
              axis_titles=bool(axis_titles))
    size = sizing.heatmap_size(Tq, Tk, q, k, **kw)
    text = None
    if title:
        text = sizing.wrap(title, max(size.width - 20, 200), s.title)
        if text.count("<br>"):
            size = sizing.heatmap_size(Tq, Tk, q, k, title_lines=text.count("<br>") + 1, **kw)
    if axis_titles == (QUERY_TITLE, KEY_TITLE):          # the defaults: fit them to the cells
        axis_titles = (fitting_title(QUERY_TITLES, Tq * size.cell, s.axis_title),
                       fitting_title(KEY_TITLES, Tk * size.cell, s.axis_title))
    steps = (max(size.y_step, tick_step(Tq, max_labels)), max(size.x_step, tick_step(Tk, max_labels)))
    _token_axes(fig, q, k, max_labels, categories=categories, steps=steps)
    fig.update_xaxes(tickangle=size.x_angle, constrain="domain",
                     title_text=axis_titles[1] if axis_titles else None)
    fig.update_yaxes(scaleanchor="x", scaleratio=1, constrain="domain", constraintoward="top",
                     title_text=axis_titles[0] if axis_titles else None)
    fig.update_layout(title=dict(text=text, x=0, xanchor="left", xref="container", pad=dict(l=10)))
    if colorbar:
        for t in fig.data:
            if isinstance(t, go.Heatmap):
                t.colorbar.update(sizing.colorbar_spec(presenter, colorbar_title))
    style(fig, presenter, dark=dark, width=size.width, height=size.height, margin=size.margin)
    return size
