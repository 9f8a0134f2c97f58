"""Positional encodings: sinusoidal values, periods and similarity; learned tables; RoPE; order."""
import streamlit as st

from ui.learn import positional as lp
from ui.learn.layout import dark
from ui.navigation import ensure_router
from ui.sidebar import presenter as presenter_mode

ensure_router()
presenter, dark_theme = presenter_mode(), dark()
st.title("Positional encodings")
st.markdown("Attention alone sees a *set*: without a position signal, shuffling the tokens only "
            "shuffles the output. The sinusoidal encoding adds to each token a vector of waves, "
            "PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(p / 10000^(2i/d)).")
n_pos, d_model = lp.sizes()

t_sin, t_sim, t_model, t_order = st.tabs(["Sinusoidal values", "Similarity",
                                          "Learned & RoPE", "Why order matters"])
with t_sin:
    lp.sinusoidal(n_pos, d_model, presenter, dark_theme)
with t_sim:
    lp.similarity(n_pos, d_model, presenter, dark_theme)
with t_model:
    lp.learned_and_rope(presenter, dark_theme)
with t_order:
    lp.order(presenter, dark_theme)
