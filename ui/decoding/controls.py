"""The masked-decoding page's controls: the input box, the decoding settings, the memoised trace,
the step controls and the layer / head pickers.

Streamlit only: the trace comes from core.decode.decode_trace. The trace is computed once per (model, input, settings) and kept
per user in st.session_state; stepping only re-renders. Widget keys: "input", "layer", "head"
(ui.state) and STEP, bound to the URL query string (a link reopens the same step), and "dec_*"
for the decoding settings. Keys: ← / → step, Home / End jump (st.button shortcuts).
"""
from __future__ import annotations

import dataclasses

import streamlit as st

from core import analysis
from core.decode import decode_trace

from ..widgets import PageInput, file_version, layer_head_pickers, memo

MEMO_KEY = "decoding_memo"            # this page's traces, per user (ui.widgets.memo)
WHERE_KEY = "decoding_where"         # (checkpoint, input) of the trace shown: a new one -> step 1
LEN_FOR = "decoding_len_for"         # the checkpoint the length limit was set for
STEP = "step"                        # URL: the step shown (1-based)
PLAYING, TIMER = "dec_playing", "dec_timer"   # Play is on / the step fragment has its timer
HARD_CAP = 1000                      # characters: the box refuses more, whatever the task
PLAY_EVERY = 0.6                     # seconds between steps while playing
SEED_MAX = 2**31 - 1


def bound(key: str, lo, hi, default, cast=float) -> None:
    """Put a remembered (or URL-given) widget value inside its bounds before the widget is drawn."""
    try:
        value = cast(st.session_state.get(key, default))
    except (TypeError, ValueError):
        value = default
    st.session_state[key] = min(max(value, lo), hi)


# ----------------------------------------------------------------------------- input
def input_box(task):
    """The task's input box with example buttons -> the parsed example, or None (message shown)."""
    default = task.examples[0] if task.examples else ""
    field = PageInput("decoding", task, default)
    limit = min(HARD_CAP, 4 * int(task.max_input_len) + 16)
    # A constant max_chars keeps the widget's identity (and its URL binding) across tasks;
    # the task's own limit is checked below.
    text = field.box(st, f"Prompt for **{task.title}**", max_chars=HARD_CAP,
                     placeholder=f"e.g. {default}", help=task.description)
    if task.examples:
        with st.container(horizontal=True, gap="small"):
            st.caption("Examples:", width="content")
            for i, ex in enumerate(task.examples):
                st.button(ex, key=f"dec_example_{i}", type="tertiary", on_click=field.put,
                          args=(ex,))
    try:
        if len(text) > limit:
            raise ValueError(f"too long: at most {task.max_input_len} tokens")
        return text, task.decoding_setup(task.parse(text))
    except ValueError as e:
        st.error(f"Cannot decode this input: {e}", icon=":material/error:")
        return text, None


# ----------------------------------------------------------------------------- settings
def settings(row, model, setup) -> dict:
    """Greedy or sampling, temperature, top-k, top-p, seed and the length limit, all bounded.
    The length limit starts at the task's own for each model."""
    if st.session_state.get(LEN_FOR) != row["path"]:
        st.session_state[LEN_FOR] = row["path"]
        st.session_state.pop("dec_len", None)
    regression = getattr(model, "regression", False)
    if model.kind == "seq2seq":
        most = model.cfg.max_len - 1
    else:
        most = model.cfg.max_len - setup.prompt.size(1) + (1 if regression else 0)
    most = max(1, most)
    V = 0 if regression else int(getattr(model.cfg, "tgt_vocab_size", 0) or model.cfg.vocab_size)
    bound("dec_len", 1, most, min(setup.max_new_tokens, most), int)
    bound("dec_temp", 0.1, 3.0, 1.0)
    bound("dec_topk", 0, V, 0, int)
    bound("dec_topp", 0.05, 1.0, 1.0)
    bound("dec_seed", 0, SEED_MAX, 0, int)
    if st.session_state.get("dec_mode") not in ("greedy", "sample"):
        st.session_state["dec_mode"] = "greedy"
    with st.expander("Decoding settings", expanded=False, icon=":material/tune:"):
        c1, c2, c3, c4, c5, c6 = st.columns([1.3, 1.2, 1, 1.2, 1.2, 1.2])
        mode = c1.radio("Choice", ["greedy", "sample"], key="dec_mode", disabled=regression,
                        format_func={"greedy": "greedy (argmax)", "sample": "sample"}.get,
                        help="Greedy takes the most likely token; sampling draws one from the "
                             "probabilities (after temperature, top-k and top-p).")
        off = mode == "greedy" or regression
        c2.slider("Temperature", 0.1, 3.0, step=0.1, key="dec_temp", disabled=off,
                  help="Divides the logits: below 1 sharper, above 1 flatter")
        c3.number_input("Top-k", 0, max(V, 0), step=1, key="dec_topk", disabled=off,
                        help="Keep only the k most likely tokens (0 = all)")
        c4.slider("Top-p", 0.05, 1.0, step=0.05, key="dec_topp", disabled=off,
                  help="Keep the fewest tokens whose probabilities add up to p (1 = all)")
        c5.number_input("Seed", 0, SEED_MAX, step=1, key="dec_seed", disabled=off,
                        help="The same seed draws the same tokens again")
        c6.number_input("Length limit", 1, most, step=1, key="dec_len",
                        help=f"Stop after this many new tokens (at most {most} for this model)")
    greedy = off
    n = int(st.session_state["dec_len"])
    if regression:
        st.caption(f"Up to {n} new values. A real-valued decoder has no token probabilities: "
                   "each step's value is fed back in as the next input.")
    elif greedy:
        st.caption(f"Greedy decoding (always the most likely token), up to {n} new tokens.")
    else:
        k, top_p = int(st.session_state["dec_topk"]), float(st.session_state["dec_topp"])
        st.caption(f"Sampling at temperature {st.session_state['dec_temp']:.1f}"
                   + (f", top-k {k}" if k else "") + (f", top-p {top_p:.2f}" if top_p < 1 else "")
                   + f", seed {int(st.session_state['dec_seed'])}, up to {n} new tokens.")
    return dict(greedy=greedy, temperature=1.0 if greedy else float(st.session_state["dec_temp"]),
                top_k=None if greedy or not st.session_state["dec_topk"] else
                int(st.session_state["dec_topk"]),
                top_p=None if greedy or st.session_state["dec_topp"] >= 1 else
                float(st.session_state["dec_topp"]),
                seed=int(st.session_state["dec_seed"]), max_new=int(st.session_state["dec_len"]))


