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


_MANTISSAS = ((1.0,), (1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0),
               tuple(round(1 + 0.1 * i, 1) for i in range(90)))


def log_ticks(lo: float, hi: float, most: int = 5) -> tuple[list[float], list[str]]:
    """Tick values and labels for a log axis showing lo..hi (0 < lo <= hi): the coarsest of
    1 | 1-2-5 | 1-1.5-2-3-5-7 | 0.1 steps that puts at least three ticks in range, thinned so
    neighbours are at least span/most apart in log10 (at most most+1 ticks, so labels never
    touch, whatever the loss's range). Plotly's own choice on a narrow log range can put
    "1.9" and "2" a few pixels apart."""
    a, b = np.log10(lo), np.log10(hi)
    gap = max(b - a, 1e-12) / most
    for mantissas in _MANTISSAS:
        values = [m * 10.0 ** e for e in range(int(np.floor(a)) - 1, int(np.ceil(b)) + 1)
                  for m in mantissas]
        kept: list[float] = []
        for v in sorted(v for v in values if lo <= v <= hi):
            if not kept or np.log10(v) - np.log10(kept[-1]) >= gap:
                kept.append(v)
        if len(kept) >= 3:
            break
    else:                     # narrower than 0.1 steps: three evenly in log space, with as
        for digits in range(3, 12):          # many significant digits as tell them apart
            kept = sorted({float(f"{v:.{digits}g}") for v in np.logspace(a, b, 3)})
            if len(kept) == 3:
                break
        return kept, [f"{v:.{digits}g}" for v in kept]
    return kept, [f"{v:g}" for v in kept]
