"""The explorer page's views: one head, all heads, head view and stages (statistics and
ablation have their own modules). Each takes a Context (ui.explorer.context): the run, the
head chosen, how to draw. Figures come from viz through the theme (presenter, dark); maps are
sized by viz.sizing and shown at that size (width="content").

The one-head map is drawn by ONE function, `one_head`, with ui.head_switch (issue 14): every
head of the layer is sent once and the head changes in the browser; the component reports the
pick, so st.session_state["head"], the Head selectbox and ?head= follow, and the rerun that
follows resends nothing (the figure is remembered per chart key). A layer, input, model,
special-token or scale change builds a new figure. A layer too big to send whole falls back to
one head per run (ui.head_switch).
"""
from __future__ import annotations

import io
import re

import numpy as np
import streamlit as st

from core import analysis
from core.attention import stages_from_scores
from core.pooling import block_labels, max_pool_map, pool_factor
from viz import attention as va
from viz import sizing
from viz.head_mosaic import head_mosaic

from ..head_switch import head_switch_map
from ..state import AUTO_SCALE, HEAD
from ..widgets import chart
from . import controls as ec
from . import focus
from .context import Context, fold_height

ONE_HEAD = "one_head_map"     # the one-head map's chart key (its head switch: ui.head_switch)
GRID_PICK = "grid_pick"       # the "open a head large" selectbox of the grid
STAGE_MAX = 48                # positions per axis drawn in the stages view
LINES_MAX = 40                # positions per axis drawn in the head view (lines)
GRID_MAX_SIDE = 48            # a grid panel shows at most this many rows / columns
GRID_LABEL_CELLS = 16_000     # above this the grid hover shows positions only (JSON cost)


def title(group: str, layer: int, head) -> str:
    return f"{ec.GROUPS[group]} · layer {layer} · head {head}"


def heatmap(c: Context, name: str, head: int, heading: str, key: str,
            width: int | None = None, max_height: int | None = None) -> None:
    """One head's map, as shown (special tokens hidden or not), at the size viz gives it."""
    q, k = c.shown.labels(name)
    auto = bool(st.session_state.get(AUTO_SCALE))
    fig = va.attention_heatmap(c.shown.weights(name)[head], q, k, title=heading,
                               zmin=None if auto else 0.0, zmax=None if auto else 1.0,
                               presenter=c.presenter, mask=c.shown.mask(name, head),
                               dark=c.dark, width=width, max_height=max_height)
    chart(fig, key, width="content")


def hidden_caption(c: Context, name: str, head: int) -> None:
    share = c.shown.hidden_share(name, head)
    if share is not None:
        st.caption(f"Hidden: {', '.join(dict.fromkeys(c.shown.hidden))} (their rows and "
                   f"columns only). The weights are the model's own, so a row sums to less than "
                   f"1: this head's queries put {share:.0%} of their weight, on average, on the "
                   f"hidden tokens.")


# ----------------------------------------------------------------------------- one head
def one_head(c: Context) -> None:
    """The one-head view: the map of (layer, head), its captions and the downloads. A
    cross-attention map (the dates model's alignment) is sized to end above the fold of a
    1280×720 screen and says why it opened on its head."""
    cross = c.group == focus.CROSS
    q, k = c.shown.labels(c.name)
    auto = bool(st.session_state.get(AUTO_SCALE))
    head_switch_map(c.shown.weights(c.name), q, k, key=ONE_HEAD, head_key=HEAD,   # (H, tq, tk)
                    title=title(c.group, c.layer, "{head}"), zmin=None if auto else 0.0,
                    zmax=None if auto else 1.0, presenter=c.presenter,
                    mask=c.shown.mask(c.name), dark=c.dark,                      # (H, tq, tk)
                    max_height=fold_height(c.presenter) if cross else None)
    focus.caption(c.best, c.group, c.layer, c.head, ec.select)
    st.caption("Each row is a query token (the one looking), each column a key token (the one "
               "looked at); a row's weights sum to 1. Grey cells are masked out. Hover for the "
               "exact weight; the camera icon saves a PNG.")
    hidden_caption(c, c.name, c.head)
    if not c.presenter:                                 # fewer controls on a projector
        downloads(c)


