"""The explorer page's controls: the input box with its examples, and the attention kind /
layer / head pickers with the special-token and colour-scale toggles.

Streamlit glue only. Widget keys (ui.state: "input", "module", "layer", "head"; "show_special")
are bound to the URL query string, so a link or a refresh reopens the same view; a value the
URL gives that is not offered (a layer the model lacks) is ignored and the remembered or default
option is shown. The page is laid out to keep the map high on a 1280×720 screen: the examples
fold into a popover beside the box, the pickers share one row.
"""
from __future__ import annotations

from collections import OrderedDict

import streamlit as st

from core import analysis

from ..state import ABLATE, AUTO_SCALE, HEAD, INPUT, LAYER, MODULE
from ..widgets import PageInput, clamp, layer_head_pickers
from . import shown as sh

# (side, kind) -> the user-facing name of an attention kind, in display order.
GROUPS = OrderedDict([
    ("encoder.self_attn", "Encoder self-attention"),
    ("decoder.self_attn", "Decoder masked self-attention"),
    ("decoder.cross_attn", "Cross-attention"),
])
KIND_NAMES = {"encoder.self_attn": "encoder self", "decoder.self_attn": "decoder self",
              "decoder.cross_attn": "cross-attention"}      # short, for the picker
HARD_CAP = 6000                     # characters: the box refuses more, whatever the task
TASK_KEY = "explorer_task"          # the task shown last: a new one resets the selection
RESET_KEY = "explorer_reset"        # set by input_box, read (once) by pick_head
SAMPLE_KEY = "sample"               # the sample picker of a task with numbered samples
OPENED_KEY = "explorer_opened"      # the selection has been set once in this session


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


# ----------------------------------------------------------------------------- layout
class TopRows:
    """The controls' two rows, so the map starts high on a 1280×720 screen: the input box, its
    examples (or sample picker) and the attention kind / layer / head pickers on one row; the
    prediction and the view toggles on the next."""

    def __init__(self, model, task):
        several = len(groups(model.attention_names())) > 1
        side = 1.3 if task.fixed_examples() else 0.6
        widths = [3.4 if several else 5, side] + ([2.3] if several else []) + [0.9, 0.9]
        cols = st.columns(widths, vertical_alignment="bottom")
        self.input, self.side = cols[0], cols[1]
        self.kind = cols[2] if several else None
        self.layer, self.head = cols[-2], cols[-1]
        self.pred = self.toggles = None

    def second(self, ins) -> None:
        """The second row: the prediction (when there is one) beside the view toggles; a
        forecast chart takes the whole width, the toggles below it."""
        if ins.forecast is not None:
            self.pred, self.toggles = st.container(), st.container()
        elif ins.prediction is not None:     # the toggles: auto scale, and show specials
            right = 2.2 if any(ins.special or ()) else 1.5     # "auto scale" whole on a projector
            self.pred, self.toggles = st.columns([4, right], vertical_alignment="center")
        else:
            self.pred = self.toggles = st.container()


# ----------------------------------------------------------------------------- input
def box_message(task, text: str) -> str | None:
    """Why the box refuses `text` before the task reads it (too many characters), or None."""
    if len(text) <= HARD_CAP:
        return None
    return (f"the text is {len(text):,} characters long; the box takes at most {HARD_CAP:,} "
            f"(this model reads at most {task.max_input_len:,} "
            f"{'tokens' if getattr(task, 'pretrained', None) is not None else 'items'})")


def input_box(task, top: TopRows) -> str:
    """The task's input box, its examples (a popover beside it) or sample picker -> the text."""
    previous = st.session_state.get(TASK_KEY)
    if previous is not None and previous != task.name:     # another task: its own defaults
        st.session_state.pop(ABLATE, None)
        st.session_state[RESET_KEY] = True                  # pick_head resets the selection
    st.session_state[TASK_KEY] = task.name
    default = task.examples[0] if task.examples else ""
    field = PageInput("explorer", task, default)
    samples = task.fixed_examples()          # held-out examples offered by number (sine)
    box, side = top.input, top.side
    label = task.input_label or f"Input for **{task.title}**"
    # max_chars is a constant: it is part of the widget's identity, and a new identity would
    # let a stale ?input= in the URL override the new task's default. The task's own limit is
    # checked by its parse().
    text = field.box(box, label, max_chars=HARD_CAP, placeholder=f"e.g. {default}",
                     help=task.description)
    if samples:
        shown = samples.number(st.session_state[INPUT])
        st.session_state[SAMPLE_KEY] = shown if shown is not None else \
            min(int(st.session_state.get(SAMPLE_KEY, 0) or 0), len(samples) - 1)
        side.number_input(f"Sample (0–{len(samples) - 1})", 0, len(samples) - 1,
                          key=SAMPLE_KEY, help=task.description, on_change=lambda: field.put(
                              samples.input(st.session_state[SAMPLE_KEY])))
    elif task.examples:
        with side.popover("", icon=":material/list:", help="Examples", width="stretch"):
            for i, ex in enumerate(task.examples):
                st.button(ex, key=f"example_{i}", type="tertiary", on_click=field.put,
                          args=(ex,))
    return text


# ----------------------------------------------------------------------------- selection
def _reset_to(default: tuple | None) -> None:
    """Put the selection on `default` (group, layer, head), or clear it (None)."""
    group, layer, head = default or (None, None, None)
    # Overwritten, not deleted: a deleted bound widget would take the old ?layer= back.
    st.session_state.update({MODULE: group, LAYER: layer, HEAD: head})


def pick_head(model, ins, top: TopRows, default: tuple | None = None):
    """Attention kind, layer and head pickers (in the top row) and the view toggles (in the
    second) -> (group, layer, head, module name, Shown). default (group, layer, head): where
    a newly opened model starts (else the cross-attention, if any, at layer 0, head 0); a
    link's ?module=&layer=&head= still wins on a fresh load."""
    by_group = groups(ins.attention)
    keys = list(by_group)
    fresh = not st.session_state.get(OPENED_KEY)
    if st.session_state.pop(RESET_KEY, False) or fresh:
        _reset_to(default)
        st.session_state[OPENED_KEY] = True
    clamp(MODULE, keys, default="decoder.cross_attn")       # the alignment figure first
    if top.kind is not None:
        top.kind.selectbox("Attention", keys, key=MODULE, format_func=KIND_NAMES.get,
                           bind="query-params")
    group = st.session_state[MODULE]
    layer, head = layer_head_pickers(top.layer, top.head, len(by_group[group]),
                                     model.cfg.n_heads)
    align = "right" if top.toggles is not top.pred and ins.forecast is None else "left"
    with top.toggles.container(horizontal=True, horizontal_alignment=align):
        view = sh.special_toggle(ins, st) if any(ins.special or ()) else sh.Shown(ins)
        st.toggle("auto scale", key=AUTO_SCALE, width="content",
                  help="Stretch the colours over this head's own range instead of 0 to 1")
    return group, layer, head, by_group[group][layer], view


def select(group: str, layer: int, head: int) -> None:
    """Set the shown head (call from a widget callback, before the pickers are drawn)."""
    st.session_state.update({MODULE: group, LAYER: int(layer), HEAD: int(head)})
