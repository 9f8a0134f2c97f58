"""From RNN to attention: where attention came from. A GRU encoder-decoder with Bahdanau
(additive) attention beside the transformer's cross-attention on the same date, and the
fixed-context bottleneck measured: without attention, exact match falls as the source lists
more dates."""
import streamlit as st

from ui.learn.layout import dark
from ui.learn.rnn import alignment, bottleneck
from ui.navigation import ensure_router
from ui.sidebar import presenter as presenter_mode

ensure_router()
presenter, dark_theme = presenter_mode(), dark()
st.title("From RNN to attention")
st.caption("Attention was invented for recurrent translation models: the same date read by a "
           "GRU with additive attention and by a transformer, each drawn as large as the "
           "page allows.")
alignment(presenter, dark_theme)
st.markdown("Before transformers, a translation model was a pair of recurrent networks "
            "(here GRUs): an **encoder** reads the source one character at a time, a "
            "**decoder** writes the output one character at a time. Bahdanau, Cho and Bengio "
            "(2015) let the decoder, at every step, score each encoder state h against its own "
            "state s, e = vᵀ tanh(W s + U h), and read their softmax-weighted sum: **additive "
            "attention**. A transformer's cross-attention does the same with a scaled dot "
            "product, in several heads at once, and without the recurrence.")

st.header("The bottleneck attention removes")
st.markdown("Without attention the decoder gets the source only through one fixed-length "
            "vector. Both GRUs below were trained alike on sources listing one, two or three "
            "dates; only one may look back at the source.")
bottleneck(presenter, dark_theme)
