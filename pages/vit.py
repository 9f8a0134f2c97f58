"""ViT patch attention: which patches a vision transformer looks at, per head and rolled out,
on our own ViTs and on pretrained ones (Hugging Face ViT folders)."""
import streamlit as st

from ui.navigation import ensure_router
from ui.sidebar import model_picker
from ui.sidebar import presenter as presenter_mode
from ui.state import DISCARD, FUSION
from ui.theme import advanced
from ui.vit import controls as vc
from ui.vit import inputs, maps
from ui.vit import views as vv

ensure_router()
presenter, dark = presenter_mode(), vc.dark()
st.title("ViT patch attention")
st.markdown("A vision transformer cuts the image into square **patches**, turns each into a "
            "token, and adds one extra **CLS** token whose final state is classified. Its "
            "attention says which patches each token reads from.")

vc.keep_state()
picked = model_picker(kinds=("vit",))
if picked is None:
    st.stop()
row, model, task = picked
if not vc.within_budget(model):
    st.stop()

example, source = inputs.pick_input(task, model.cfg)
if example is None:
    st.stop()
ins = vc.inspection(row, model, task, example)
if ins is None:
    st.stop()
vv.show_prediction(ins, source, presenter, dark)

n_patches = ins.picture.grid ** 2
one, every, roll, hard, pos = st.tabs(["One head", "All heads", "Rollout", "Soft vs hard",
                                       "Positions"], key=vc.VIEW, bind="query-params")
with one:
    if one.open:
        layer, head, query = vc.pick_head(st, model, n_patches)
        vv.one_head(ins, layer, head, query, presenter, dark)
with every:
    if every.open:
        layer, _, query = vc.pick_head(st, model, n_patches)
        vv.all_heads(ins, layer, query, presenter, dark)
with roll:
    if roll.open:
        with advanced("Rollout settings"):
            c1, c2 = st.columns(2)
            fusion = c1.segmented_control("Fuse the heads by", vc.FUSIONS, key=FUSION,
                                          required=True, bind="query-params",
                                          help="Average, strongest or weakest head per cell")
            discard = c2.slider("Discard the weakest links", 0.0, 0.95, step=0.05,
                                key=DISCARD, bind="query-params",
                                help="Zero this fraction of each layer's smallest "
                                     "off-diagonal weights")
        explain = None
        if ins.probs is not None and ins.picture.pixels is not None:
            explain = maps.class_map(row, model, example, ins, presenter, dark)
        maps.rollout(ins, fusion or "mean", float(discard), presenter, dark, explain)
with hard:
    if hard.open:
        layer, head, query = vc.pick_head(st, model, n_patches)
        mode, seed, heads = vc.pick_hard(st, model.cfg.n_heads, head)
        maps.hard(ins, layer, query, mode, seed, heads, presenter, dark)
with pos:
    if pos.open:
        vv.positions(model, presenter, dark)
