"""ViT patch attention: which patches a vision transformer looks at, per head and rolled out."""
import streamlit as st

from ui.vit import controls as vc
from ui.vit import views as vv
from ui.navigation import ensure_router
from ui.sidebar import model_picker
from ui.state import DISCARD, FUSION
from ui.sidebar import presenter as presenter_mode

ensure_router()
presenter = presenter_mode()
st.title("ViT patch attention")
st.markdown("A vision transformer cuts the image into square **patches**, turns each into a "
            "token, and adds one extra **CLS** token whose final state is classified. Its "
            "attention says which patches each token reads from.")

vc.keep_state()
picked = model_picker(kinds=("vit",))
if picked is None:
    st.stop()
row, model, task = picked

example, source = vc.pick_input(task, model.cfg)
if example is None:
    st.stop()
ins = vc.inspection(row, model, task, example)
if ins is None:
    st.stop()
vv.show_prediction(ins, source, presenter)

t_head, t_all, t_roll, t_pos = st.tabs(["One head", "All heads", "Attention rollout",
                                        "Position embeddings"])
with t_head:
    layer, head, query = vc.pick_head(model, model.cfg.n_patches)
    vv.one_head(ins, layer, head, query, presenter)
with t_all:
    vv.all_heads(ins, layer, query, presenter)
with t_roll:
    c1, c2 = st.columns(2)
    fusion = c1.segmented_control("Fuse the heads by", vv.FUSIONS, key=FUSION,
                                  help="Average, strongest or weakest head at each cell")
    discard = c2.slider("Discard the weakest links", 0.0, 0.95, step=0.05, key=DISCARD,
                        help="Zero this fraction of each layer's smallest off-diagonal weights")
    vv.rollout(ins, fusion or "mean", float(discard), presenter)
with t_pos:
    vv.positions(model, presenter)
