"""The masked-decoding page's decoding settings: greedy or sampling, temperature, top-k, top-p,
seed and the length limit, each kept in the URL so a link replays the same generation.

Every setting is a widget Streamlit can seed from a link safely: a radio, float sliders and
select_sliders (an int st.number_input bound to the URL raises OverflowError on ?x=inf in
Streamlit 1.67, so there is none here). A value from an old session is put back inside its
bounds before the widget is drawn; a link's junk value is dropped by Streamlit (the widget shows
its default). The returned options are read after the widgets, so they are what the widgets
show. The length limit starts at the task's own for each model.
"""
from __future__ import annotations

import streamlit as st

MODE, TEMP, TOP_K, TOP_P, SEED, LENGTH = ("dec_mode", "dec_temp", "dec_topk", "dec_topp",
                                          "dec_seed", "dec_len")        # URL keys
LEN_FOR = "decoding_len_for"         # the model the length limit was set for
MODES = ["greedy", "sample"]
TOP_K_STOPS = (0, 1, 2, 3, 5, 10, 20, 40, 50, 100, 200, 500, 1000)   # 0 = every token
SEED_MAX = 999
LENGTH_CAP = 64                      # new tokens at most: steps a class can follow by hand


def _fix(key: str, value) -> None:
    """Write a corrected value only where the remembered one differs from it (an old session,
    a shorter vocabulary): a value written on every run would be pushed into the URL too."""
    if key in st.session_state and st.session_state[key] != value:
        st.session_state[key] = value


def _number(key: str, lo, hi, default, cast=float) -> None:
    """Keep a remembered value inside [lo, hi] (default when it is not a number)."""
    if key not in st.session_state:
        return
    try:
        value = cast(st.session_state[key])
        if value != value:                                   # NaN
            value = default
    except (TypeError, ValueError, OverflowError):
        value = default
    _fix(key, min(max(value, lo), hi))


def _nearest(key: str, options: list) -> None:
    """Put a remembered value on the nearest option at or below it (the first if none)."""
    if key not in st.session_state:
        return
    try:
        value = int(st.session_state[key])
    except (TypeError, ValueError, OverflowError):
        value = options[0]
    below = [o for o in options if o <= value]
    _fix(key, below[-1] if below else options[0])


def most_new_tokens(model, setup) -> int:
    """The longest generation this model has room for after this prompt (at least 1)."""
    if model.kind == "seq2seq":
        room = model.cfg.max_len - 1
    else:
        room = model.cfg.max_len - setup.prompt.size(1) + (
            1 if getattr(model, "regression", False) else 0)
    return max(1, min(int(room), LENGTH_CAP))


def settings(row, model, setup) -> dict:
    """The settings expander -> dict(greedy, temperature, top_k, top_p, seed, max_new)."""
    regression = getattr(model, "regression", False)
    most = most_new_tokens(model, setup)
    own = max(1, min(int(setup.max_new_tokens), most))       # the task's own length limit
    if st.session_state.get(LEN_FOR) != row["path"]:          # a new model: its own limit
        if st.session_state.get(LEN_FOR) is not None:         # (a link's ?dec_len= on a fresh
            st.session_state[LENGTH] = own                    # load still seeds the widget)
        st.session_state[LEN_FOR] = row["path"]
    V = 0 if regression else int(getattr(model.cfg, "tgt_vocab_size", 0) or
                                 model.cfg.vocab_size)
    stops = [k for k in TOP_K_STOPS if k <= V] or [0]
    lengths = list(range(1, most + 1))
    _number(TEMP, 0.1, 3.0, 1.0)
    _number(TOP_P, 0.05, 1.0, 1.0)
    _number(SEED, 0, SEED_MAX, 0, int)
    _nearest(TOP_K, stops)
    _nearest(LENGTH, lengths)
    if MODE in st.session_state and st.session_state[MODE] not in MODES:
        st.session_state[MODE] = MODES[0]
    # Each widget gets its default as `value` (the same on every run) and the remembered value
    # through session state, so a value equal to the default stays out of the URL.
    with st.expander("Decoding settings", expanded=False, icon=":material/tune:"):
        c1, c2, c3 = st.columns(3)
        mode = c1.radio("Choice", MODES, index=0, key=MODE, disabled=regression, horizontal=True,
                        bind="query-params",
                        help="greedy: always the most likely token. sample: draw one from the "
                             "probabilities (after temperature, top-k and top-p).")
        off = mode == "greedy" or regression
        c1.select_slider("Length limit", lengths, value=own, key=LENGTH, bind="query-params",
                         help=f"Stop after this many new tokens (at most {most} here)")
        c2.slider("Temperature", 0.1, 3.0, value=1.0, step=0.1, key=TEMP, disabled=off,
                  bind="query-params", help="Divides the logits: below 1 sharper, above 1 "
                                            "flatter")
        c2.select_slider("Top-k", stops, value=0, key=TOP_K, disabled=off, bind="query-params",
                         format_func=lambda k: "all" if k == 0 else str(k),
                         help="Keep only the k most likely tokens")
        c3.slider("Top-p", 0.05, 1.0, value=1.0, step=0.05, key=TOP_P, disabled=off, bind="query-params",
                  help="Keep the fewest tokens whose probabilities add up to p (1 = all)")
        c3.slider("Seed", 0, SEED_MAX, value=0, key=SEED, disabled=off, bind="query-params",
                  help="The same seed draws the same tokens again")
    s = st.session_state
    n, k, top_p = int(s[LENGTH]), int(s[TOP_K]), float(s[TOP_P])
    if regression:
        st.caption(f"Up to {n} new values. A real-valued decoder has no token probabilities: "
                   "each step's value is fed back in as the next input.")
    elif off:
        st.caption(f"Greedy decoding (always the most likely token), up to {n} new tokens.")
    else:
        st.caption(f"Sampling at temperature {float(s[TEMP]):.1f}"
                   + (f", top-k {k}" if k else "") + (f", top-p {top_p:.2f}" if top_p < 1 else "")
                   + f", seed {int(s[SEED])}, up to {n} new tokens.")
    return dict(greedy=off, temperature=1.0 if off else float(s[TEMP]),
                top_k=None if off or not k else k,
                top_p=None if off or top_p >= 1 else top_p,
                seed=int(s[SEED]), max_new=n)
