"""From RNN to attention: the shipped GRU encoder-decoder with Bahdanau (additive) attention
beside the shipped transformer's cross-attention on a date the user types, and the fixed-context
bottleneck: exact match by number of dates, with and without attention.

The models are the shipped checkpoints (dates_rnn, dates_rnn_noattn, dates), loaded once per
file version and shared read-only (ui.models.load); the accuracy figure is measured once per
pair of file versions (st.cache_data) on fresh examples, so a rerun of the page costs two small
inferences.
"""
from __future__ import annotations

import streamlit as st

from core import analysis
from core.statistics_scope import focus_reason, most_focused
from core.tasks.dates_rnn import JOIN
from viz.attention import attention_heatmap
from viz import sizing
from viz.rnn import accuracy_by_dates_figure
from viz.training import attention_title

from .. import models
from ..text import plain
from ..widgets import PageInput, file_version
from .layout import gap, show, width

GRU, FIXED, TRANSFORMER = "dates_rnn", "dates_rnn_noattn", "dates"
PAGE = "rnn"                          # the input box's memory (ui.widgets.PageInput)
DEFAULT = "22 November 2026"
N_EACH = 300                          # fresh examples per number of dates in the figure
SEED = 4321
MIN_CELL = 30                         # px: smaller cells and the maps go one above the other


def shipped_row(name: str) -> dict | None:
    """The checkpoint-folder row of a shipped model, or None when it is missing or unreadable."""
    for r in models.checkpoints():
        if r["name"] == name and r.get("shipped"):
            return r
    return None


def loaded(name: str):
    """(row, model) of a shipped checkpoint, or None with a warning on the page."""
    row = shipped_row(name)
    if row is None:
        st.warning(f"The shipped model **{name}** is not in the checkpoint folder; rebuild it "
                   f"with `python -m core.zoo --tasks dates_rnn,dates --force`.")
        return None
    try:
        return row, models.load(row)[0]
    except ValueError as e:
        st.error(f"Could not load {name}: {plain(e, 300)}")
        return None


@st.cache_data(show_spinner="Measuring both GRUs on fresh examples…", max_entries=8)
def _accuracy(path: str, version: float | None, device: str, n_each: int) -> dict:
    from core.tasks import TASKS
    from core.tasks.dates_rnn import accuracy_by_dates
    model = models._load(path, version, device)[0]
    return {str(k): v for k, v in accuracy_by_dates(model, TASKS[GRU], n_each, SEED).items()}


def accuracy(row: dict, n_each: int = N_EACH) -> dict:
    """{n_dates: (share, count)} of a checkpoint, measured once per file version."""
    got = _accuracy(row["path"], file_version(row["path"]), str(models.device()), n_each)
    return {int(k): tuple(v) for k, v in got.items()}


def source_box() -> str | None:
    """The date input (kept in the URL as ?input=) -> the text, or None with a message."""
    from core.tasks import TASKS
    task = TASKS[GRU]
    box = PageInput(PAGE, task, DEFAULT)
    text = box.box(st, "A date, or up to three joined by \"and\"",
                   max_chars=task.max_input_len,
                   help=f"Up to {task.max_input_len} characters, e.g. \"22 nov 2026 and "
                        "5/3/1999\". The transformer reads one date of at most "
                        f"{TASKS[TRANSFORMER].max_input_len} characters.")
    with st.container(horizontal=True):
        for i, example in enumerate(task.examples[-3:]):
            st.button(example, key=f"rnn_ex_{i}", on_click=box.put, args=(example,),
                      type="tertiary")
    try:
        return task.parse(text)
    except ValueError as e:
        st.error(f"Cannot read this input: {plain(e, 200)}", icon=":material/error:")
        return None


def best_head(ins) -> dict | None:
    """The statistics row of the transformer's most focused cross-attention head."""
    names = [n for n in ins.attention if n.endswith("cross_attn")]
    if not names:
        return None
    return most_focused(analysis.head_statistics(ins.attention, names=names, masks=ins.masks))


