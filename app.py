"""Attention Visualizer: a thin router over the pages (Learn / Train / Explore)."""
import streamlit as st

from ui.navigation import PAGES, existing, page_path, show_menu
from ui.sidebar import render_common

st.set_page_config(page_title="Attention Visualizer", page_icon="👁️",
                   layout="wide")
show_menu()
nav = st.navigation({
    section: [st.Page(page_path(file), title=title, icon=icon, default=file == "home.py")
              for file, title, icon, _ in existing(entries)]
    for section, entries in PAGES.items()})
render_common()
nav.run()
