"""The Attention math page's last section: the cost of one attention layer measured live on this
machine (warm-up, then the fastest of several runs per length; time and memory on log-log axes
with the fitted exponent in the title; memory measured on CUDA, computed elsewhere)."""
from __future__ import annotations

import streamlit as st

from core.budget import check, sequence_cost
from core.costs import attention_cost
from core.safe_run import safe_run
from viz.mathview import cost_figure

from .. import models
from ..theme import advanced
from ..widgets import chart
from .layout import width

MAX_LENGTHS = [256, 512, 1024, 2048, 4096]
LENGTHS = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
D_MODEL, HEADS, REPEATS, WARMUP = 64, 4, 5, 2
COST_KEY = "math_cost"                       # the last measurement, per user


def measure(lengths: list[int], budget_s: float, device) -> list[dict]:
    """attention_cost within the memory limit (core.budget) and the time budget; a failure
    other than a ValueError (out of memory, a device error) ends the run with a message."""
    check(sequence_cost(n_layers=1, n_heads=HEADS, d_model=D_MODEL, tokens=max(lengths)),
          what=f"Timing N = {max(lengths):,}", advice="choose a shorter longest sequence")
    return safe_run(attention_cost, lengths, d_model=D_MODEL, n_heads=HEADS, device=device,
                    repeats=REPEATS, warmup=WARMUP, max_seconds=budget_s,
                    what="The cost measurement")


def cost(presenter: bool, dark: bool) -> None:
    """Time one attention layer for growing N on this machine, on request; plot time and memory."""
    device = models.device()
    a, b, c = st.columns(3)
    max_len = int(a.selectbox("Longest sequence", MAX_LENGTHS, index=1, key="cost_max"))
    with b, advanced("Time budget"):                     # folded away when presenting
        budget = float(st.slider("Time budget (s)", 1, 30, 10, key="cost_budget"))
    lengths = [n for n in LENGTHS if n <= max_len]
    if c.button(f"Measure on {device.type.upper()}", key="cost_run", type="primary"):
        try:
            with st.spinner("Timing attention…"):
                st.session_state[COST_KEY] = measure(lengths, budget, device)
        except ValueError as e:
            st.error(str(e))
    rows = st.session_state.get(COST_KEY)
    if not rows:
        st.info("Press the button to time attention for N = "
                f"{', '.join(map(str, lengths))} on this machine.")
        return
    measured = bool(rows[0]["memory_measured"])
    chart(cost_figure([r["n"] for r in rows], [r["seconds"] for r in rows],
                      [r["memory_bytes"] / 1e6 for r in rows], presenter=presenter,
                      memory_measured=measured, dark=dark, width=width(presenter)),
          key="math_cost_chart", width="content")
    memory = ("peak GPU memory above the start, measured" if measured else
              f"the {HEADS}×N×N weights tensor, computed (memory is measured on CUDA only)")
    st.caption(f"One {HEADS}-head attention layer, d_model {D_MODEL}, on {rows[0]['device']}: "
               f"{WARMUP} warm-up runs, then the fastest of up to {REPEATS} timed runs per "
               f"length. Memory: {memory}. Thick: the power law fitted in log-log space to "
               "the longest lengths; dashed: c·N² for comparison.")
    if rows[-1]["stopped"]:
        st.info(f"Stopped early: {rows[-1]['reason']}.")
