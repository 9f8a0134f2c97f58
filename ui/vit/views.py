"""The ViT page's views: the prediction with the image and its patch grid, one head's attention
from a query token (click a patch to pick it), every head at once, attention rollout and the
position embeddings.

Rollout comes from core.analysis, similarities from core.similarity and figures from
viz.images; nothing here runs the model.
"""
from __future__ import annotations

from functools import partial

import streamlit as st

from core import analysis, similarity
from core.positional import sincos_2d
from viz import images as vi

from ..state import QUERY
from ..widgets import chart

MAX_ALL_PANELS = 32                     # every layer × head at once up to this many panels
MAX_POS_GRID = 12                       # position-similarity figure up to 12×12 patches
FUSIONS = ("mean", "max", "min")
CLICKS = "vit_clicks"                   # clicks on the overlay so far: its chart key


def show_prediction(ins, source: str, presenter: bool) -> None:
    """The predicted class (checked against the true one for a test image), the image with its
    patch grid and the class probabilities."""
    names, probs, pic = ins.classes, ins.probs, ins.picture
    verdict = ""
    if ins.expected is not None:
        verdict = (" :green[:material/check_circle: correct]" if ins.expected == ins.prediction
                   else f" :red[:material/cancel: the true class is] `{names[ins.expected]}`")
    st.markdown(f"**Prediction for the {source}:** `{names[ins.prediction]}` "
                f"({float(probs[ins.prediction]):.0%}){verdict}")
    left, right = st.columns(2)
    g, p = pic.grid, pic.patch_size
    with left:
        chart(vi.image_with_grid(pic.image, p, presenter=presenter,
                                 title=f"what the model sees: {g}×{g} patches of {p}×{p}"),
              key="vit_image")
    with right:
        chart(vi.class_probs(probs, names, presenter=presenter), key="vit_probs")


def _clicked(key: str) -> None:
    """A click on the overlay makes that patch the query; the chart then gets a fresh key so a
    stale selection can never fire again (a chart's selection cannot be cleared)."""
    points = (st.session_state.get(key) or {}).get("selection", {}).get("points", [])
    if points and points[0].get("customdata") is not None:
        st.session_state[QUERY] = f"patch {int(points[0]['customdata'])}"
        st.session_state[CLICKS] = st.session_state.get(CLICKS, 0) + 1


def _layers(ins):
    names, stacked = analysis.stack_layers(ins.attention, "self_attn")  # (L, H, T, T)
    return names, stacked


def one_head(ins, layer: int, head: int, q: int, presenter: bool) -> None:
    pic = ins.picture
    g, p = pic.grid, pic.patch_size
    _, stacked = _layers(ins)
    row = stacked[layer, head, q]                                        # (T,) = (1 + N,)
    who = "CLS" if q == 0 else f"patch {q - 1}"
    fig = vi.attention_overlay(pic.image, row[1:].reshape(g, g), p, presenter=presenter,
                               query_patch=None if q == 0 else q - 1,  # (N,) -> (g, g)
                               title=f"layer {layer} · head {head} · query {who}")
    vi.with_patch_targets(fig, g, g, p, values=row[1:])
    key = f"vit_click_{st.session_state.get(CLICKS, 0)}"
    chart(fig, key=key, on_select=partial(_clicked, key), selection_mode="points")
    st.caption(f"Where {who} looks: its attention weights over the {g * g} patches, brighter = "
               f"more. {float(row[0]):.0%} of its weight goes to the CLS token (not drawn). "
               "Each overlay is scaled to its own maximum. Click a patch to make it the query.")


