"""Attention explorer: every head of a trained or pretrained model on your own input.

One head, all heads, head view, stages, statistics (with heads ranked by pattern) and ablation,
for encoders, causal decoders, the encoder-decoder and pretrained BERT / GPT-2 models. The input
is parsed and its memory cost checked before the model runs once per input (memoised per user).
"""
import streamlit as st

from ui.explorer import ablation, focus
from ui.explorer import controls as ec
from ui.explorer import run as er
from ui.explorer import stats
from ui.explorer import views as ev
from ui.explorer.context import Context, dark
from ui.explorer.prediction import show_prediction
from ui.navigation import ensure_router
from ui.sidebar import model_picker
from ui.sidebar import presenter as presenter_mode

ensure_router()
presenter = presenter_mode()
if not presenter:                      # on a projector the menu names the page: room for the map
    st.title("Attention explorer", help="Type an input, pick a layer and a head, and see where "
             "each token looks. Vision transformers have their own page, *ViT patch attention*.")
picked = model_picker(kinds=("encoder", "decoder", "seq2seq", "rnn"))
if picked is None:
    st.stop()
row, model, task = picked

top = ec.TopRows(model, task)
text = ec.input_box(task, top)
try:
    refused = ec.box_message(task, text)
    if refused:
        raise ValueError(refused)
    er.parsed(row, model, task, text)          # the input read and its cost checked
except ValueError as e:
    st.error(f"Cannot use this input: {e}", icon=":material/error:")
    st.stop()
ins = er.inspection(row, model, task, text)
if ins is None:
    st.stop()
top.second(ins)
with top.pred:
    show_prediction(ins, presenter=presenter, dark=dark(), task=task)
if not ins.attention:
    st.info("This model has no attention layers, so there is nothing to show here.")
    st.stop()

best = focus.best_cross(ins, ec.groups(ins.attention))
group, layer, head, name, shown = ec.pick_head(model, ins, top, default=best and best[1])
c = Context(row, model, task, text, shown, group, layer, head, name, presenter, dark(), best)
views = {"One head": ev.one_head, "All heads": ev.all_heads, "Head view": ev.head_view,
         "Stages": ev.stages, "Statistics": stats.statistics, "Ablation": ablation.ablation}
for label, tab in zip(views, st.tabs(list(views), key="view", on_change="rerun",
                                     bind="query-params")):
    if tab.open:                       # only the open tab is drawn: reruns stay fast
        with tab:
            views[label](c)
