"""The page table and the router guard: which pages exist, and how every page runs under app.py.

PAGES lists the sections, files (in pages/), titles, icons and one line on what each page shows;
app.py builds st.navigation from it and the home page links to it.

Why a guard: Streamlit (1.67) still treats an app with a top-level `pages/` folder as a legacy
("v1") multipage app until the first st.navigation call of the server process. On a freshly
started server whose very first request is a direct link (/explorer), it would list the raw file
names as the menu (app, explorer, ...) and run pages/explorer.py alone, without app.py's shared
sidebar. Three small pieces, all here or pointing here, prevent that:

1. `.streamlit/config.toml` sets `client.showSidebarNavigation = false`, so the legacy menu is
   never drawn (Streamlit reads it when it builds the v1 menu);
2. app.py calls `show_menu()` before its st.navigation, which turns the option back on for the
   app's own menu;
3. every page script calls `ensure_router()` first: when Streamlit runs the page alone, it runs
   app.py in its place (whose router runs this same page, shared sidebar included) and ends the
   lone run. Any later run finds the legacy mode off and returns at once.

Section subfolders (pages/learn/...) were tried instead: the page then runs under app.py, but
Streamlit first shows a "Page not found" dialog, since the legacy menu does not know /explorer.
tests/e2e/test_direct_link.py opens every page as a fresh server's first request and fails on a
raw menu entry, a missing shared sidebar or that dialog.
"""
from __future__ import annotations

import runpy
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
PAGES_DIR = ROOT / "pages"
MENU_OPTION = "client.showSidebarNavigation"

# section -> [(file in pages/, title, icon, one line on what it shows)]
PAGES = {
    "Learn": [
        ("home.py", "Home", ":material/home:", ""),
        ("attention_math.py", "Attention math", ":material/calculate:",
         "Scaled dot-product attention on a tiny editable example: Q, K, V, scores, mask, "
         "softmax, output; multi-head; the quadratic cost measured live."),
        ("positional.py", "Positional encodings", ":material/timeline:",
         "Sinusoidal values, periods and similarity; learned embeddings; RoPE; why order "
         "matters."),
        ("transformer.py", "Inside a transformer", ":material/stacks:",
         "One block of a real model: residual stream, layer norm, feed-forward and how much "
         "each changes each token; how big transformers are."),
        ("rnn.py", "From RNN to attention", ":material/history:",
         "A GRU with Bahdanau attention beside the transformer's cross-attention, and the "
         "fixed-context bottleneck measured."),
    ],
    "Train": [
        ("train.py", "Train a model", ":material/model_training:",
         "Train a small model live in seconds, watch the loss fall and a head form, save it."),
    ],
    "Explore": [
        ("explorer.py", "Attention explorer", ":material/grid_on:",
         "Heatmaps per layer and head on your own input, head view, stages, statistics, "
         "ablation."),
        ("decoding.py", "Masked decoding", ":material/keyboard_tab:",
         "Step through causal decoding token by token: the mask, each head's new row, the "
         "next-token probabilities."),
        ("vit.py", "ViT patch attention", ":material/image:",
         "Which patches a vision transformer looks at, per head, with attention rollout."),
    ],
}

LECTURE_PATH = ["attention_math.py", "positional.py", "transformer.py", "rnn.py", "explorer.py",
                "decoding.py", "vit.py"]


def existing(section_entries):
    return [e for e in section_entries if (PAGES_DIR / e[0]).exists()]


def entry(file: str):
    for entries in PAGES.values():
        for e in entries:
            if e[0] == file:
                return e
    raise KeyError(file)


def page_path(file: str) -> str:
    """The path st.Page and st.page_link take for a page file: 'pages/explorer.py'."""
    return f"{PAGES_DIR.name}/{file}"


def show_menu() -> None:
    """Turn the sidebar menu on for app.py's own st.navigation (the config turns it off so that
    Streamlit's legacy pages/ menu is never drawn; see the module docstring)."""
    if st.get_option(MENU_OPTION) is False:
        st.set_option(MENU_OPTION, True)


def ensure_router() -> None:
    """Run this page under app.py's router, never on its own (call it first in a page script).

    Returns at once in a normal run. When Streamlit's legacy pages/ mode runs the page alone (the
    first request of a fresh server is a link to it; AppTest also restarts in that mode on every
    run), this runs app.py in its place, whose st.navigation runs this same page with the shared
    sidebar, then ends the lone run. Running it in place, not st.rerun(), keeps a button click of
    this run.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
        from streamlit.runtime.scriptrunner import get_script_run_ctx
    except ImportError:                 # a future Streamlit without the legacy mode
        return
    ctx = get_script_run_ctx()
    if ctx is None or not PagesManager.uses_pages_directory:
        return
    PagesManager.uses_pages_directory = False       # what st.navigation does, first
    runpy.run_path(str(ctx.pages_manager.main_script_path), run_name="__main__")
    st.stop()
