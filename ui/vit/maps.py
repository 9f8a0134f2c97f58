"""The ViT page's whole-model maps: attention rollout beside the class-specific map
(gradient-weighted rollout) of a classifier, and soft versus hard attention per head.

Rollout comes from core.analysis, the class map from core.grad_rollout (run by
controls.class_map), hard picks from core.hard_attention, figures from viz.
"""
from __future__ import annotations

import streamlit as st
import torch

from core import analysis
from core.hard_attention import hard_attention
from viz import images as vi
from viz.hard_attention import soft_vs_hard

from . import controls as vc
from ..widgets import chart
from .views import fitted, half, stacked, who


def _overlay(pic, values, title: str, label: str, key: str, width: int, presenter: bool,
             dark: bool, scale: bool = True) -> None:
    """One map over the patches (N,) drawn on the image, hover giving each patch's value."""
    g, p = pic.grid, pic.patch_size
    fig = vi.attention_overlay(pic.image, values.reshape(g, g), p, presenter=presenter,
                               dark=dark, title=fitted(title, width, presenter))  # (N,)->(g, g)
    fig.data[1].showscale = scale
    chart(vi.with_patch_targets(fig, g, g, p, values=values, label=label), key=key)


def rollout(ins, fusion: str, discard: float, presenter: bool, dark: bool, explain=None) -> None:
    """Plain rollout from CLS; with `explain` (a callable drawing the class map in a column),
    the two side by side."""
    flow = analysis.attention_rollout(list(stacked(ins)), head_fusion=fusion,
                                      discard_ratio=discard)             # (T, T)
    cls = flow[0]                                                        # (1 + N,)
    left, right = st.columns(2) if explain else (st.container(), None)
    width = half(presenter) if explain else 2 * half(presenter)
    with left:
        _overlay(ins.picture, cls[1:], f"rollout from CLS · {fusion} over heads · discard "
                 f"{discard:.0%}", "rollout", "vit_rollout", width, presenter, dark,
                 scale=explain is None)
        st.caption("Attention rollout (Abnar & Zuidema 2020) follows the attention through "
                   "every layer: each layer's heads are fused, half the identity is added for "
                   "the residual connection, and the layers are multiplied, A_L ··· A_1. The "
                   "CLS row says how much each patch can reach the classifier; "
                   f"{float(cls[0]):.0%} stays on CLS itself (not drawn). Discarding the "
                   "weakest links sharpens the map.")
    if explain:
        with right:
            explain(width)


def class_map(row, model, example, ins, presenter: bool, dark: bool):
    """A callable for rollout(): the class picker and the gradient-weighted rollout map."""
    def draw(width: int) -> None:
        target = vc.pick_class(st, ins.classes, ins.prediction)
        result = vc.class_map(row, model, example, ins.picture.pixels, target)
        if result is None:
            return
        name = ins.classes[result["target"]]
        p = float(torch.softmax(result["logits"].float(), -1)[result["target"]])
        _overlay(ins.picture, result["cls"].float(), f"class map: {name} ({p:.0%})",
                 "relevance", "vit_class_map", width, presenter, dark, scale=False)
        st.caption(f"Gradient-weighted rollout (Chefer et al. 2021) for **{name}**: each "
                   "layer's attention times the gradient of that class's score, positive part, "
                   "averaged over heads, then rolled out like plain rollout. Plain rollout is "
                   "the same for every class; this map changes with the class you pick.")
    return draw


def hard(ins, layer: int, q: int, mode: str, seed: int, heads, presenter: bool,
         dark: bool) -> None:
    """Soft attention of the chosen heads next to the one patch hard attention takes."""
    pic = ins.picture
    soft = stacked(ins)[layer, heads, q, 1:]                             # (H', N)
    try:
        idx, _ = hard_attention(soft, mode=mode, seed=seed)              # (H',)
    except ValueError as e:
        st.info(f"No hard pick: {e}.")
        return
    chart(soft_vs_hard(pic.image, soft, idx, pic.patch_size, [f"head {h}" for h in heads],
                       presenter=presenter, dark=dark, mode=mode),
          key="vit_soft_hard", width="content")
    share = soft / soft.sum(-1, keepdim=True)                            # (H', N) over patches
    taken = ", ".join(f"head {h}: {float(share[k, idx[k]]):.0%}" for k, h in enumerate(heads))
    how = ("its largest weight" if mode == "argmax"
           else f"a draw from its weights (seed {seed}: the same seed, the same draw)")
    st.caption(f"Layer {layer}, query {who(q)}. Soft attention reads every patch, weighted; "
               f"hard attention (Xu et al. 2015) reads one, here {how}, so its output is that "
               f"patch's value alone. Share of the soft weight (over patches; CLS left out) on "
               f"the patch hard attention took: {taken}.")