# ----------------------------------------------------------------------------- the trace
def trace(row, model, text: str, setup, options: dict):
    """decode_trace(...) memoised per user by (checkpoint, file version, text, settings); None
    (and a message shown) when the model cannot decode this input. A new model or input starts
    at step 1."""
    sampling = {k: v for k, v in options.items() if k != "max_new"}
    key = (row["path"], file_version(row["path"]), text, tuple(sorted(options.items())))
    try:
        tr = memo(MEMO_KEY, key, lambda: decode_trace(model, dataclasses.replace(
            setup, max_new_tokens=options["max_new"]), **sampling))
    except ValueError as e:
        st.error(f"The model cannot decode this input: {e}", icon=":material/error:")
        return None
    where = (row["path"], text)
    if st.session_state.get(WHERE_KEY) != where:
        st.session_state[WHERE_KEY] = where
        st.session_state[STEP] = 1
        st.session_state[PLAYING] = False
    return tr


# ----------------------------------------------------------------------------- stepping
def _go(n: int, delta: int | None = None, to: int | None = None) -> None:
    step = int(st.session_state.get(STEP, 1))
    st.session_state[STEP] = min(max(to if to is not None else step + delta, 1), n)
    st.session_state[PLAYING] = False


def _play(n: int) -> None:
    playing = not st.session_state.get(PLAYING, False)
    if playing and int(st.session_state.get(STEP, 1)) >= n:
        st.session_state[STEP] = 0                 # at the end: play again from the start
    st.session_state[PLAYING] = playing


def playing() -> bool:
    """Whether Play is on; the page registers its step fragment with a timer while it is."""
    on = bool(st.session_state.get(PLAYING, False))
    st.session_state[TIMER] = on
    return on


def step_controls(n: int) -> int:
    """Back / Next / End / Play buttons and the step slider -> the 0-based step shown."""
    bound(STEP, 1, max(n, 1), 1, int)
    if st.session_state.get(PLAYING, False) != st.session_state.get(TIMER, False):
        st.rerun()                                   # a full run starts or stops the timer
    if st.session_state.get(PLAYING):          # one step per timed fragment run
        st.session_state[STEP] = min(int(st.session_state[STEP]) + 1, n)
        if st.session_state[STEP] >= n:
            st.session_state[PLAYING] = False   # the next run stops the timer
    step = int(st.session_state[STEP])
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.button("Start", key="dec_start", on_click=_go, args=(n,), kwargs={"to": 1},
                  icon=":material/first_page:", disabled=step <= 1, shortcut="Home",
                  help="First step (Home key)")
        st.button("◀ Back", key="dec_back", on_click=_go, args=(n, -1), disabled=step <= 1,
                  shortcut="Left", help="One step back (← key)")
        st.button("Next ▶", key="dec_next", on_click=_go, args=(n, 1), disabled=step >= n,
                  shortcut="Right", help="One step forward (→ key)")
        st.button("End", key="dec_end", on_click=_go, args=(n,), kwargs={"to": n},
                  icon=":material/last_page:", disabled=step >= n, shortcut="End",
                  help="Last step (End key)")
        playing = st.session_state.get(PLAYING, False)
        st.button("Pause" if playing else "Play", key="dec_play", on_click=_play, args=(n,),
                  icon=":material/pause:" if playing else ":material/play_arrow:",
                  disabled=n <= 1)
    if n > 1:
        st.slider("Step", 1, n, key=STEP, on_change=st.session_state.update,
                  kwargs={PLAYING: False}, bind="query-params")
    return step - 1


def layer_head(model, tr) -> tuple[int, int, list, list]:
    """Layer and head pickers -> (layer, head, self-attention names, cross-attention names)."""
    first = tr.steps[0]
    order = lambda names: sorted(names, key=lambda n: analysis.parse_name(n)["layer"])  # noqa
    selfs, crosses = order(first.attention), order(first.cross)
    c1, c2, _ = st.columns([1, 1, 4])
    layer, head = layer_head_pickers(c1, c2, len(selfs), model.cfg.n_heads, "Decoder layer")
    return layer, head, selfs, crosses
