"""The Attention math page's worked example: editable Q, K, V tables, every stage of scaled
dot-product attention on them, and multi-head attention split and merged.

Each section reads its own widgets, asks core.attention for tensors and draws them with
viz.mathview, laid out in rows that keep every value readable (layout.matrix_rows).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
import torch

from core.attention import (MultiHeadAttention, attention_stages, causal_mask,
                            scaled_dot_product_attention)

from .layout import matrix_rows, quoted

LIMIT = 100.0                                 # |cell| bound for the editable tables


def check_table(name: str, edited: pd.DataFrame, rows, T: int, d: int):
    """An edited (T, d) table -> (float64 tensor or None, error message or None). Every cell
    must be a finite number with |x| ≤ LIMIT; the first cell that is not is named."""
    if edited.shape != (T, d):
        return None, f"{name} must be {T}×{d}, got {edited.shape[0]}×{edited.shape[1]}."
    values = edited.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)   # (T, d)
    bad = ~(np.abs(values) <= LIMIT)                                     # NaN counts as bad
    if bad.any():
        i, j = np.argwhere(bad)[0]
        what = ("is empty or not a number" if np.isnan(values[i, j])
                else f"is outside ±{LIMIT:g}")
        return None, (f"{name}: cell ({rows[i]}, d{j}) = {quoted(edited.iat[i, j])} {what}. "
                      f"Every cell must be a finite number with |x| ≤ {LIMIT:g}.")
    return torch.tensor(values, dtype=torch.float64), None


def editable(name, rows, T, d, seed, offset):
    """An editable (T, d) table seeded from `seed` -> (tensor or None, error message or None)."""
    g = torch.Generator().manual_seed(seed * 3 + offset)
    data = torch.randn(T, d, generator=g, dtype=torch.float64).round(decimals=1).numpy()
    start = pd.DataFrame(data, index=rows, columns=[f"d{j}" for j in range(d)])
    st.markdown(f"**{name}**  ({T}×{d})")
    edited = st.data_editor(start, key=f"math_{name}_{T}_{d}_{seed}", num_rows="fixed",
                            width="stretch")
    return check_table(name, edited, rows, T, d)


def sizes() -> tuple[int, int, int, bool]:
    """The example's size, seed and mask: (tokens T, head size d, seed, causal)."""
    a, b, c, m = st.columns(4)
    T = int(a.slider("Tokens", 3, 6, 4, key="math_T"))
    d = int(b.slider("d (head size)", 2, 8, 3, key="math_d"))
    seed = int(c.number_input("Seed", 0, 9999, 0, key="math_seed"))
    causal = m.checkbox("causal mask", key="math_causal",
                        help="Query i may only attend keys j ≤ i (a decoder)")
    return T, d, seed, causal


def by_hand(T: int, d: int, seed: int, causal: bool, presenter: bool, dark: bool) -> None:
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
    shown = [("E = QKᵀ/√d", stages["scaled"], tok, tok)]
    if causal:
        shown.append(("E with the causal mask (−∞ above the diagonal)", stages["masked"],
                      tok, tok))
    shown += [("A = softmax(E)", weights, tok, tok),
              ("Y = AV", y, tok, [f"d{j}" for j in range(d)])]
    matrix_rows(shown, presenter, dark, key="math_stage")
    st.caption(f"Q, K: {T}×{d} → scores {T}×{T} (every query against every key) → "
               f"weights {T}×{T}, each row summing to 1 → output {T}×{d}.")


def multi_head(T: int, seed: int, causal: bool, presenter: bool, dark: bool) -> None:
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
    matrix_rows([(f"head {i}: A", w[0, i], tok, tok) for i in range(h)], presenter, dark,
                key="mh_head")
    dims = [f"h{j // (d_model // h)}·{j % (d_model // h)}" for j in range(d_model)]
    matrix_rows([("concat(head outputs)", seen["concat"][0], tok, dims),
                 ("output = concat · W_Oᵀ + b", out[0], tok, [f"d{j}" for j in range(d_model)])],
                presenter, dark, key="mh_out")