def file_stem(model_name: str, module: str) -> str:
    """A safe file name stem: 'sentence-transformers_all-MiniLM-L6-v2_encoder_blocks_0_...'."""
    raw = f"{model_name}_{module.replace('.', '_')}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw).strip("._")[:120] or "attention"


def downloads(c: Context) -> None:
    """The chosen head's weights as CSV (token labels on both axes) and the whole layer as
    NumPy, both over every token of the input (hidden special tokens included)."""
    name, head = c.name, c.head
    q, k = c.ins.labels[name]
    w = c.ins.attention[name]                                            # (H, Tq, Tk)
    stem = file_stem(c.row["name"], name)

    def npy() -> bytes:
        buf = io.BytesIO()
        np.save(buf, w.numpy().astype(np.float32), allow_pickle=False)
        return buf.getvalue()

    every = " (every token, special ones included)" if any(c.ins.special or ()) else ""
    with st.container(horizontal=True):
        st.download_button("Head weights (CSV)", lambda: va.weights_to_csv(w[head], q, k),
                           file_name=f"{stem}_h{head}.csv", mime="text/csv",
                           on_click="ignore", icon=":material/download:", key="dl_csv",
                           help=f"Rows are queries, columns keys, labelled by token{every}")
        st.download_button(f"All {w.shape[0]} heads (NumPy .npy, H×Tq×Tk)", npy,
                           file_name=f"{stem}.npy", mime="application/octet-stream",
                           on_click="ignore", icon=":material/download:", key="dl_npy",
                           help=f"float32, heads × queries × keys{every}")


# ----------------------------------------------------------------------------- all heads
def all_heads(c: Context) -> None:
    side, kind = c.group.split(".")
    names, stacked = analysis.stack_layers(c.ins.attention, kind, side)  # (L, H, Tq, Tk)
    stacked = c.shown.take(names[0], stacked)                            # (L, H, tq, tk)
    q, k = c.shown.labels(names[0])
    small, qb, kb = max_pool_map(stacked, GRID_MAX_SIDE)                 # (L, H, tq', tk')
    pooled = small.shape[-2:] != stacked.shape[-2:]
    if pooled:
        q, k = block_labels(q, qb), block_labels(k, kb)
        st.caption(f"{stacked.shape[-2]} × {stacked.shape[-1]} tokens: each cell of a small "
                   f"map shows the largest weight of a block of up to "
                   f"{pool_factor(stacked.shape[-2], GRID_MAX_SIDE)} × "
                   f"{pool_factor(stacked.shape[-1], GRID_MAX_SIDE)} tokens.")
    fig = head_mosaic(small, [f"L{i}" for i in range(len(names))], selected=(c.layer, c.head),
                      q_labels=q, k_labels=k, presenter=c.presenter, dark=c.dark,
                      max_labels_cells=GRID_LABEL_CELLS,
                      hover_note="largest weight of the block" if pooled else "weight")
    chart(fig, key="grid", width="content")
    L, H = stacked.shape[:2]
    cells = [f"L{l} H{h}" for l in range(L) for h in range(H)]
    st.session_state[GRID_PICK] = f"L{c.layer} H{c.head}"
    st.selectbox("Open a head large", cells, key=GRID_PICK, on_change=_grid_pick,
                 args=(c.group,), help="Also sets the layer and head of every other view")
    heatmap(c, names[c.layer], c.head, title(c.group, c.layer, c.head), key="grid_large")


def _grid_pick(group: str) -> None:
    l, h = st.session_state[GRID_PICK].split()
    ec.select(group, int(l[1:]), int(h[1:]))


