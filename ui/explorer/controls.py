"""The explorer page's controls: the input box, the memoised inspection, the prediction and the
module / layer / head pickers.

Streamlit glue only: tensors come from core (task.inspect, core.analysis), nothing is computed on
them here. Widget keys (ui.state: "input", "module", "layer", "head") are bound to the URL query
string, so a link or a refresh reopens the same view; a value the URL gives that is not offered
(a layer the model lacks) is ignored and the remembered or first option is shown.
"""
from __future__ import annotations

from collections import OrderedDict

import pandas as pd
import streamlit as st

from core import analysis

from ..state import ABLATE, AUTO_SCALE, HEAD, INPUT, LAYER, MODULE
from ..widgets import PageInput, clamp, file_version, layer_head_pickers, memo

# (side, kind) -> the user-facing name of an attention kind, in display order.
GROUPS = OrderedDict([
    ("encoder.self_attn", "Encoder self-attention"),
    ("decoder.self_attn", "Decoder masked self-attention"),
    ("decoder.cross_attn", "Cross-attention (decoder → encoder)"),
])
SHORT = {"encoder.self_attn": "self_attn", "decoder.self_attn": "self_attn",
         "decoder.cross_attn": "cross_attn"}
HARD_CAP = 6000                     # characters: the box refuses more, whatever the task
MEMO_KEY = "explorer_memo"          # this page's inspections, per user (ui.widgets.memo)
TASK_KEY = "explorer_task"          # the task shown last: a new one resets the selection
RESET_KEY = "explorer_reset"        # set by input_box, read (once) by pick_head
SAMPLE_KEY = "sample"               # the sample picker of a task with numbered samples


def group_of(name: str) -> str:
    info = analysis.parse_name(name)
    return f"{info['side']}.{info['kind']}"


def groups(names) -> dict:
    """{group key: [module names ordered by layer]} for the attention names of a model."""
    out = {}
    for name in names:
        out.setdefault(group_of(name), []).append(name)
    for key in out:
        out[key].sort(key=lambda n: analysis.parse_name(n)["layer"])
    return {k: out[k] for k in GROUPS if k in out}


def head_label(name: str, head: int, several_sides: bool) -> str:
    """'L0 H1 self_attn', or 'dec L1 H0 cross_attn' when a model has an encoder and a decoder."""
    info = analysis.parse_name(name)
    side = f"{info['side'][:3]} " if several_sides else ""
    return f"{side}L{info['layer']} H{head} {info['kind']}"


# ----------------------------------------------------------------------------- input
def _box_limit(task) -> int:
    """Characters the box accepts: room for separators and a message, never unbounded."""
    return min(HARD_CAP, 60 * int(task.max_input_len))


def input_box(task):
    """The task's input box with example buttons -> (text, parsed example) or (text, None)."""
    previous = st.session_state.get(TASK_KEY)
    if previous is not None and previous != task.name:     # another task: its own defaults
        st.session_state.pop(ABLATE, None)
        st.session_state[RESET_KEY] = True                  # pick_head resets the selection
    st.session_state[TASK_KEY] = task.name
    default = task.examples[0] if task.examples else ""
    field = PageInput("explorer", task, default)
    samples = task.fixed_examples()          # held-out examples offered by number (sine)
    box = st
    if samples:
        pick, box = st.columns([1, 3])
        shown = samples.number(st.session_state[INPUT])
        st.session_state[SAMPLE_KEY] = shown if shown is not None else \
            min(int(st.session_state.get(SAMPLE_KEY, 0) or 0), len(samples) - 1)
        pick.number_input(f"Sample (0 to {len(samples) - 1})", 0, len(samples) - 1,
                          key=SAMPLE_KEY, help=task.description, on_change=lambda: field.put(
                              samples.input(st.session_state[SAMPLE_KEY])))
    label = task.input_label or f"Input for **{task.title}**"
    # max_chars is a constant: it is part of the widget's identity, and a new identity would
    # let a stale ?input= in the URL override the new task's default. The task's own limit is
    # checked below.
    text = field.box(box, label, max_chars=HARD_CAP, placeholder=f"e.g. {default}",
                     help=task.description)
    if task.examples and not samples:
        with st.container(horizontal=True, gap="small"):
            st.caption("Examples:", width="content")
            for i, ex in enumerate(task.examples):
                st.button(ex, key=f"example_{i}", type="tertiary", on_click=field.put,
                          args=(ex,))
    try:
        if len(text) > _box_limit(task):
            raise ValueError(f"too long: at most {task.max_input_len} tokens")
        return text, task.parse(text)
    except ValueError as e:
        st.error(f"Cannot use this input: {e}", icon=":material/error:")
        return text, None


