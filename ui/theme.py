"""Presenter (lecture) mode: larger type for a projector, and fewer controls on screen.

`apply()` injects the presenter CSS (called once per run from the shared sidebar);
`advanced()` gives pages a place for secondary widgets that folds away while presenting.
No external asset: the CSS only resizes Streamlit's own elements and fonts.
"""
from __future__ import annotations

import streamlit as st

from .state import PRESENTER

# Streamlit sizes its type in rem, so a larger root font scales text, widgets and spacing
# together; headings, widget labels and captions get an extra step for the back rows.
PRESENTER_CSS = """
<style>
html { font-size: 20px; }
[data-testid="stWidgetLabel"] p, [data-testid="stWidgetLabel"] label {
  font-size: 1.1rem !important; font-weight: 600; }
[data-testid="stCheckbox"] [data-testid="stWidgetLabel"] p {   /* toggles sit in narrow columns */
  font-size: 1rem !important; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {
  font-size: 1.1rem; line-height: 1.5; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {
  font-size: 1rem !important; }
h1 { font-size: 2.6rem !important; }
h2 { font-size: 2.1rem !important; }
h3 { font-size: 1.7rem !important; }
[data-testid="stMetricValue"] { font-size: 2.4rem !important; }
[data-testid="stMetricValue"] p { font-size: inherit !important; }
button[data-testid^="stBaseButton"] p { font-weight: 600; }
button[data-baseweb="tab"] p { font-size: 1.15rem !important; font-weight: 600; }
[data-testid="stSidebar"] p { font-size: 1rem; }
</style>
"""


def presenting() -> bool:
    """Whether presenter mode is on for this browser session (the sidebar toggle's value)."""
    return bool(st.session_state.get(PRESENTER, False))


def apply() -> None:
    """Inject the presenter CSS when presenter mode is on (nothing otherwise)."""
    if presenting():
        st.html(PRESENTER_CSS)


def advanced(label: str = "More settings", icon: str = ":material/tune:"):
    """A container for secondary controls: folded into an expander while presenting, shown
    inline otherwise. Use as `with advanced(): ...`."""
    if presenting():
        return st.expander(label, expanded=False, icon=icon)
    return st.container()
