"""Widgets and display helpers every page shares: the figure display, the layer and head
pickers, and a small per-user memo for results that are costly to recompute.

Streamlit glue only; nothing here computes attention.
"""
from __future__ import annotations

import streamlit as st

from viz.common import PLOTLY_CONFIG


def chart(fig, key: str | None = None, width="stretch", **kw):
    """Show a plotly figure with the app's one plotly configuration (offline, PNG button)."""
    return st.plotly_chart(fig, config=PLOTLY_CONFIG, key=key, width=width, **kw)
