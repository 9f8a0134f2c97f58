"""The Positional encodings page's sections, one per tab: sinusoidal values and periods, the
similarity of positions, a model's learned table or RoPE, and why order matters.

Tensors come from core.positional and core.similarity, figures from viz.positional.
"""
from __future__ import annotations

import streamlit as st

from core.checkpoints import list_checkpoints
from core.positional import sinusoidal_encoding, sinusoidal_wavelengths
from core.similarity import (cosine_similarity, dot_similarity, permutation_demo,
                             position_similarity, rope_pair_track)
from viz import positional as vp
from viz.pe_text import period_caption, similarity_caption

from .. import models
from ..sidebar import model_picker
from ..theme import advanced
from .layout import gap, show, url_int, width

SIM_MAX = 512            # the N×N similarity map shows at most this many positions
MAP_HEIGHT = 600         # px: a full-width map stays within a 720 px screen


def half(presenter: bool) -> int:
    """The width of one of two columns side by side."""
    return (width(presenter) - gap(presenter)) // 2


def sizes() -> tuple[int, int]:
    """Positions N and d_model (both kept in the URL: ?pe_n=64&pe_d=32)."""
    c1, c2 = st.columns(2)
    n_pos = url_int(c1, "Positions N (20: the lecture's figure)", 1, 2048, 20, key="pe_n")
    d_model = int(c2.slider("d_model", min_value=4, max_value=512, value=16, step=2, key="pe_d",
                            bind="query-params"))
    if d_model % 2:                        # only reachable past the slider's step
        st.warning(f"d_model must be even; using {d_model - 1}.")
        d_model -= 1
    return n_pos, d_model


def sinusoidal(n_pos: int, d_model: int, presenter: bool, dark: bool) -> None:
    """The table as a heatmap, chosen dimensions as waves, and the wavelengths."""
    pe = sinusoidal_encoding(n_pos, d_model)                             # (N, D)
    wavelengths = sinusoidal_wavelengths(d_model)                        # (D,)
    show(vp.encoding_heatmap(pe, title=f"sinusoidal encoding  ({n_pos} positions × {d_model} "
                                       "dimensions)", presenter=presenter, dark=dark,
                             width=width(presenter)), key="pe_table")
    left, right = st.columns(2)
    with left:
        default = [d for d in (0, 1, 4, 6) if d < d_model]
        dims = st.multiselect("Dimensions to draw", list(range(d_model)), default=default,
                              max_selections=8, key=f"pe_dims_{d_model}")
        if dims:
            show(vp.dimension_curves(pe, dims, wavelengths, presenter=presenter, dark=dark,
                                     width=half(presenter)), key="pe_waves")
        else:
            st.info("Pick at least one dimension to draw its wave.")
    with right:
        show(vp.wavelength_plot(wavelengths, presenter=presenter, dark=dark,
                                width=half(presenter)), key="pe_periods")
        st.caption(period_caption(wavelengths))


def similarity(n_pos: int, d_model: int, presenter: bool, dark: bool) -> None:
    """Dot-product or cosine similarity of every pair of positions, and one position's row."""
    pe = sinusoidal_encoding(n_pos, d_model)                             # (N, D)
    kind = st.radio("Similarity", ["dot product", "cosine"], horizontal=True, key="pe_simkind")
    sim = (dot_similarity if kind == "dot product" else cosine_similarity)(pe)
    shown = min(n_pos, SIM_MAX)
    show(vp.similarity_heatmap(sim[:shown, :shown], title=f"{kind} of every position pair"
                               f"  ({shown}×{shown})", presenter=presenter, dark=dark,
                               width=width(presenter), max_height=MAP_HEIGHT), key="pe_sim_map")
    if shown < n_pos:
        st.caption(f"The map shows the first {SIM_MAX} of {n_pos} positions.")
    p = int(st.number_input("Position", 0, n_pos - 1, min(5, n_pos - 1), key="pe_simpos"))
    show(vp.similarity_line(sim[p], p, presenter=presenter, dark=dark, width=width(presenter)),
         key="pe_sim_line")
    st.caption(similarity_caption(sim[:shown, :shown], kind))


