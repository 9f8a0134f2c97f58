"""Attention explorer: every head of a trained model on your own input.

One head, all heads, head view, stages, statistics and ablation, for encoders, causal decoders
and the encoder-decoder. The model runs once per input (memoised per user in session_state).
"""
import streamlit as st

from ui.explorer import controls as ec
from ui.explorer import views as ev
from ui.navigation import ensure_router
from ui.sidebar import model_picker
from ui.sidebar import presenter as presenter_mode

ensure_router()
presenter = presenter_mode()
st.title("Attention explorer")
picked = model_picker(kinds=("encoder", "decoder", "seq2seq"))
st.caption("Type an input, pick a layer and a head, and see where each token looks. "
           "Vision transformers have their own page, *ViT patch attention*.")
if picked is None:
    st.stop()
row, model, task = picked

text, example = ec.input_box(task)
if example is None:
    st.stop()
ins = ec.inspection(row, model, task, text)
if ins is None:
    st.stop()
ec.show_prediction(ins)
if not ins.attention:
    st.info("This model has no attention layers, so there is nothing to show here.")
    st.stop()

group, layer, head, name = ec.pick_head(model, ins)
views = {
    "One head": lambda: ev.one_head(ins, row["name"], group, layer, head, name, presenter),
    "All heads": lambda: ev.all_heads(ins, group, layer, head, presenter),
    "Head view": lambda: ev.head_view(ins, group, layer, name, presenter),
    "Stages": lambda: ev.stages(ins, group, layer, head, name, model.cfg.d_head, presenter),
    "Statistics": lambda: ev.statistics(ins, group, layer, head, name, presenter),
    "Ablation": lambda: ev.ablation(row, model, task, text, ins, group, layer, head, name,
                                    presenter),
}
for label, tab in zip(views, st.tabs(list(views), key="view", on_change="rerun",
                                     bind="query-params")):
    if tab.open:                       # only the open tab is drawn: reruns stay fast
        with tab:
            views[label]()
