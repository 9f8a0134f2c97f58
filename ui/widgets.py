"""Widgets and helpers every page shares: the figure display, the layer / head pickers, the
input box's per-page memory, and a small per-user memo for results that are costly to recompute.

Streamlit glue only; nothing here computes attention.
"""
from __future__ import annotations

import os
from collections import OrderedDict

import streamlit as st

from viz.common import PLOTLY_CONFIG

from .state import HEAD, INPUT, LAYER

MEMO_SIZE = 8                    # results kept per browser session, per memo
BOX_MAX_CHARS = 6000             # the input box refuses more, whatever the task (its max_chars)


def chart(fig, key: str | None = None, width="stretch", **kw):
    """Show a plotly figure with the app's one plotly configuration (offline, PNG button)."""
    return st.plotly_chart(fig, config=PLOTLY_CONFIG, key=key, width=width, **kw)


def clamp(key: str, options: list, default=None) -> None:
    """Put a remembered (or URL-given) widget value back inside its options before the widget
    is drawn: `default` where it is offered, else the first option."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default if default in options else options[0]


def layer_head_pickers(layer_col, head_col, n_layers: int, n_heads: int,
                       layer_label: str = "Layer") -> tuple[int, int]:
    """The layer and head selectboxes (keys "layer" and "head", kept in the URL), each clamped
    to what this model has first, so a link to a layer the model lacks shows layer 0."""
    layers, heads = list(range(int(n_layers))), list(range(int(n_heads)))
    clamp(LAYER, layers)
    clamp(HEAD, heads)
    layer = layer_col.selectbox(layer_label, layers, key=LAYER, bind="query-params")
    head = head_col.selectbox("Head", heads, key=HEAD, bind="query-params")
    return layer, head


def file_version(path) -> float | None:
    """The checkpoint file's modification time: part of a memo key, so a re-saved file reruns."""
    try:
        return os.path.getmtime(path)
    except OSError:
        return None


def memo(store: str, key, compute, size: int = MEMO_SIZE):
    """compute(), remembered per user under `key` in st.session_state[store], the `size` most
    recently used results kept. An exception from compute() is raised, and nothing is kept."""
    kept = st.session_state.setdefault(store, OrderedDict())
    if key not in kept:
        kept[key] = compute()
        while len(kept) > size:
            kept.popitem(last=False)
    kept.move_to_end(key)
    return kept[key]


def box_limit(task) -> int:
    """Characters a page's input box accepts for `task`: room for separators (100 sine values
    with commas), never unbounded. The explorer and the decoding page share it, so one page
    never refuses an input the other accepts for the same model (the task's parse decides the
    rest)."""
    return min(BOX_MAX_CHARS, 60 * int(task.max_input_len))


class PageInput:
    """The input box of the explorer and the decoding page, with a memory per page and task.

    Both pages draw their box under the one key "input", so a link's ?input= reaches either;
    each remembers its own text per task, so a visit to the other page never leaks its input
    here. Create it before anything writes the box (it puts the text this page last showed for
    the task, or `default`, in it); `put` is the callback for example buttons and pickers.
    """

    def __init__(self, page: str, task, default: str):
        self.memory = st.session_state.setdefault(f"{page}_inputs", {})
        self.task = task.name
        # Written even when equal: the value may belong to another page's box (another widget
        # under the same key), which Streamlit drops with that widget, leaving this box empty.
        # A link's ?input= still wins on a fresh load.
        st.session_state[INPUT] = self.memory.get(self.task, default)

    def put(self, text: str) -> None:
        """Set the box (from a callback, before it is drawn) and remember it as this page's."""
        st.session_state[INPUT] = self.memory[self.task] = text

    def _typed(self) -> None:
        self.memory[self.task] = st.session_state[INPUT]

    def box(self, where, label: str, **kw) -> str:
        """Draw the text box in `where` (st or a column) -> its text, remembered."""
        text = where.text_input(label, key=INPUT, bind="query-params", on_change=self._typed,
                                **kw)
        self.memory[self.task] = text
        return text
