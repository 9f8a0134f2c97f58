"""The head a cross-attention map opens on: the most focused one (core.statistics_scope), so the
dates model shows its alignment (each output character reading the input character it comes
from) at once, with a caption that says why this head was chosen."""
from __future__ import annotations

import streamlit as st

from core import analysis
from core.statistics_scope import focus_reason, most_focused

CROSS = "decoder.cross_attn"


def best_cross(ins, by_group: dict):
    """(statistics row, (group, layer, head)) of the most focused cross-attention head of this
    inspection, or None for a model without cross-attention."""
    names = by_group.get(CROSS)
    if not names:
        return None
    rows = analysis.head_statistics(ins.attention, names=names, masks=ins.masks)
    row = most_focused(rows, "cross_attn")
    if row is None:
        return None
    return row, (CROSS, names.index(row["module"]), int(row["head"]))


def caption(best, group: str, layer: int, head: int, select) -> None:
    """Under a cross-attention map: why it opened on this head, or which head aligns best,
    with a button that opens it (select(group, layer, head) as its callback)."""
    if best is None or group != CROSS:
        return
    row, pick = best
    if pick == (group, layer, head):
        st.caption(focus_reason(row) + ". Its rows are output characters, its columns the "
                   "input characters each one reads.")
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        st.caption(f"The most focused cross-attention head for this input is layer "
                   f"{pick[1]}, head {pick[2]} (mean max weight {row['max_weight']:.2f}).",
                   width="content")
        st.button("Open it", key="open_best", type="tertiary", on_click=select, args=pick,
                  icon=":material/center_focus_strong:")
