"""Shared pieces of every figure: array input, tick thinning, download settings, and `style`,
the entry to the one figure theme (viz/theme.py: sizes, colours, presenter mode).

viz/ takes tensors or arrays and returns plotly figures; it never imports Streamlit and never
runs a model.
"""
from __future__ import annotations

import math

import numpy as np

from viz import sizing, theme
from viz.theme import (ATTENTION_SCALE, DIVERGING_SCALE, HEAD_COLOURS,  # noqa: F401 (re-export)
                       PRESENTER_SCALE)

# Plotly's toolbar "download as PNG" at three times the on-screen resolution.
PLOTLY_CONFIG = {"displaylogo": False,
                 "toImageButtonOptions": {"format": "png", "scale": 3, "filename": "attention"}}


def to_numpy(x) -> np.ndarray:
    """Accept a torch tensor (any device, with grad) or anything array-like."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x)


def style(fig, presenter: bool = False, height: int | None = None, dark: bool = False,
          wrap_to: int | None = None, **kw):
    """The figure theme (viz.theme.apply): type sizes for the mode, colours for the background.
    wrap_to: the figure's width in px, to break a long title into lines that fit it."""
    title = fig.layout.title.text
    if wrap_to and title:
        fig.update_layout(title_text=sizing.wrap(title.replace("<br>", " "), wrap_to - 20,
                                                 theme.sizes(presenter).title))
    return theme.apply(fig, presenter=presenter, dark=dark, height=height, **kw)


def column(width: int | None, presenter: bool, fraction: float = 1.0) -> int:
    """width, or that fraction of the mode's content width (the page's column) when None."""
    return int(width) if width else int(sizing.content_width(presenter=presenter) * fraction)


def tick_step(n: int, max_labels: int) -> int:
    """Show every k-th label so that at most max_labels are drawn."""
    return max(1, int(np.ceil(n / max(1, max_labels))))


def thin_ticks(labels, max_labels: int = 48, step: int | None = None):
    """(tickvals, ticktext) showing every step-th label (default: at most max_labels of them)."""
    labels = [str(s) for s in labels]
    k = tick_step(len(labels), max_labels) if step is None else max(1, int(step))
    idx = list(range(0, len(labels), k))
    return idx, [labels[i] for i in idx]


def decade_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Powers of ten covering [lo, hi] for a log axis, labelled 0.001, 1, 10, 1,000, ...
    (plotly's own log ticks add 2 and 5 between decades, in smaller type)."""
    k0, k1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    vals = [10.0 ** k for k in range(k0, k1 + 1)]
    return vals, [f"{v:,.0f}" if v >= 1 else f"{v:g}" for v in vals]
