"""The Attention math page's sections: scaled dot-product attention on a tiny editable example,
multi-head attention split and merged, and the quadratic cost measured live.

Each section reads its own widgets, asks core.attention / core.costs for tensors and draws them
with viz.mathview.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from core.attention import (MultiHeadAttention, attention_stages, causal_mask,
                            scaled_dot_product_attention)
from core.costs import attention_cost
from viz.mathview import cost_figure, matrix_figure

from .. import models
from ..theme import advanced
from ..widgets import chart

LIMIT = 100.0                                 # |cell| bound for the editable tables
MAX_LENGTHS = [256, 512, 1024, 2048, 4096]
COST_KEY = "math_cost"                       # the last measurement, per user


def editable(name, rows, T, d, seed, offset):
    """An editable (T, d) table seeded from `seed` -> (tensor or None, error message or None)."""
    g = torch.Generator().manual_seed(seed * 3 + offset)
    data = torch.randn(T, d, generator=g, dtype=torch.float64).round(decimals=1).numpy()
    start = pd.DataFrame(data, index=rows, columns=[f"d{j}" for j in range(d)])
    st.markdown(f"**{name}**  ({T}×{d})")
    edited = st.data_editor(start, key=f"math_{name}_{T}_{d}_{seed}", num_rows="fixed",
                            width="stretch")
    if edited.shape != (T, d):
        return None, f"{name} must be {T}×{d}, got {edited.shape[0]}×{edited.shape[1]}."
    values = edited.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)   # (T, d)
    bad = ~(np.abs(values) <= LIMIT)                                     # NaN counts as bad
    if bad.any():
        i, j = np.argwhere(bad)[0]
        what = "is empty or not a number" if np.isnan(values[i, j]) else f"is outside ±{LIMIT:g}"
        return None, (f"{name}: cell ({rows[i]}, d{j}) = {edited.iat[i, j]} {what}. "
                      f"Every cell must be a finite number with |x| ≤ {LIMIT:g}.")
    return torch.tensor(values, dtype=torch.float64), None


def sizes() -> tuple[int, int, int, bool]:
    """The example's size, seed and mask: (tokens T, head size d, seed, causal)."""
    a, b, c, m = st.columns(4)
    T = int(a.slider("Tokens", 3, 6, 4, key="math_T"))
    d = int(b.slider("d (head size)", 2, 8, 3, key="math_d"))
    seed = int(c.number_input("Seed", 0, 9999, 0, key="math_seed"))
    causal = m.checkbox("causal mask", key="math_causal",
                        help="Query i may only attend keys j ≤ i (a decoder)")
    return T, d, seed, causal


def by_hand(T: int, d: int, seed: int, causal: bool, presenter: bool) -> None:
    """Editable Q, K, V tables and every stage: scores, masked scores, weights, output."""
    mask = causal_mask(T) if causal else None                            # (T, T) bool
    tok = [f"t{i}" for i in range(T)]
    tables, errors = [], []
    for col, (name, offset) in zip(st.columns(3), (("Q", 0), ("K", 1), ("V", 2))):
        with col:
            t, err = editable(name, tok, T, d, seed, offset)
            tables.append(t)
            errors += [err] if err else []
    for err in errors:
        st.error(err)
    if errors:
        return
    q, k, v = tables                                                     # (T, d) each
    stages = attention_stages(q, k, mask)                                # each (T, T)
    y, weights = scaled_dot_product_attention(q, k, v, mask)             # (T, d), (T, T)
    shown = [("E = QKᵀ/√d", stages["scaled"], tok)]
    if causal:
        shown.append(("E with the causal mask (−∞ above the diagonal)", stages["masked"], tok))
    shown += [("A = softmax(E)", weights, tok), ("Y = AV", y, [f"d{j}" for j in range(d)])]
    for col, (title, M, col_labels) in zip(st.columns(len(shown)), shown):
        with col:
            chart(matrix_figure(M, tok, col_labels, title, presenter=presenter))
    st.caption(f"Q, K: {T}×{d} → scores {T}×{T} (every query against every key) → "
               f"weights {T}×{T}, each row summing to 1 → output {T}×{d}.")


