"""Streamlit glue for the pages in pages/: the only Streamlit-aware code besides app.py.

Shared by every page (top-level modules here): navigation (the page table and the router guard),
sidebar (presenter toggle, device, model picker), models (checkpoints, cached loading), theme
(presenter mode), widgets (figure display, layer / head pickers, per-user memo, the input
box's memory), state (the session-state keys and their owners).
One package per page holds that page's controls and views: explorer/, decoding/, vit/, train/,
and learn/ for the two Learn pages' sections. Nothing here computes attention: it reads widgets,
calls core/ and viz/, and renders.
"""
