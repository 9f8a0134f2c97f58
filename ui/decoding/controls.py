"""The masked-decoding page's controls: the input box, the memoised trace (cost-checked and run
safely), the layer / head pickers, the note on encoders, and the dark-theme switch.

Streamlit only: the trace comes from core.decode.decode_trace. It is computed once per (model,
input, settings) and kept per user in st.session_state; stepping only re-renders. Widget keys:
"input", "layer", "head" (ui.state) bound to the URL; the step and the settings live in
ui.decoding.stepper and ui.decoding.settings.
"""
from __future__ import annotations

import dataclasses

import streamlit as st

from core import analysis
from core.budget import check, config_cost
from core.decode import decode_trace
from core.safe_run import safe_run

from .. import pretrained
from ..state import CHOSEN_MODEL, INPUT
from ..theme import dark as chosen_dark
from ..widgets import BOX_MAX_CHARS, PageInput, box_limit, file_version, layer_head_pickers, memo
from . import stepper

MEMO_KEY = "decoding_memo"            # this page's traces, per user (ui.widgets.memo)
WHERE_KEY = "decoding_where"         # (checkpoint, input) of the trace shown: a new one -> step 1
SAMPLE_KEY = "dec_sample"            # the sample picker of a task with numbered samples


def dark() -> bool:
    """Figures for the dark theme: the sidebar's Theme choice (?theme=dark), else the browser's."""
    return chosen_dark()


def encoders_note() -> None:
    """Say why the BERT-family models on this machine are not offered here (the picker lists
    decoders and the encoder-decoder only)."""
    names = [r["name"] for r in pretrained.rows(("encoder",))]
    if not names:
        return
    chosen = st.session_state.get(CHOSEN_MODEL)
    shown = chosen if chosen in names else ", ".join(names[:3]) + ("…" if len(names) > 3 else "")
    st.caption(f"Not offered here: {shown} (BERT family). An encoder reads the whole text at "
               "once, in both directions, and never writes a token, so there is nothing to "
               "step through; explore it on the *Attention explorer* page.")


# ----------------------------------------------------------------------------- input
def input_box(task):
    """The task's input box (with its sample picker or example buttons) -> (text, decoding
    setup) or (text, None) with a message shown. Accepts what the explorer accepts for the
    same model (the same box limit, ui.widgets.box_limit, and the task's own parse)."""
    default = task.examples[0] if task.examples else ""
    field = PageInput("decoding", task, default)
    samples = task.fixed_examples()          # held-out examples offered by number (sine)
    box = pick = st
    if samples:
        pick, box = st.columns([1, 3])
    # max_chars is a constant: it is part of the widget's identity (see the explorer's box).
    # The box is drawn before the sample picker reads it: on a fresh load a link's ?input=
    # reaches the box only when the box is drawn.
    label = task.input_label or f"Prompt for **{task.title}**"
    text = field.box(box, label, max_chars=BOX_MAX_CHARS, placeholder=f"e.g. {default}",
                     help=task.description)
    if samples:
        sample_picker(pick, samples, field, text)
    if task.examples and not samples:
        with st.container(horizontal=True, gap="small"):
            st.caption("Examples:", width="content")
            for i, ex in enumerate(task.examples):
                st.button(ex, key=f"dec_example_{i}", type="tertiary", on_click=field.put,
                          args=(ex,))
    try:
        if len(text) > box_limit(task):
            raise ValueError(f"too long: at most {task.max_input_len} tokens")
        return text, task.decoding_setup(task.parse(text))
    except ValueError as e:
        st.error(f"Cannot decode this input: {e}", icon=":material/error:")
        return text, None


def sample_picker(where, samples, field, text: str) -> None:
    """The number of the held-out example shown in the box (kept where it was for typed
    values); picking one puts its text in the box."""
    shown = samples.number(text)
    if shown is None:
        try:
            shown = min(max(int(st.session_state.get(SAMPLE_KEY, 0)), 0), len(samples) - 1)
        except (TypeError, ValueError, OverflowError):
            shown = 0
    if st.session_state.get(SAMPLE_KEY) != shown:
        st.session_state[SAMPLE_KEY] = shown
    where.number_input(f"Sample (0 to {len(samples) - 1})", 0, len(samples) - 1, key=SAMPLE_KEY,
                       on_change=lambda: field.put(samples.input(st.session_state[SAMPLE_KEY])),
                       help="A held-out example by number; or paste your own values")


# ----------------------------------------------------------------------------- the trace
def run_cost(model, setup, max_new: int):
    """What one decoding run may need at its peak: the uncached check reruns the whole
    sequence (prompt + new tokens) with every head's weights recorded."""
    if model.kind == "seq2seq":
        return config_cost(model.cfg, tokens=int(setup.source.size(1)),
                           target_tokens=1 + int(max_new))
    return config_cost(model.cfg, tokens=int(setup.prompt.size(1)) + int(max_new))


def trace(row, model, text: str, setup, options: dict):
    """decode_trace(...) memoised per user by (checkpoint, file version, text, settings), after
    a memory estimate; None (and a message shown) when it cannot run. A new model or input
    starts at step 1 (a link's ?step= still opens its step on a fresh load)."""
    sampling = {k: v for k, v in options.items() if k != "max_new"}
    key = (row["path"], file_version(row["path"]), text, tuple(sorted(options.items())))

    def run():
        check(run_cost(model, setup, options["max_new"]), what="Decoding this prompt",
              advice="use a shorter prompt or a lower length limit")
        with st.spinner("Decoding…"):
            return safe_run(decode_trace, model, dataclasses.replace(
                setup, max_new_tokens=options["max_new"]), what="Decoding", **sampling)

    try:
        tr = memo(MEMO_KEY, key, run)
    except ValueError as e:
        st.error(f"The model cannot decode this input: {e}", icon=":material/error:")
        return None
    where = (row["path"], text)
    previous = st.session_state.get(WHERE_KEY)
    st.session_state[WHERE_KEY] = where
    if previous is not None and previous != where:
        stepper.reset()
    return tr


def layer_head(model, tr) -> tuple[int, int, list, list]:
    """Layer and head pickers -> (layer, head, self-attention names, cross-attention names)."""
    first = tr.steps[0]
    order = lambda names: sorted(names, key=lambda n: analysis.parse_name(n)["layer"])  # noqa
    selfs, crosses = order(first.attention), order(first.cross)
    if not selfs:                        # a GRU decoder: one additive head over the source
        return 0, 0, selfs, crosses
    c1, c2, _ = st.columns([1, 1, 4])
    layer, head = layer_head_pickers(c1, c2, len(selfs), model.cfg.n_heads, "Decoder layer")
    return layer, head, selfs, crosses