def all_heads(ins, layer: int, q: int, presenter: bool) -> None:
    pic = ins.picture
    g, p = pic.grid, pic.patch_size
    _, stacked = _layers(ins)
    L, H = stacked.shape[:2]
    picked = range(L) if L * H <= MAX_ALL_PANELS else [layer]
    maps = stacked[:, :, q, 1:][list(picked)].reshape(-1, g, g)          # (L'·H, g, g)
    titles = [f"L{l} H{h}" for l in picked for h in range(H)]
    who = "CLS" if q == 0 else f"patch {q - 1}"
    chart(vi.overlay_grid(pic.image, maps, p, titles, cols=H, presenter=presenter),
          key="vit_all_heads")
    shown = "every layer (rows) and head (columns)" if len(picked) == L else f"layer {layer}"
    st.caption(f"The attention of {who} in {shown}, each panel scaled to its own maximum: "
               "heads of one layer often split the image between them.")


def rollout(ins, fusion: str, discard: float, presenter: bool) -> None:
    pic = ins.picture
    g, p = pic.grid, pic.patch_size
    _, stacked = _layers(ins)
    flow = analysis.attention_rollout(list(stacked), head_fusion=fusion,
                                      discard_ratio=discard)             # (T, T)
    cls = flow[0]                                                        # (1 + N,)
    fig = vi.attention_overlay(pic.image, cls[1:].reshape(g, g), p, presenter=presenter,
                               title=f"rollout from CLS · {fusion} over heads · discard "
                                     f"{discard:.0%}")                  # (N,) -> (g, g)
    chart(vi.with_patch_targets(fig, g, g, p, values=cls[1:], label="rollout"),
          key="vit_rollout")
    st.caption("Attention rollout (Abnar & Zuidema 2020) follows the attention through every "
               "layer: each layer's heads are fused, half the identity is added for the "
               "residual connection, and the layers are multiplied, A_L ··· A_1. The CLS row "
               f"says how much each patch can reach the classifier; {float(cls[0]):.0%} stays "
               "on CLS itself (not drawn). Discarding the weakest links sharpens the map.")


def positions(model, presenter: bool) -> None:
    cfg = model.cfg
    g, d = cfg.grid_size, cfg.d_model
    if g > MAX_POS_GRID:
        st.info(f"This model has {g}×{g} patches: {g * g} maps of {g * g} cells are too many to "
                f"draw (at most {MAX_POS_GRID}×{MAX_POS_GRID}).")
        return
    left, right = st.columns(2)
    with left:
        if cfg.pos == "learned":
            st.markdown("**Learned position embeddings** of this model")
            chart(vi.position_similarity_grid(similarity.position_similarity(model), g,
                                              title="learned: cosine similarity",
                                              presenter=presenter), key="vit_pos_learned")
            st.caption(f"Panel (r, c) compares patch (r, c)'s embedding with every patch's. "
                       "Nothing told the model the patches form a grid: where the panels "
                       "light up near their own cell, it learned 2-D neighbourhood from data.")
        elif cfg.pos == "sincos2d":
            st.info("This model uses the fixed 2-D sin-cos embedding (nothing learned): its "
                    "similarity is the one on the right.")
        else:
            st.warning("This model has no position embedding (pos = none): it sees the patches "
                       "as a bag, so a shuffled image looks the same to it.")
    with right:
        st.markdown(f"**2-D sin-cos** for the same {g}×{g} grid and d_model {d}")
        try:
            table = sincos_2d(g, g, d)                                   # (N, D)
        except ValueError as e:
            st.info(f"No 2-D sin-cos table for d_model {d}: {e}.")
            return
        sim = similarity.cosine_similarity(table)                          # (N, N)
        chart(vi.position_similarity_grid(sim, g, title="2-D sin-cos: cosine similarity",
                                          presenter=presenter), key="vit_pos_sincos")
        st.caption("Half the channels encode the row, half the column: similarity falls off "
                   f"with distance along each axis, by construction. Over only {g} positions "
                   "per axis most channels are slow waves that barely move, so every cosine "
                   f"is between {float(sim.min()):.2f} and 1 here: the map is nearly flat, "
                   "but ordered by distance (hover to read it).")
