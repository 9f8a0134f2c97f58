"""Attention math: scaled dot-product attention on a tiny editable example, why it divides by
√d, multi-head, and the quadratic cost measured live."""
import streamlit as st

from ui.learn import attention_math as am
from ui.learn.cost import cost
from ui.learn.layout import dark
from ui.learn.saturation import why_scale
from ui.navigation import ensure_router
from ui.sidebar import presenter as presenter_mode

ensure_router()
presenter, dark_theme = presenter_mode(), dark()
st.title("Attention math")
st.markdown("Scaled dot-product attention, step by step: **E = QKᵀ/√d**, an optional causal "
            "mask, **A = softmax(E)** row by row, **Y = AV**. Edit any cell of Q, K or V.")
T, d, seed, causal = am.sizes()
am.by_hand(T, d, seed, causal, presenter, dark_theme)

st.header("Why divide by √d")
why_scale(presenter, dark_theme)

st.header("Multi-head: split, attend, concatenate, project")
am.multi_head(T, seed, causal, presenter, dark_theme)

st.header("Quadratic cost, measured live")
cost(presenter, dark_theme)
