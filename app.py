"""Attention Visualizer: a thin router over the pages (Learn / Train / Explore)."""
from pathlib import Path

import streamlit as st

from ui.sidebar import render_common

HERE = Path(__file__).resolve().parent
PAGES = {
    "Learn": [("home.py", "Home", ":material/home:"),
              ("attention_math.py", "Attention math", ":material/calculate:"),
              ("positional.py", "Positional encodings", ":material/timeline:")],
    "Train": [("train.py", "Train a model", ":material/model_training:")],
    "Explore": [("explorer.py", "Attention explorer", ":material/grid_on:"),
                ("decoding.py", "Masked decoding", ":material/keyboard_tab:"),
                ("vit.py", "ViT patch attention", ":material/image:")],
}

st.set_page_config(page_title="Attention Visualizer", page_icon=":material/visibility:",
                   layout="wide")
nav = st.navigation({
    section: [st.Page(f"pages/{file}", title=title, icon=icon, default=file == "home.py")
              for file, title, icon in entries if (HERE / "pages" / file).exists()]
    for section, entries in PAGES.items()})
render_common()
nav.run()
