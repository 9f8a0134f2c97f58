"""The explorer page's views, one render function per tab.

Each takes an Inspection (core.tasks.base) and the current selection, asks core for what it
needs (analysis.stack_layers, head_statistics, attention.stages_from_scores) and viz for the
figures. Nothing here runs a model except through ui.explorer.controls.inspection.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import streamlit as st

from core import analysis
from core.attention import stages_from_scores
from viz import attention as va

from ..state import ABLATE, AUTO_SCALE
from ..widgets import chart
from . import controls as ec

GRID_PICK = "grid_pick"           # the "open a head large" selectbox of the grid
STATS_TABLE = "stats_table"       # the statistics table (its selection picks a head)
STATS_INDEX = "explorer_stats_index"   # (group, layer, head) of each statistics row
STAGE_MAX = 48                # positions per axis drawn in the four-panel stages view
GRID_LABEL_CELLS = 16_000     # above this the grid hover shows positions only (JSON cost)
STATS_COLUMNS = {
    "entropy": ("entropy", "Mean entropy of a query's weights, in nats: 0 = one key, high = "
                           "spread out"),
    "entropy_norm": ("entropy / max", "Entropy divided by its maximum: 1 = uniform over the "
                                      "allowed keys"),
    "mean_distance": ("mean distance", "Average |query position − key position| weighted by "
                                       "attention"),
    "max_weight": ("max weight", "Average of each query's largest weight"),
    "first_token": ("first token", "Share of weight on the first token (an 'attention sink')"),
    "diagonal": ("diagonal", "Share of weight on the query's own position"),
    "previous": ("previous", "Share of weight on the previous position"),
}


def title(group: str, layer: int, head: int) -> str:
    return f"{ec.GROUPS[group]} · layer {layer} · head {head}"


def head_mask_of(ins, name: str, head: int):
    """(Tq, Tk) bool allowed-cells mask of one head, or None when nothing is masked."""
    masks = ins.masks or {}
    m = masks.get(name)
    return None if m is None else m[head]                                # (Tq, Tk)


def heatmap(ins, name: str, head: int, heading: str, presenter: bool, key=None):
    q, k = ins.labels[name]
    auto = bool(st.session_state.get(AUTO_SCALE))
    fig = va.attention_heatmap(ins.attention[name][head], q, k, title=heading,
                               zmin=None if auto else 0.0, zmax=None if auto else 1.0,
                               presenter=presenter, mask=head_mask_of(ins, name, head))
    Tq, Tk = ins.attention[name].shape[-2:]
    cell = fig.layout.height / max(Tq + 4, 1)       # keep cells near square on a wide page
    chart(fig, key, width=int(max(420, cell * Tk + 260)) if Tk < 40 else "stretch")


# ----------------------------------------------------------------------------- one head
def one_head(ins, model_name, group, layer, head, name, presenter: bool) -> None:
    heatmap(ins, name, head, title(group, layer, head), presenter, key="one_head_map")
    st.caption("Each row is a query token (the one looking), each column a key token (the one "
               "looked at); a row's weights sum to 1. Grey cells are masked out. Hover for the "
               "exact weight; the camera icon saves a PNG.")
    if not presenter:                                   # fewer controls on a projector
        downloads(ins, model_name, name, head)


def downloads(ins, model_name, name, head) -> None:
    q, k = ins.labels[name]
    w = ins.attention[name]                                              # (H, Tq, Tk)
    stem = f"{model_name}_{name.replace('.', '_')}"

    def npy() -> bytes:
        buf = io.BytesIO()
        np.save(buf, w.numpy(), allow_pickle=False)
        return buf.getvalue()

    with st.container(horizontal=True):
        st.download_button("Head weights (CSV)", lambda: va.weights_to_csv(w[head], q, k),
                           file_name=f"{stem}_h{head}.csv", mime="text/csv",
                           on_click="ignore", icon=":material/download:", key="dl_csv")
        st.download_button(f"All {w.shape[0]} heads (NumPy .npy, H×Tq×Tk)", npy,
                           file_name=f"{stem}.npy", mime="application/octet-stream",
                           on_click="ignore", icon=":material/download:", key="dl_npy")


# ----------------------------------------------------------------------------- all heads
def all_heads(ins, group, layer, head, presenter: bool) -> None:
    side, kind = group.split(".")
    names, stacked = analysis.stack_layers(ins.attention, kind, side)  # (L, H, Tq, Tk)
    q, k = ins.labels[names[0]] if stacked.numel() <= GRID_LABEL_CELLS else (None, None)
    fig = va.head_grid(stacked, [f"L{i}" for i in range(len(names))], q, k,
                       selected=(layer, head), presenter=presenter)
    fig.update_layout(height=int(min(1600, 60 + (260 if presenter else 220) * len(names))))
    chart(fig, key="grid")
    L, H = stacked.shape[:2]
    cells = [f"L{l} H{h}" for l in range(L) for h in range(H)]
    st.session_state[GRID_PICK] = f"L{layer} H{head}"
    st.selectbox("Open a head large", cells, key=GRID_PICK, on_change=_grid_pick,
                 args=(group,), help="Also sets the layer and head of every other view")
    heatmap(ins, names[layer], head, title(group, layer, head), presenter, key="grid_large")


def _grid_pick(group: str) -> None:
    l, h = st.session_state[GRID_PICK].split()
    ec.select(group, int(l[1:]), int(h[1:]))


# ----------------------------------------------------------------------------- head view
def head_view(ins, group, layer, name, presenter: bool) -> None:
    q, k = ins.labels[name]
    floor = st.columns([1, 2])[0].slider("Hide lines below weight", 0.0, 0.5, 0.02, 0.01,
                                         key="hv_min")
    chart(va.head_view(ins.attention[name], q, k, presenter=presenter, min_weight=floor),
          key="head_view")
    st.caption(f"{ec.GROUPS[group]}, layer {layer}: a line joins each query (left) to each key "
               "(right), darker for more weight; one colour per head. Click a head in the "
               "legend to hide it, double-click to show it alone.")


# ----------------------------------------------------------------------------- stages
def stages(ins, group, layer, head, name, d_head: int, presenter: bool) -> None:
    if not ins.scores or name not in ins.scores:
        st.info("This model did not record its attention scores.")
        return
    q, k = ins.labels[name]
    mask = head_mask_of(ins, name, head)                                 # (Tq, Tk) or None
    parts = stages_from_scores(ins.scores[name][head], mask, d_head)     # each (Tq, Tk)
    left, right = st.columns(2)
    with left:
        rows = window(len(q), "stage_rows", "Queries shown")
    with right:
        cols = window(len(k), "stage_cols", "Keys shown")
    parts = {s_: v[rows, cols] for s_, v in parts.items()}               # each (tq, tk)
    mask = None if mask is None else mask[rows, cols]
    chart(va.stages_figure(parts, q[rows], k[cols], mask=mask, presenter=presenter),
          key="stages")
    st.caption(f"{title(group, layer, head)}: raw q·kᵀ, divided by √d = √{d_head}"
               f"{', the mask applied (−∞ on grey cells)' if mask is not None else ''}, then "
               "softmax row by row (over all keys, also those outside the window). Signed "
               "stages use a blue–red scale centred on 0.")


def window(n: int, key: str, label: str) -> slice:
    """All n positions, or a range of at most STAGE_MAX picked with a slider."""
    if n <= STAGE_MAX:
        return slice(0, n)
    value = st.session_state.get(key)
    if not (isinstance(value, tuple) and 0 <= value[0] <= value[1] < n
            and value[1] - value[0] < STAGE_MAX):
        st.session_state[key] = (n - STAGE_MAX, n - 1)
    lo, hi = st.slider(f"{label} (at most {STAGE_MAX} of {n})", 0, n - 1, key=key)
    if hi - lo >= STAGE_MAX:
        st.caption(f"Showing the first {STAGE_MAX} of the chosen range.")
        hi = lo + STAGE_MAX - 1
    return slice(lo, hi + 1)


# ----------------------------------------------------------------------------- statistics
def statistics(ins, group, layer, head, name, presenter: bool) -> None:
    rows = analysis.head_statistics(ins.attention, masks=ins.masks)
    by_group = ec.groups(ins.attention)
    index = []
    for r in rows:
        group = ec.group_of(r["module"])
        index.append((group, by_group[group].index(r["module"]), r["head"]))
    st.session_state[STATS_INDEX] = index
    table = pd.DataFrame({
        "attention": [ec.GROUPS[g] for g, _, _ in index],
        "layer": [l for _, l, _ in index], "head": [h for _, _, h in index],
        **{col: [r[col] for r in rows] for col in STATS_COLUMNS}})
    config = {col: st.column_config.NumberColumn(label, help=text, format="%.3f")
              for col, (label, text) in STATS_COLUMNS.items()}
    st.dataframe(table, key=STATS_TABLE, on_select=_stats_pick, selection_mode="single-row",
                 hide_index=True, column_config=config, width="stretch")
    st.caption("Click a column header to sort, click a row to open that head here and in "
               "every other view.")
    heatmap(ins, name, head, title(group, layer, head), presenter, key="stats_map")


def _stats_pick() -> None:
    rows = st.session_state[STATS_TABLE]["selection"]["rows"]
    index = st.session_state.get(STATS_INDEX) or []
    if rows and rows[0] < len(index):
        ec.select(*index[rows[0]])


# ----------------------------------------------------------------------------- ablation
def ablation(row, model, task, text, before, group, layer, head, name,
             presenter: bool) -> None:
    names = list(before.attention)
    several = len({analysis.parse_name(n)["side"] for n in names}) > 1
    pairs = {ec.head_label(n, h, several): (n, h)
             for n in names for h in range(int(model.cfg.n_heads))}
    kept = [v for v in st.session_state.get(ABLATE, []) if v in pairs]
    st.session_state[ABLATE] = kept
    chosen = st.multiselect("Switch heads off", list(pairs), key=ABLATE,
                            max_selections=len(pairs), placeholder="Pick heads to ablate",
                            help="A head that is off still computes its weights, but its "
                                 "output is multiplied by 0, so later layers never see it.")
    if not chosen:
        st.info("Pick one or more heads to switch off: the prediction and every other head's "
                "attention are recomputed without them.")
        return
    off = [pairs[c] for c in chosen]
    after = ec.inspection(row, model, task, text, off)
    if after is None:
        return
    left, right = st.columns(2)
    for col, ins, what in ((left, before, "before"), (right, after, "after")):
        with col:
            ec.show_prediction(ins, label=f"Prediction {what}")
            heatmap(ins, name, head, f"{what}: layer {layer} · head {head}", presenter,
                    key=f"ablation_{what}")
    if (name, head) in off:
        st.caption("The head shown is switched off: its weights are still computed, but "
                   "nothing downstream sees its output.")
    change = analysis.attention_change(before.attention, after.attention, skip=off)
    table = pd.DataFrame({
        "head": [ec.head_label(r["module"], r["head"], several) for r in change],
        "max |Δ|": [r["max_change"] for r in change],
        "mean |Δ|": [r["mean_change"] for r in change]})
    st.markdown("**How much each remaining head's attention moved**")
    st.dataframe(table, hide_index=True, key="ablation_change",
                 column_config={c: st.column_config.ProgressColumn(c, format="%.3f",
                                                                   min_value=0.0, max_value=1.0)
                                for c in ("max |Δ|", "mean |Δ|")})
    shapes = {r["compared"] for r in change}
    if any(before.attention[n].shape[-2:] != after.attention[n].shape[-2:] for n in names
           if n in after.attention):
        st.caption(f"The output changed length, so heads are compared on the tokens both runs "
                   f"share ({', '.join(f'{a}×{b}' for a, b in sorted(shapes))}).")
