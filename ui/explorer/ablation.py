"""The explorer's ablation view: switch heads off and compare the prediction and the chosen
head's map before and after, with how much every remaining head's attention moved."""
from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from core import analysis
from viz import sizing

from ..state import ABLATE
from . import controls as ec
from . import run as er
from .context import Context
from .prediction import show_prediction
from .shown import Shown
from .views import heatmap


def ablation(c: Context) -> None:
    before = c.ins
    names = list(before.attention)
    several = len({analysis.parse_name(n)["side"] for n in names}) > 1
    pairs = {ec.head_label(n, h, several): (n, h)
             for n in names for h in range(int(c.model.cfg.n_heads))}
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
    off = [pairs[x] for x in chosen]
    after = er.inspection(c.row, c.model, c.task, c.text, off)
    if after is None:
        return
    half = sizing.content_width(presenter=c.presenter) // 2 - 8
    left, right = st.columns(2)
    for col, ins, what in ((left, before, "before"), (right, after, "after")):
        with col:
            show_prediction(ins, label=f"Prediction {what}", presenter=c.presenter,
                            dark=c.dark, key=f"forecast_{what}", task=c.task)
            view = Shown(ins, c.shown.keep, c.shown.hidden)
            heatmap(replace(c, shown=view), c.name, c.head, f"{what}: layer {c.layer} · head {c.head}",
                    key=f"ablation_{what}", width=half)
    if (c.name, c.head) in off:
        st.caption("The head shown is switched off: its weights are still computed, but "
                   "nothing downstream sees its output.")
    change = analysis.attention_change(before.attention, after.attention, skip=off)
    if not change:
        st.caption("Every head is switched off: no remaining head to compare.")
        return
    table = pd.DataFrame({
        "head": [ec.head_label(r["module"], r["head"], several) for r in change],
        "max |Δ|": [r["max_change"] for r in change],
        "mean |Δ|": [r["mean_change"] for r in change]})
    st.markdown("**How much each remaining head's attention moved**")
    st.dataframe(table, hide_index=True, key="ablation_change",
                 column_config={x: st.column_config.ProgressColumn(x, format="%.3f",
                                                                   min_value=0.0, max_value=1.0)
                                for x in ("max |Δ|", "mean |Δ|")})
    shapes = {r["compared"] for r in change}
    if any(before.attention[n].shape[-2:] != after.attention[n].shape[-2:] for n in names
           if n in after.attention):
        st.caption(f"The output changed length, so heads are compared on the tokens both runs "
                   f"share ({', '.join(f'{a}×{b}' for a, b in sorted(shapes))}).")

