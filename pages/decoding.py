"""Masked decoding: step through causal decoding token by token.

At each step: the sequence so far, the causal mask with this query's row outlined, the new query's
attention (one head, all heads, and over the source for the encoder-decoder), the next-token
probabilities and the choice (or the forecast of a real-valued decoder); the KV-cache check; and
the teacher-forcing view of training. Works on the shipped decoders, the encoder-decoder and
pretrained GPT-2. The trace is computed once per (model, input, settings) and kept per user;
stepping re-renders. Model, input, step, layer, head, view and settings are kept in the URL.
"""
import streamlit as st

from ui.decoding import controls as dc
from ui.decoding import settings as ds
from ui.decoding import stepper
from ui.decoding import teacher
from ui.decoding import views as dv
from ui.navigation import ensure_router
from ui.sidebar import model_picker
from ui.sidebar import presenter as presenter_mode

ensure_router()
presenter, dark = presenter_mode(), dc.dark()
st.title("Masked decoding")
picked = model_picker(kinds=("decoder", "seq2seq", "rnn"))
st.caption("A decoder writes one token at a time. Each new token may look only at the tokens "
           "before it: the causal mask blocks the future. Step through a generation and watch "
           "which earlier tokens each head reads before it chooses the next one.")
dc.encoders_note()
if picked is None:
    st.stop()
row, model, task = picked
if not task.decodes:
    st.warning(f"{task.title} cannot be decoded step by step; pick a causal decoder (such as "
               "GPT-2) or the encoder-decoder in the sidebar.", icon=":material/warning:")
    st.stop()

text, setup = dc.input_box(task)
if setup is None:
    st.stop()
options = ds.settings(row, model, setup)
tr = dc.trace(row, model, text, setup, options)
if tr is None or not tr.steps:
    st.stop()
picks = dc.layer_head(model, tr)
truth = None if setup.target is None or tr.steps[0].probs is not None else \
    setup.target[0].tolist()


def step_by_step():
    i = stepper.controls(len(tr.steps))
    dv.sequence(tr, i)
    dv.closing(tr, i, task)
    dv.attention_views(tr, i, picks, presenter, dark, truth)
    dv.cache_note(tr)


views = {
    "Step by step": st.fragment(step_by_step,
                                run_every=stepper.PLAY_EVERY if stepper.playing() else None),
    "Teacher forcing": lambda: teacher.teacher_view(model, setup, picks[0], picks[1], presenter,
                                                    dark),
}
for label, tab in zip(views, st.tabs(list(views), key="dec_view", on_change="rerun",
                                     bind="query-params")):
    if tab.open:                       # only the open tab is drawn: reruns stay fast
        with tab:
            views[label]()
