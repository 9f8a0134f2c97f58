"""The ViT page's views: the prediction with the image and its patch grid, one head's attention
from a query token (click a patch to pick it), every head at once, and the position embeddings.

Similarities come from core.similarity and figures from viz; nothing here runs the model.
"""
from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from core import analysis, similarity
from core.positional import sincos_2d
from viz import images as vi
from viz import sizing
from viz.theme import sizes

from ..state import QUERY
from ..widgets import chart

MAX_ALL_PANELS = 32                     # every layer × head at once up to this many panels
MAX_POS_GRID = 24                       # position-similarity mosaic up to 24×24 patches
SIDE_BY_SIDE_GRID = 8                   # larger grids get the whole width, one under the other
MAX_BARS = 10                           # more classes: the top ones in a table
TOP = 5
CLICKS = "vit_clicks"                   # clicks on the overlay so far: its chart key


def stacked(ins):
    """(L, H, 1 + N, 1 + N) every layer's attention, token 0 = CLS."""
    return analysis.stack_layers(ins.attention, "self_attn")[1]


def who(q: int) -> str:
    return "CLS" if q == 0 else f"patch {q - 1}"


def fitted(title: str, width: int, presenter: bool) -> str:
    """A title broken into lines that fit a figure `width` px wide."""
    return sizing.wrap(title, width - 20, sizes(presenter).title)


def half(presenter: bool) -> int:
    return sizing.content_width(presenter=presenter) // 2 - 8


def show_prediction(ins, source: str, presenter: bool, dark: bool) -> None:
    """The predicted class (checked against the true one for a test image), the image with its
    patch grid and the class probabilities (the top ones in a table for many classes)."""
    names, probs, pic = ins.classes, ins.probs, ins.picture
    if probs is None:
        st.markdown(f"**The {source}**: this model has no classifier (features only), so it "
                    "predicts nothing; its attention is below.")
    else:
        verdict = ""
        if ins.expected is not None:
            verdict = (" :green[:material/check_circle: correct]" if ins.expected == ins.prediction
                       else f" :red[:material/cancel: the true class is] `{names[ins.expected]}`")
        st.markdown(f"**Prediction for the {source}:** `{names[ins.prediction]}` "
                    f"({float(probs[ins.prediction]):.0%}){verdict}")
    left, right = st.columns(2)
    g, p = pic.grid, pic.patch_size
    with left:
        title = fitted(f"what the model sees: {g}×{g} patches of {p}×{p}", half(presenter),
                       presenter)
        chart(vi.image_with_grid(pic.image, p, presenter=presenter, dark=dark, title=title),
              key="vit_image")
    with right:
        if probs is None:
            return
        if len(names) <= MAX_BARS:
            chart(vi.class_probs(probs, names, presenter=presenter, dark=dark), key="vit_probs")
            return
        top = probs.topk(TOP)
        st.markdown(f"**Top {TOP} of {len(names):,} classes**")
        st.dataframe(pd.DataFrame({"class": [names[i] for i in top.indices.tolist()],
                                   "probability": top.values.tolist()}),
                     hide_index=True, key="vit_top", column_config={
                         "probability": st.column_config.ProgressColumn(
                             format="percent", min_value=0.0, max_value=1.0)})


def _clicked(key: str) -> None:
    """A click on the overlay makes that patch the query; the chart then gets a fresh key so a
    stale selection can never fire again (a chart's selection cannot be cleared)."""
    points = (st.session_state.get(key) or {}).get("selection", {}).get("points", [])
    if points and points[0].get("customdata") is not None:
        st.session_state[QUERY] = f"patch {int(points[0]['customdata'])}"
        st.session_state[CLICKS] = st.session_state.get(CLICKS, 0) + 1