def multi_head(T: int, seed: int, causal: bool, presenter: bool) -> None:
    """Split X into h heads, attend per head, concatenate, project."""
    mask = causal_mask(T) if causal else None                            # (T, T) bool
    tok = [f"t{i}" for i in range(T)]
    a, b = st.columns(2)
    d_model = int(a.selectbox("d_model", [4, 6, 8, 12, 16], index=2, key="mh_d"))
    h = int(b.selectbox("heads h", [n for n in range(1, d_model + 1) if d_model % n == 0],
                        index=1, key=f"mh_h_{d_model}"))
    with torch.random.fork_rng(devices=[]):             # a seeded init, global RNG untouched
        torch.manual_seed(seed)
        mha = MultiHeadAttention(d_model, h).double().eval()
    x = torch.randn(1, T, d_model, generator=torch.Generator().manual_seed(seed),
                    dtype=torch.float64)                                 # (1, T, D)
    seen = {}
    with torch.no_grad():
        out, w = mha(x, mask=mask, need_weights=True, record=seen)       # (1,T,D), (1,h,T,T)
    st.markdown(f"X ({T}×{d_model}) is projected to Q, K, V and split into **{h}** heads of "
                f"d = {d_model // h}; each head attends on its own.")
    head_cols = st.columns(min(h, 4))
    for i in range(h):
        with head_cols[i % len(head_cols)]:
            chart(matrix_figure(w[0, i], tok, tok, f"head {i}: A", presenter=presenter))
    dims = [f"h{j // (d_model // h)}·{j % (d_model // h)}" for j in range(d_model)]
    left, right = st.columns(2)
    with left:
        chart(matrix_figure(seen["concat"][0], tok, dims, "concat(head outputs)",
                            presenter=presenter))
    with right:
        chart(matrix_figure(out[0], tok, [f"d{j}" for j in range(d_model)],
                            "output = concat · W_Oᵀ + b", presenter=presenter))


def cost(presenter: bool) -> None:
    """Time one attention layer for growing N on this machine, on request; plot time and memory."""
    device = models.device()
    a, b, c = st.columns(3)
    max_len = int(a.selectbox("Longest sequence", MAX_LENGTHS, index=1, key="cost_max"))
    with b, advanced("Time budget"):                     # folded away when presenting
        budget = float(st.slider("Time budget (s)", 1, 30, 10, key="cost_budget"))
    lengths = [n for n in (16, 32, 64, 128, 256, 512, 1024, 2048, 4096) if n <= max_len]
    if c.button(f"Measure on {device.type.upper()}", key="cost_run", type="primary"):
        try:
            with st.spinner("Timing attention…"):
                rows = attention_cost(lengths, d_model=64, n_heads=4, device=device, repeats=3,
                                      max_seconds=budget)
            st.session_state[COST_KEY] = rows
        except (ValueError, RuntimeError) as e:
            st.error(f"The measurement failed: {e}")
    rows = st.session_state.get(COST_KEY)
    if not rows:
        st.info("Press the button to time attention for N = "
                f"{', '.join(map(str, lengths))} on this machine.")
        return
    memory = [r["peak_bytes"] if r["peak_bytes"] is not None else r["weights_bytes"]
              for r in rows]
    chart(cost_figure([r["n"] for r in rows], [r["seconds"] for r in rows],
                      [m / 1e6 for m in memory], presenter=presenter))
    what = "peak GPU memory" if rows[0]["peak_bytes"] is not None else "the weights tensor"
    st.caption(f"One 4-head attention layer, d_model 64, on {rows[0]['device']}; memory is "
               f"{what}. Dashed: the best-fitting c·N².")
    if rows[-1]["stopped"]:
        st.info(f"Stopped early: {rows[-1]['reason']}.")