# ----------------------------------------------------------------------------- head view
def head_view(c: Context) -> None:
    q, k = c.shown.labels(c.name)
    w = c.shown.weights(c.name)                                          # (H, tq, tk)
    left, right = st.columns(2)
    with left:
        rows = window(len(q), "hv_rows", "Queries shown", LINES_MAX)
    with right:
        cols = window(len(k), "hv_cols", "Keys shown", LINES_MAX)
    floor = st.columns([1, 2])[0].slider("Hide lines below weight", 0.0, 0.5, 0.02, 0.01,
                                         key="hv_min")
    chart(va.head_view(w[:, rows, cols], q[rows], k[cols], presenter=c.presenter,
                       min_weight=floor, dark=c.dark), key="head_view")
    st.caption(f"{ec.GROUPS[c.group]}, layer {c.layer}: a line joins each query (left) to each "
               "key (right), darker for more weight; one colour per head. Click a head in the "
               "legend to hide it, double-click to show it alone.")


# ----------------------------------------------------------------------------- stages
def stages(c: Context) -> None:
    ins, name, head = c.ins, c.name, c.head
    if c.model.kind == "rnn":
        st.info("This GRU's attention is additive (Bahdanau): each score is vᵀ tanh(W s + U h) "
                "of the decoder state s and one source annotation h, not a scaled q·kᵀ, so "
                "there are no dot-product stages to show. Its weights are in *One head*; the "
                "page *From RNN to attention* compares it with a transformer's.",
                icon=":material/info:")
        return
    if not ins.scores or name not in ins.scores:
        st.info("This model did not record its attention scores.")
        return
    full_mask = (ins.masks or {}).get(name)
    full_mask = None if full_mask is None else full_mask[head]           # (Tq, Tk)
    parts = stages_from_scores(ins.scores[name][head], full_mask, c.model.cfg.d_head)
    parts = {s_: c.shown.take(name, v) for s_, v in parts.items()}       # each (tq, tk)
    mask = c.shown.mask(name, head)                                      # (tq, tk) or None
    q, k = c.shown.labels(name)
    left, right = st.columns(2)
    with left:
        rows = window(len(q), "stage_rows", "Queries shown", STAGE_MAX)
    with right:
        cols = window(len(k), "stage_cols", "Keys shown", STAGE_MAX)
    parts = {s_: v[rows, cols] for s_, v in parts.items()}               # each (tq', tk')
    mask = None if mask is None else mask[rows, cols]
    # Four panels in a row leave small cells on a projector: viz chooses a 2×2 grid when its
    # cells are clearly larger, each row of panels then as tall as the screen allows.
    chart(va.stages_figure(parts, q[rows], k[cols], mask=mask, presenter=c.presenter,
                           dark=c.dark, max_height=2 * sizing.height_limit(presenter=c.presenter)),
          key="stages", width="content")
    st.caption(f"{title(c.group, c.layer, head)}: raw q·kᵀ, divided by √d = "
               f"√{c.model.cfg.d_head}"
               f"{', the mask applied (−∞ on grey cells)' if mask is not None else ''}, then "
               "softmax row by row (over all keys, also those not shown). Signed stages use a "
               "blue–red scale centred on 0.")


def window(n: int, key: str, label: str, most: int) -> slice:
    """All n positions, or a range of at most `most` picked with a slider."""
    if n <= most:
        return slice(0, n)
    value = st.session_state.get(key)
    if not (isinstance(value, tuple) and len(value) == 2 and 0 <= value[0] <= value[1] < n):
        st.session_state[key] = (0, most - 1)
    lo, hi = st.slider(f"{label} (at most {most} of {n})", 0, n - 1, key=key)
    if hi - lo >= most:
        st.caption(f"Showing the first {most} of the chosen range.")
        hi = lo + most - 1
    return slice(lo, hi + 1)