# ----------------------------------------------------------------------------- inspection
def inspection(row, model, task, text: str, off=()):
    """task.inspect(...) with scores, memoised per user by (checkpoint, file version, text,
    ablated heads) so widget changes that keep the input do not rerun the model. None (and a
    message shown) when the model cannot run."""
    off = tuple(sorted(off))

    def run():
        mask = analysis.head_mask(model, off=off) if off else None
        return task.inspect(model, task.parse(text), head_mask=mask, return_scores=True)

    try:
        return memo(MEMO_KEY, (row["path"], file_version(row["path"]), text, off), run)
    except ValueError as e:
        st.error(f"The model cannot run on this input: {e}", icon=":material/error:")
        return None


# ----------------------------------------------------------------------------- prediction
def _fmt(v) -> str:
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def show_prediction(ins, label: str = "Prediction") -> None:
    """The prediction, checked against the right answer where the task can tell it
    (Inspection.expected); a forecast as a chart."""
    if ins.forecast is not None:
        forecast(ins.forecast, label)
        return
    pred, truth = ins.prediction, ins.expected
    if pred is None:                  # a model without a head (a bare pretrained encoder)
        return
    shown = " ".join(map(_fmt, pred)) if isinstance(pred, (list, tuple)) else str(pred)
    verdict = ""
    if truth is not None:
        right = " ".join(map(str, truth)) if isinstance(truth, list) else truth
        verdict = (" :green[:material/check_circle: correct]" if pred == truth else
                   f" :red[:material/cancel: wrong, expected] `{right}`")
    if ins.confidence:
        verdict += f" · lowest character confidence {min(ins.confidence):.0%}"
    st.markdown(f"**{label}:** `{shown or '(empty)'}`{verdict}")
    if ins.prompt_len is not None and label == "Prediction":
        st.caption("A decoder writes its answer one token at a time; the maps show the whole "
                   f"sequence as the model saw it, prompt and answer: `{' '.join(ins.tokens)}`")


def forecast(f, label: str) -> None:
    """A real-valued forecast (core.tasks.base.Forecast): inputs, forecast, truth, baseline."""
    inputs, pred = list(f.inputs), list(f.forecast)
    n, k = len(inputs), len(pred)
    pad = [None] * n
    table = {"input": inputs + [None] * k, "forecast": pad + pred}
    if f.truth is not None:
        table["truth"] = pad + list(f.truth)
    if f.baseline is not None:
        table[f"repeat last period ({f.period if f.period is not None else '?'})"] = \
            pad + list(f.baseline)
    scores = ""
    if f.truth is not None and f.baseline is not None:
        mse = sum((a - b) ** 2 for a, b in zip(pred, f.truth)) / k
        base = sum((a - b) ** 2 for a, b in zip(f.baseline, f.truth)) / k
        scores = f" · MSE against the truth {mse:.4f}, repeating the last period {base:.4f}"
    st.markdown(f"**{label}:** the next {k} values{scores}")
    st.line_chart(pd.DataFrame(table), height=220, x_label="t", y_label="value")


# ----------------------------------------------------------------------------- selection
def pick_head(model, ins):
    """Module kind, layer and head selectboxes -> (group, layer, head, module name)."""
    by_group = groups(ins.attention)
    keys = list(by_group)
    if st.session_state.pop(RESET_KEY, False):
        # Overwritten, not deleted: a deleted bound widget would take the old ?layer= back.
        st.session_state.update({MODULE: None, LAYER: None, HEAD: None})
    clamp(MODULE, keys, default="decoder.cross_attn")       # the alignment figure first
    c1, c2, c3, c4 = st.columns([3, 1, 1, 1.3], vertical_alignment="bottom")
    group = c1.selectbox("Attention", keys, key=MODULE, format_func=GROUPS.get,
                         disabled=len(keys) == 1, bind="query-params")
    layer, head = layer_head_pickers(c2, c3, len(by_group[group]), model.cfg.n_heads)
    c4.toggle("auto scale", key=AUTO_SCALE,
              help="Stretch the colours over this head's own range instead of 0 to 1")
    return group, layer, head, by_group[group][layer]


def select(group: str, layer: int, head: int) -> None:
    """Set the shown head (call from a widget callback, before the pickers are drawn)."""
    st.session_state.update({MODULE: group, LAYER: int(layer), HEAD: int(head)})
