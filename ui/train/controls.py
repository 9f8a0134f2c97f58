"""The Train page's controls: the task, the architecture and the schedule, the time estimate and
Start. Each task remembers its own settings (per user) when the user leaves the page.

Streamlit glue only: the run itself is a background job (ui.training's TrainingJob), timed with
its measure_speed.
"""
from __future__ import annotations

import streamlit as st

from core.config import POSITIONAL_KINDS, VIT_POSITIONAL_KINDS
from core.tasks import TASKS

from .. import training as tr
from ..models import device
from ..state import JOB
from ..theme import advanced

SETTINGS_KEY = "train_settings"      # {widget key: value}: the widgets' values across pages
SPEED_KEY = "train_speed"            # {(task, config, batch, device): Speed} measured this session


def keep(key: str, default):
    """A widget key whose value survives leaving the page (Streamlit drops the state of widgets
    that a run does not draw): the value is mirrored in a plain session_state dict."""
    store = st.session_state.setdefault(SETTINGS_KEY, {})
    wkey = f"train_w_{key}"
    if wkey in st.session_state:
        store[wkey] = st.session_state[wkey]
    else:
        st.session_state[wkey] = store.get(wkey, default)
    return wkey


def speed(task, cfg, batch_size: int, dev):
    """measure_speed, cached per (task, config, batch size, device) in this session."""
    cache = st.session_state.setdefault(SPEED_KEY, {})
    key = (task.name, repr(cfg), int(batch_size), str(dev))
    if key not in cache:
        cache[key] = tr.measure_speed(task, cfg, batch_size, dev)
    return cache[key]


def task_picker():
    """The task selectbox (and its description) -> the task."""
    name = st.selectbox("Task", list(TASKS), key=keep("task", next(iter(TASKS))),
                        format_func=lambda n: f"{TASKS[n].title} ({n})")
    st.caption(TASKS[name].description)
    return TASKS[name]


def settings(task) -> tuple:
    """Architecture and schedule widgets -> (config or None with an error shown, JobSpec fields
    dict). Widget keys are per task ('train_w_sort.layers'), so each task keeps its own."""
    d = tr.defaults(task)

    def k(field):
        return keep(f"{task.name}.{field}", d[field])

    st.subheader("Architecture")
    c = st.columns(5)
    layers = c[0].number_input("Layers", *tr.LIMITS["layers"], step=1, key=k("layers"))
    heads = c[1].number_input("Heads", *tr.LIMITS["heads"], step=1, key=k("heads"))
    d_model = c[2].select_slider("d_model", tr.D_MODELS, key=k("d_model"))
    pos = c[3].selectbox("Positional encoding", VIT_POSITIONAL_KINDS if task.kind == "vit"
                         else POSITIONAL_KINDS, key=k("pos"))
    norm = c[4].radio("LayerNorm", ("pre", "post"), key=k("norm"), horizontal=True,
                      format_func=lambda n: f"{n}-LN")
    with advanced("Schedule: steps, learning rate, batch size, seed"):   # folded when presenting
        st.subheader("Schedule")
        c = st.columns(5)
        steps = c[0].number_input("Steps", *tr.LIMITS["steps"], step=10, key=k("steps"))
        lr = c[1].number_input("Learning rate", *tr.LIMITS["lr"], step=1e-4, format="%.4f",
                               key=k("lr"))
        batch = c[2].number_input("Batch size", *tr.LIMITS["batch"], step=8, key=k("batch"))
        seed = c[3].number_input("Seed", *tr.LIMITS["seed"], step=1, key=k("seed"))
        at_target = c[4].checkbox("Stop at target", key=k("at_target"), disabled=not task.target,
                                  help=f"Stop early once an evaluation reaches "
                                       f"{tr.target_text(task)}")
    cfg = None
    try:
        cfg = tr.make_config(task, layers, heads, d_model, pos, norm)
    except ValueError as e:
        st.error(f"This architecture is not valid: {e}")
    return cfg, dict(steps=int(steps), lr=float(lr), batch_size=int(batch), seed=int(seed),
                     stop_at_target=bool(at_target and task.target))


def estimate(task, cfg, run: dict):
    """Parameters, estimated time and speed of this run (timed on this server) -> Speed or None."""
    if cfg is None:
        return None
    measured = None
    try:
        with st.spinner("Timing a few training steps…"):
            measured = speed(task, cfg, run["batch_size"], device())
    except Exception as e:                     # noqa: BLE001 - shown, never raised
        st.warning(f"Could not time this model ({type(e).__name__}: {e}); no estimate.")
    c = st.columns(3)
    c[0].metric("Parameters", f"{tr.count_parameters(cfg):,}")
    c[1].metric("Estimated time",
                tr.duration(measured and tr.estimate_seconds(measured, run["steps"])),
                help="Timed at this size on this server: 3 training steps and one evaluation "
                     "of a fresh model, scaled to this run's steps and evaluations.")
    c[2].metric("Speed", f"{1 / measured.step_s:,.1f} steps/s" if measured else "–")
    return measured


def start_button(task, cfg, run: dict, measured, job) -> None:
    """Start training (a new job in this session), or a note on what starting would discard."""
    running = job is not None and job.running
    left, right = st.columns([2, 5])             # room for the button in presenter type
    if left.button("Start training", type="primary", disabled=cfg is None or running):
        spec = tr.JobSpec(task.name, cfg, **run)
        try:
            st.session_state[JOB] = tr.TrainingJob(
                spec, device(), measured and tr.estimate_seconds(measured, spec.steps)).start()
        except RuntimeError as e:                  # too many trainings on this server at once
            st.warning(str(e))
        else:
            st.rerun()
    if job is not None and not running and job.model is not None and job.saved_as is None:
        right.caption("Starting a new run discards the unsaved model below.")
