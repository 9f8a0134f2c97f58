"""What the Learn pages share: the figure width they lay out for, the dark-theme flag, rows of
small matrices, and integer boxes kept in the URL that survive any link.

Figures are sized for the projector (a 1280 px window), the narrowest screen the lecture runs
on: on a wider screen they keep that size (st.plotly_chart(width="content")) instead of being
stretched past what their labels were spaced for.
"""
from __future__ import annotations

import math

import streamlit as st

from viz import sizing
from viz.mathview import matrices_per_row, matrix_figure

from ..theme import dark as chosen_dark
from ..widgets import chart

WINDOW = 1280                         # px: the window the Learn figures are laid out for
MAX_SHOWN = 20                        # characters of a rejected URL value quoted back


def dark() -> bool:
    """Figures for the dark theme: the sidebar's Theme choice (?theme=dark), else the browser's."""
    return chosen_dark()


def width(presenter: bool) -> int:
    """The main column's width in px for the projector window."""
    return sizing.content_width(WINDOW, presenter)


def gap(presenter: bool) -> int:
    """Streamlit's column gap: 1rem (the presenter CSS makes a rem 20 px)."""
    return 20 if presenter else 16


def show(fig, key: str | None = None) -> None:
    """A figure at the width it was laid out for (its layout.width), else its column's."""
    chart(fig, key=key, width="content" if fig.layout.width else "stretch")


def align_tops(figs) -> None:
    """Give figures shown side by side the same top margin (the tallest title's), so their
    plots start at the same height; each grows by what it gains."""
    top = max(f.layout.margin.t or 0 for f in figs)
    for f in figs:
        extra = top - (f.layout.margin.t or 0)
        if extra:
            f.update_layout(margin_t=top, height=(f.layout.height or 0) + extra)


def matrix_rows(items, presenter: bool, dark_theme: bool, key: str = "m") -> None:
    """Small matrices [(title, M, row_labels, col_labels)] side by side, as many per row as
    keep every value readable (viz.mathview.matrices_per_row), each figure as wide as its
    column, rows of them down the page."""
    items = list(items)
    W, g = width(presenter), gap(presenter)
    start = 0
    while start < len(items):
        rest = items[start:]
        k = matrices_per_row([M.shape[-1] for _, M, _, _ in rest], width=W,
                             presenter=presenter, gap=g)
        per = (W - g * (k - 1)) // k
        figs = [matrix_figure(M, rows, cols, title, presenter=presenter, dark=dark_theme,
                              width=per) for title, M, rows, cols in rest[:k]]
        align_tops(figs)
        for i, (col, fig) in enumerate(zip(st.columns(k, gap="small"), figs)):
            with col:
                show(fig, key=f"{key}_{start + i}")
        start += k


def quoted(raw) -> str:
    """A URL value as it can be shown back: control characters escaped, cut to MAX_SHOWN."""
    text = repr(str(raw))[1:-1]
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"


def url_int(where, label: str, lo: int, hi: int, default: int, key: str, **kw) -> int:
    """An integer number box kept in the URL (?key=value) that any link value survives.

    Streamlit's own binding of an integer number_input raises OverflowError (with a traceback
    naming server paths) for ?key=inf or 1e309, so this box syncs the URL itself: a link's
    value is read when it differs from what the box last wrote there; a finite number is
    rounded and clamped to [lo, hi] (with a toast saying so), anything else (inf, nan, text,
    empty) is ignored with a toast. The box's value goes back to the URL (none when default).
    """
    seen = f"_{key}_in_url"
    raw = st.query_params.get(key)
    if raw is not None and raw != st.session_state.get(seen):
        value = None
        try:
            number = float(str(raw).strip())
            if math.isfinite(number):
                value = min(hi, max(lo, int(math.floor(number + 0.5))))
        except ValueError:
            pass
        if value is None:
            st.toast(f"The link's {key}={quoted(raw)} is not a whole number; it was ignored.")
        else:
            if str(value) != str(raw).strip():
                st.toast(f"The link's {key}={quoted(raw)} became {value} "
                         f"(whole numbers {lo}–{hi}).")
            st.session_state[key] = value
    if not isinstance(st.session_state.get(key), int):
        st.session_state[key] = default
    value = int(where.number_input(label, min_value=lo, max_value=hi, step=1, key=key, **kw))
    if value == default:
        if key in st.query_params:
            del st.query_params[key]
        st.session_state[seen] = None
    else:
        st.query_params[key] = str(value)
        st.session_state[seen] = str(value)
    return value
