"""Inside a transformer: one block of a real model (residual stream, layer norm, feed-forward,
how much each sub-layer changes each token), and how big transformers are."""
import streamlit as st

from ui.learn.block import inside_a_block
from ui.learn.layout import dark
from ui.learn.sizes import model_sizes
from ui.navigation import ensure_router
from ui.sidebar import presenter as presenter_mode

ensure_router()
presenter, dark_theme = presenter_mode(), dark()
st.title("Inside a transformer")
st.markdown("A transformer is a stack of identical **blocks**. Each block keeps a *residual "
            "stream* x (one vector per token) and adds to it what two sub-layers compute: "
            "multi-head attention, which mixes information between tokens, then a "
            "position-wise **feed-forward** network. **LayerNorm** keeps the stream's scale in "
            "check: before each sub-layer (pre-LN) or after each addition (post-LN, the "
            "original Transformer and BERT).")

st.header("One block of a real model")
inside_a_block(presenter, dark_theme)

st.header("How big transformers are")
model_sizes(presenter, dark_theme)
