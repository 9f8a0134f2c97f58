"""The ViT page's controls: its state keys, the links' numbers read safely, the cost check, the
memoised model runs, and the pickers (layer / head / query, the class, hard attention).

Streamlit glue only: the model runs through task.inspect and core.grad_rollout, inside
core.safe_run; every URL parameter is either bound to a widget that validates it (selectboxes,
slider, segmented controls, tabs) or read here by `url_index` (the numbers: a number input bound
to the URL would turn ?image=1e309 into an OverflowError), so a link can never raise.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re

import numpy as np
import streamlit as st

from core.budget import check, config_cost
from core.grad_rollout import grad_rollout
from core.safe_run import safe_run

from ..state import DISCARD, FUSION, HEAD, LAYER, QUERY
from ..theme import dark as chosen_dark
from ..widgets import clamp, file_version, layer_head_pickers, memo

MEMO_KEY = "vit_memo"                   # this page's inspections, per user (ui.widgets.memo)
GRAD_MEMO = "vit_grad_memo"             # class maps (gradient-weighted rollout), per user
IMAGE = "image"                         # URL: the test image shown (read by url_index)
VIEW = "vit_view"                       # URL: the open tab
CLASS = "vit_class"                     # URL: the class of the class-specific map
HARD = "vit_hard"                       # URL: how hard attention picks ("argmax" | "sample")
SEED = "vit_seed"                       # URL: the seed of a sampled pick (read by url_index)
HEADS = "vit_heads"                     # URL: the heads shown soft vs hard
PEN = "vit_pen"                         # the canvas's pen width
PEN_COLOUR = "vit_pen_colour"
SOURCE = "vit_source"
KEPT = (LAYER, HEAD, QUERY, FUSION, DISCARD, PEN, PEN_COLOUR, IMAGE, CLASS, HARD, SEED, HEADS)
FUSIONS = ("mean", "max", "min")
HARD_MODES = {"argmax": "the most attended patch", "sample": "a patch drawn from the weights"}
MAX_SEED = 9999
WHAT = "The ViT page"                   # names the run in safe_run's messages


def keep_state() -> None:
    """Keep the view's choices across runs that do not draw them (another tab, an empty
    canvas): those widgets take their defaults from here, never from a value= argument."""
    for key in KEPT:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    st.session_state.setdefault(FUSION, "mean")
    st.session_state.setdefault(DISCARD, 0.0)
    st.session_state.setdefault(HARD, "argmax")


def dark() -> bool:
    """Figures for the dark theme: the sidebar's Theme choice (?theme=dark), else the browser's."""
    return chosen_dark()


# ----------------------------------------------------------------------------- links
def parse_index(raw, count: int) -> int:
    """A link's number -> an index in 0..count-1; anything else (empty, "1e309", "nan", "-4",
    "3.5", a huge or non-ASCII number) -> 0."""
    text = str(raw if raw is not None else "").strip()
    if re.fullmatch(r"[0-9]{1,9}", text) and int(text) < count:
        return int(text)
    return 0


def url_index(key: str, count: int) -> None:
    """Put the link's number for `key` in session state on this session's first run (later
    the widget's own value), clamped to 0..count-1, before the widget is drawn."""
    if key not in st.session_state:
        st.session_state[key] = parse_index(st.query_params.get(key), count)
    value = st.session_state[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < count:
        st.session_state[key] = 0


def write_url(key: str, value: int, default: int = 0) -> None:
    """Keep `key` in the URL (absent at its default), so a reload or a shared link reopens it."""
    want = None if value == default else str(int(value))
    if st.query_params.get(key) != want:
        if want is None:
            del st.query_params[key]
        else:
            st.query_params[key] = want


# ----------------------------------------------------------------------------- running
def within_budget(model) -> bool:
    """False (with the message shown) when one image through this model would need more
    memory than the limit (core.budget: layers × heads × (1 + patches)² attention and more)."""
    try:
        check(config_cost(model.cfg), what="One image through this model",
              advice="choose a ViT with fewer patches (a smaller image or larger patches), "
                     "fewer heads or fewer layers")
    except ValueError as e:
        st.error(str(e), icon=":material/memory:")
        return False
    return True


def digest(example) -> str:
    if isinstance(example, str):
        return example
    if isinstance(example, (bytes, bytearray, memoryview)):
        return hashlib.sha1(bytes(example)).hexdigest()
    arr = np.ascontiguousarray(example)
    return f"{arr.shape}:{arr.dtype}:{hashlib.sha1(arr.tobytes()).hexdigest()}"


def _run_key(row, example) -> tuple:
    return row["path"], file_version(row["path"]), digest(example)


def inspection(row, model, task, example):
    """task.inspect(model, example), memoised per user by (model, file version, image); None
    with a message shown when the image cannot be used or the run fails."""
    try:
        return memo(MEMO_KEY, _run_key(row, example),
                    lambda: safe_run(task.inspect, model, example, what=WHAT))
    except ValueError as e:
        st.error(f"The model cannot use this image: {e}", icon=":material/error:")
        return None


def class_map(row, model, example, pixels, target: int):
    """core.grad_rollout for `target`, memoised; None with the message shown when refused
    (the budget: the backward pass keeps every layer) or failed."""
    cost = config_cost(model.cfg)
    backward = dataclasses.replace(cost, working_bytes=2 * cost.working_bytes
                                   + 2 * cost.weights_bytes)            # kept for the gradient
    try:
        check(backward, what="The class map of this model",
              advice="use plain rollout, or a smaller ViT")
        return memo(GRAD_MEMO, (*_run_key(row, example), int(target)),
                    lambda: safe_run(grad_rollout, model, pixels, target=int(target),
                                     what=WHAT), size=4)
    except ValueError as e:
        st.error(f"No class map: {e}", icon=":material/error:")
        return None


# ----------------------------------------------------------------------------- pickers
def query_options(n_patches: int) -> list[str]:
    return ["CLS"] + [f"patch {k}" for k in range(n_patches)]


def pick_head(where, model, n_patches: int, query: bool = True):
    """Layer, head (and query) selectboxes -> (layer, head, query token index, 0 = CLS)."""
    c1, c2, c3 = where.columns([1, 1, 2])
    layer, head = layer_head_pickers(c1, c2, model.cfg.n_layers, model.cfg.n_heads)
    if not query:
        return layer, head, 0
    queries = query_options(n_patches)
    clamp(QUERY, queries)
    chosen = c3.selectbox("Query token (or click a patch)", queries, key=QUERY,
                          bind="query-params",
                          help="The token whose attention row is drawn: CLS, which the "
                               "classifier reads, or one patch (row-major)")
    return layer, head, queries.index(chosen)


def class_labels(names) -> list[str]:
    """Class names made unique for a picker ("crane" twice becomes "crane (#134)")."""
    seen = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    return [n if seen[n] == 1 else f"{n} (#{i})" for i, n in enumerate(names)]


def pick_class(where, names, predicted: int) -> int:
    """The class picker of the class-specific map -> a class index (the predicted by default)."""
    labels = class_labels(names)
    options = ["the predicted class"] + labels
    clamp(CLASS, options)
    chosen = where.selectbox("Class to explain", options, key=CLASS, bind="query-params",
                             help="Gradient-weighted rollout shows where the model found "
                                  "evidence for this class")
    return predicted if chosen == options[0] else labels.index(chosen)


def pick_hard(where, n_heads: int, head: int):
    """How hard attention picks and which heads are shown -> (mode, seed, heads)."""
    c1, c2, c3 = where.columns([2, 1, 2])
    mode = c1.segmented_control("Hard attention takes", list(HARD_MODES), key=HARD,
                                required=True, bind="query-params",
                                help="argmax: " + HARD_MODES["argmax"] + "; sample: "
                                     + HARD_MODES["sample"]) or "argmax"
    url_index(SEED, MAX_SEED + 1)
    seed = int(c2.number_input("Seed", 0, MAX_SEED, step=1, key=SEED,
                               disabled=mode != "sample",
                               help="The same seed draws the same patches"))
    write_url(SEED, seed)
    heads = list(range(n_heads))
    if n_heads <= 4:
        return mode, seed, heads
    st.session_state.setdefault(HEADS, sorted([head] + [h for h in heads if h != head][:3]))
    picked = c3.multiselect("Heads", heads, key=HEADS, bind="query-params", max_selections=6)
    return mode, seed, sorted(picked) or [head]