def learned_and_rope(presenter: bool, dark: bool) -> None:
    """The picked model's own positional table (learned, sinusoidal or RoPE) beside the formula,
    and RoPE's rotation of one q/k pair."""
    picked = model_picker(kinds=("encoder", "decoder", "seq2seq"))
    if picked is not None:
        (row, model, _), name = picked, picked[0]["name"]
        pos = row["config"].pos
        note = {"learned": (st.success, "learned its own position vectors (left); the "
                            "sinusoidal table of the same size is on the right."),
                "sinusoidal": (st.info, "uses the fixed sinusoidal encoding: nothing was "
                               "learned, its table (left) equals the formula (right)."),
                "rope": (st.info, "uses RoPE: nothing is added to the tokens; q and k are "
                         "rotated inside attention (below). The map compares its rotations."),
                "none": (st.warning, "has no positional encoding (pos = none): it sees its "
                         "input as a set of tokens.")}[pos]
        note[0](f"**{name}** {note[1]}")
        if pos in ("learned", "sinusoidal"):
            table = model.positional_encoding()                          # (max_len, D)
            pair = ((table, f"{pos} table of {name}"),
                    (sinusoidal_encoding(*table.shape), "sinusoidal, same size"))
            for i, (col, (t, what)) in enumerate(zip(st.columns(2), pair)):
                with col:
                    show(vp.encoding_heatmap(t, title=f"{what}  ({t.shape[0]}×{t.shape[1]})",
                                             presenter=presenter, dark=dark,
                                             width=half(presenter)), key=f"pe_model_{i}")
                    show(vp.similarity_heatmap(cosine_similarity(t),
                                               title=f"cosine similarity: {what}",
                                               presenter=presenter, dark=dark,
                                               width=half(presenter)), key=f"pe_model_sim_{i}")
        elif pos == "rope":
            show(vp.similarity_heatmap(position_similarity(model),
                                       title=f"RoPE: similarity of positions in {name}",
                                       presenter=presenter, dark=dark, width=width(presenter)),
                 key="pe_model_rope")
    st.subheader("RoPE rotates each q/k pair by its position")
    left, right = st.columns([1, 2])
    d_head = int(left.select_slider("d_head", [2, 4, 8, 16, 32, 64, 128], 16, key="rope_d"))
    pair = int(left.number_input("Pair i", 0, d_head // 2 - 1, 0, key=f"rope_pair_{d_head}"))
    count = int(left.number_input("Positions", 1, 64, 12, key="rope_count"))
    left.caption("Pair i turns by θᵢ = 10000^(−2i/d) per position, keeping its length; q·k "
                 "then depends only on the distance j − i.")
    with right:
        show(vp.rope_rotation(rope_pair_track(count, d_head, pair), range(count),
                              presenter=presenter, dark=dark,
                              width=(width(presenter) - gap(presenter)) * 2 // 3),
             key="pe_rope")


def order(presenter: bool, dark: bool) -> None:
    """Shuffle the tokens of one attention head with and without PE; the sort task with and
    without positions."""
    n_tok = int(st.number_input("Tokens", 2, 32, 6, key="order_n"))
    with advanced():                                    # folded away when presenting
        b, c = st.columns(2)
        d_demo = int(b.number_input("d_model ", 1, 64, 8, key="order_d"))
        seed = int(c.number_input("Seed", 0, 10_000, 0, key="order_seed"))
    labels = [f"token {i}" for i in range(n_tok)]
    demos = [(what, permutation_demo(n_tok, d_demo, seed, positional=positional))
             for what, positional in (("Without PE", False), ("With sinusoidal PE", True))]
    for col, (what, demo) in zip(st.columns(2), demos):
        col.markdown(f"**{what}**")
        col.metric("max |output − un-shuffled output|", f"{demo['max_diff']:.2e}")
    for i, (what, demo) in enumerate(demos):           # full width: two maps side by side
        st.markdown(f"**{what}**")
        show(vp.order_demo(demo["out"], demo["out_unshuffled"], labels, presenter=presenter,
                           dark=dark, width=width(presenter)), key=f"pe_order_{i}")
    st.caption(f"Shuffle used: {demo['perm'].tolist()}. Without PE the output is merely "
               "permuted; with PE, moving a token changes what it computes.")
    st.subheader("The sort task with and without positions")
    zoo = {r["name"]: r["info"].get("metrics") or {}
           for r in list_checkpoints(models.CHECKPOINT_DIR) if r["error"] is None}
    for col, (name, what) in zip(st.columns(2), (("sort", "learned PE"), ("sort_nopos", "no PE"))):
        if not zoo.get(name):
            col.info(f"The `{name}` checkpoint ({what}) is not in the zoo yet." if name not in zoo
                     else f"`{name}` ({what}) has no recorded metrics.")
        for key, v in zoo.get(name, {}).items():
            col.metric(f"{name} ({what}) · {key}",
                       f"{v:.1%}" if isinstance(v, float) and 0 <= v <= 1 else v)