def one_head(ins, layer: int, head: int, q: int, presenter: bool, dark: bool) -> None:
    pic = ins.picture
    g, p = pic.grid, pic.patch_size
    row = stacked(ins)[layer, head, q]                                   # (T,) = (1 + N,)
    fig = vi.attention_overlay(pic.image, row[1:].reshape(g, g), p, presenter=presenter,
                               dark=dark, query_patch=None if q == 0 else q - 1,
                               title=f"layer {layer} · head {head} · query {who(q)}")
    vi.with_patch_targets(fig, g, g, p, values=row[1:])                  # (N,) -> (g, g) above
    key = f"vit_click_{st.session_state.get(CLICKS, 0)}"
    chart(fig, key=key, on_select=partial(_clicked, key), selection_mode="points")
    st.caption(f"Where {who(q)} looks: its attention weights over the {g * g} patches, brighter "
               f"= more. {float(row[0]):.0%} of its weight goes to the CLS token (not drawn). "
               "The overlay is scaled to its own maximum. Click a patch to make it the query.")


def all_heads(ins, layer: int, q: int, presenter: bool, dark: bool) -> None:
    pic = ins.picture
    g, p = pic.grid, pic.patch_size
    att = stacked(ins)
    L, H = att.shape[:2]
    picked = list(range(L)) if L * H <= MAX_ALL_PANELS else [layer]
    maps = att[:, :, q, 1:][picked].reshape(-1, g, g)                   # (L'·H, g, g)
    titles = [f"L{l} H{h}" for l in picked for h in range(H)]
    fits = max(1, sizing.content_width(presenter=presenter) // (190 if presenter else 150))
    cols = H if H <= fits else min(fits, 4)
    chart(vi.overlay_grid(pic.image, maps, p, titles, cols=cols, presenter=presenter, dark=dark),
          key="vit_all_heads")
    shown = "every layer (L) and head (H)" if len(picked) == L else f"every head of layer {layer}"
    st.caption(f"The attention of {who(q)} in {shown}, each panel scaled to its own maximum: "
               "heads of one layer often split the image between them.")


def _mosaic(sim, g: int, title: str, key: str, width: int, presenter: bool, dark: bool):
    chart(vi.position_similarity_grid(sim, g, title=title, presenter=presenter, dark=dark,
                                      width=width), key=key, width="content")


def positions(model, presenter: bool, dark: bool) -> None:
    cfg = model.cfg
    g, d = cfg.grid_size, cfg.d_model
    if g > MAX_POS_GRID:
        st.info(f"This model has {g}×{g} patches: {g * g} maps of {g * g} cells are too many to "
                f"draw (at most {MAX_POS_GRID}×{MAX_POS_GRID}).")
        return
    full = g > SIDE_BY_SIDE_GRID
    width = sizing.content_width(presenter=presenter) if full else half(presenter)
    left, right = (st.container(), st.container()) if full else st.columns(2)
    with left:
        if cfg.pos == "learned":
            st.markdown("**Learned position embeddings** of this model")
            _mosaic(similarity.position_similarity(model), g, "learned: cosine similarity",
                    "vit_pos_learned", width, presenter, dark)
            st.caption("Panel (r, c) compares patch (r, c)'s embedding with every patch's. "
                       "Nothing told the model the patches form a grid: where the panels "
                       "light up near their own cell, it learned 2-D neighbourhood from data.")
        elif cfg.pos == "sincos2d":
            st.info("This model uses the fixed 2-D sin-cos embedding (nothing learned): its "
                    "similarity is the one shown here.")
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
        sim = similarity.cosine_similarity(table)                        # (N, N)
        _mosaic(sim, g, "2-D sin-cos: cosine similarity", "vit_pos_sincos", width, presenter,
                dark)
        st.caption("Half the channels encode the row, half the column: similarity falls off "
                   "with distance along each axis, by construction. Over only "
                   f"{g} positions per axis most channels are slow waves that barely move, so "
                   f"every cosine is between {float(sim.min()):.2f} and 1 here: the map is "
                   "nearly flat, but ordered by distance (hover to read it).")