def alignment(presenter: bool, dark: bool) -> None:
    """The input box, then the GRU's alignment and the transformer's cross-attention."""
    from core.models.rnn import ATTN
    from core.safe_run import safe_run
    from core.tasks import TASKS
    text = source_box()
    gru, tf = loaded(GRU), loaded(TRANSFORMER)
    if text is None or gru is None:
        return
    try:
        ins = safe_run(TASKS[GRU].inspect, gru[1], text, what="Running the GRU")
    except ValueError as e:
        st.error(plain(e, 300))
        return
    ins_tf, refused = None, None
    if JOIN.strip() in text.lower().split():
        refused = "this source lists several dates"
    elif tf is not None:
        try:
            ins_tf = safe_run(TASKS[TRANSFORMER].inspect, tf[1], text,
                              what="Running the transformer")
        except ValueError as e:
            refused = str(e)
    q, k = ins.labels[ATTN]
    specs = [(ins.attention[ATTN][0], q, k,
              f"GRU + additive attention wrote {ins.prediction or '(nothing)'}")]
    best = best_head(ins_tf) if ins_tf is not None else None
    if best is not None:
        name, head = best["module"], int(best["head"])
        q2, k2 = ins_tf.labels[name]
        specs.append((ins_tf.attention[name][head], q2, k2,
                      f"Transformer wrote {ins_tf.prediction or '(nothing)'}: "
                      f"{attention_title(name, head)}"))
    draw_maps(specs, presenter, dark)
    for who, task_name, out in (("The GRU", GRU, ins), ("The transformer", TRANSFORMER, ins_tf)):
        problem = out is not None and TASKS[task_name].answer_problem(out.prediction or "")
        if problem:
            st.warning(f"{who}: {plain(problem, 300)}", icon=":material/event_busy:")
    st.caption("Rows: the characters each model wrote (first on top); columns: the source "
               "characters. A bright cell is where that output character read the source.")
    if best is not None:
        st.caption(f"Transformer: {focus_reason(best)} of all its cross-attention heads; "
                   "the GRU has a single one.")
    elif refused:
        st.info(f"The transformer is not shown ({plain(refused, 160)}): it was trained on "
                "one date at a time. The GRU reads up to three.",
                icon=":material/info:")


def draw_maps(specs, presenter: bool, dark: bool) -> None:
    """[(weights (Tq, Tk), rows, columns, title)] side by side when each keeps cells of at least
    MIN_CELL px in half the column, else one above the other at the full width (a projector)."""
    half = (width(presenter) - gap(presenter)) // 2
    side = len(specs) > 1 and min(
        sizing.heatmap_size(w.shape[-2], w.shape[-1], q, k, presenter, width=half).cell
        for w, q, k, _ in specs) >= MIN_CELL
    figs = [attention_heatmap(w, q, k, title=t, presenter=presenter, dark=dark,
                              width=half if side else width(presenter),
                              max_height=sizing.height_limit(presenter=presenter))
            for w, q, k, t in specs]
    places = st.columns(2, gap="small") if side else [st.container() for _ in figs]
    for i, (place, fig) in enumerate(zip(places, figs)):
        with place:
            show(fig, key=f"rnn_map_{i}")


def bottleneck(presenter: bool, dark: bool) -> None:
    """Exact match by number of dates of the shipped GRUs with and without attention."""
    pair = [shipped_row(GRU), shipped_row(FIXED)]
    if None in pair:
        st.warning("The shipped GRU checkpoints (dates_rnn, dates_rnn_noattn) are missing; "
                   "rebuild them with `python -m core.zoo --tasks dates_rnn --force`.")
        return
    try:
        att, fixed = (accuracy(r) for r in pair)
    except ValueError as e:
        st.error(f"Could not measure the GRUs: {plain(e, 300)}")
        return
    fig = accuracy_by_dates_figure(
        att, fixed, presenter=presenter, dark=dark, width=width(presenter),
        title=f"Exact match of the shipped GRUs by number of dates ({N_EACH} fresh examples "
              "each)")
    show(fig, key="rnn_bottleneck")
    drop = ", ".join(f"{k} date{'s' if k > 1 else ''}: {100 * fixed[k][0]:.0f}%"
                     for k in sorted(fixed))
    st.caption(f"Without attention the decoder sees one fixed vector, the encoder's final "
               f"states, however long the source is ({drop}). With attention it reads each "
               f"date where it is ({', '.join(f'{100 * att[k][0]:.0f}%' for k in sorted(att))}"
               "). Both models have the same size and were trained with the same settings.")
