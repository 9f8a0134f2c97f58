"""Attention math: scaled dot-product attention on a tiny editable example, multi-head, cost."""
import streamlit as st

from ui.learn import attention_math as am
from ui.navigation import ensure_router
from ui.sidebar import presenter as presenter_mode

ensure_router()
presenter = presenter_mode()
st.title("Attention math")
st.markdown("Scaled dot-product attention, step by step: **E = QKᵀ/√d**, an optional causal "
            "mask, **A = softmax(E)** row by row, **Y = AV**. Edit any cell of Q, K or V.")
T, d, seed, causal = am.sizes()
am.by_hand(T, d, seed, causal, presenter)

st.header("Multi-head: split, attend, concatenate, project")
am.multi_head(T, seed, causal, presenter)

st.header("Quadratic cost, measured live")
am.cost(presenter)
