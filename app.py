"""Attention Visualizer: a thin router over the pages (Learn / Train / Explore).

One file, two roles. `streamlit run app.py` first imports this file as a module when the server
starts, before it accepts a connection: Streamlit 1.67 finds the `app = st.App(...)` below and
serves it (its ASGI mode, the same server otherwise). That import runs ui.server.start(): no
address lookups off this machine, orphaned temporary files removed. Every browser session then
runs this same file as its script (a script run context exists): the router below.

The home page's path (this file, ui.navigation, ui.sidebar, ui.theme, pages/home.py) imports
neither torch nor a model (tests/test_cold_start.py), so the first page draws quickly.
"""
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui import server

server.start()                         # once per process; at once on every later call
if get_script_run_ctx(suppress_warning=True) is None:    # the server's import, at start
    app = st.App(__file__)
else:                                  # a session's run: the router
    from ui.navigation import PAGES, existing, page_path, show_menu
    from ui.sidebar import render_common

    st.set_page_config(page_title="Attention Visualizer", page_icon="👁️", layout="wide")
    show_menu()
    nav = st.navigation({
        section: [st.Page(page_path(file), title=title, icon=icon, default=file == "home.py")
                  for file, title, icon, _ in existing(entries)]
        for section, entries in PAGES.items()})
    render_common(show_device=nav.url_path != "")     # the home page: no torch for a caption
    nav.run()
