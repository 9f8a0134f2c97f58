"""The Train page's controls: the task, the architecture and the schedule, the time estimate and
Start. Each task remembers its own settings (per user) when the user leaves the page.

Streamlit glue only: the run itself is a core.jobs.TrainingJob, its time told before Start by
core.estimate (re-exported by core.jobs); the settings' limits and defaults (from the task's
own) are chosen here, the architecture's per config kind in ui.train.architecture.
"""
from __future__ import annotations

import math

import numpy as np
import streamlit as st

from core import jobs
from core.tasks import TASKS

from ..models import device
from ..state import JOB, TRAIN_TASK
from ..theme import advanced
from . import architecture
from .architecture import Range

LIMITS = dict(steps=Range(10, 20000), lr=Range(1e-4, 1e-1), batch=Range(8, 512),
              seed=Range(0, 2**31 - 1))
SETTINGS_KEY = "train_settings"      # {widget key: value}: the widgets' values across pages
SPEED_KEY = "train_speed"            # {(task, config, batch, device): Speed} measured this session


def _clamp(x, lo, hi):
    return max(lo, min(hi, x))


def defaults(task) -> dict:
    """{field: (default, options tuple or Range)} of every setting of this task: its
    architecture (architecture.fields) and schedule (from train_defaults, clamped)."""
    d = task.train_defaults
    return {**architecture.fields(task),
            "steps": (int(_clamp(d.get("steps", 1000), *LIMITS["steps"])), LIMITS["steps"]),
            "lr": (float(_clamp(d.get("lr", 3e-3), *LIMITS["lr"])), LIMITS["lr"]),
            "batch": (int(_clamp(d.get("batch_size", 128), *LIMITS["batch"])), LIMITS["batch"]),
            "seed": (0, LIMITS["seed"]), "at_target": (bool(task.target), (True, False))}


def checked(value, default, allowed):
    """`value` if it is one of the options `allowed` (of the default's type), or, for a Range,
    a finite number clamped into it (a whole number where the Range is of whole numbers); else
    `default`. Junk (NaN, inf, 1e309, text, None, a bool for a number) gives the default."""
    if not isinstance(allowed, Range):
        return value if value in allowed and type(value) is type(default) else default
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return default
    if not math.isfinite(float(value)):
        return default
    x = _clamp(float(value), float(allowed.lo), float(allowed.hi))
    return int(round(x)) if isinstance(allowed.lo, int) else x


def target_text(task) -> str:
    """'token_acc ≥ 0.99, exact ≥ 0.95' (≤ for metrics where lower is better)."""
    return ", ".join(f"{m} {'≤' if m in task.lower_is_better else '≥'} {x}"
                     for m, x in (task.target or {}).items())


def duration(seconds: float | None) -> str:
    """'7 s', '2 min 05 s', '1 h 02 min'; '–' when unknown."""
    if seconds is None or not np.isfinite(seconds):
        return "–"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def keep(key: str, default, allowed, wkey: str | None = None) -> str:
    """A widget key (train_w_<key> unless `wkey` is given) whose value survives leaving the
    page (Streamlit drops the state of widgets that a run does not draw): the value is mirrored
    in a plain session_state dict. A remembered value that is not allowed (a stale session, a
    forged message: junk, out of range) is replaced (checked) before the widget is drawn."""
    store = st.session_state.setdefault(SETTINGS_KEY, {})
    wkey = wkey or f"train_w_{key}"
    if wkey in st.session_state:
        value = st.session_state[wkey]
        good = checked(value, default, allowed)
        if good != value or type(good) is not type(value):     # NaN != NaN: replaced too
            st.session_state[wkey] = good
        store[wkey] = good
    else:
        st.session_state[wkey] = checked(store.get(wkey, default), default, allowed)
    return wkey


def speed(task, cfg, batch_size: int, dev):
    """measure_speed, cached per (task, config, batch size, device) in this session."""
    cache = st.session_state.setdefault(SPEED_KEY, {})
    key = (task.name, repr(cfg), int(batch_size), str(dev))
    if key not in cache:
        cache[key] = jobs.measure_speed(task, cfg, batch_size, dev)
    return cache[key]


def trainable() -> list[str]:
    """The tasks that have training data (Task.trains), in registry order."""
    return [name for name, task in TASKS.items() if task.trains]


def task_picker():
    """The task selectbox (and its description) -> the task. Kept in the URL (?task=dates_rnn,
    written here: a bound selectbox would put the option's label in the link); a name there
    that is not a trainable task is ignored, and replaced by the task shown."""
    names = trainable()
    wkey, url = "train_w_task", st.query_params.get(TRAIN_TASK)
    if wkey not in st.session_state and url in names:      # a link opens on its task
        st.session_state[wkey] = url
    name = st.selectbox("Task", names, key=keep("task", names[0], tuple(names)),
                        format_func=lambda n: f"{TASKS[n].title} ({n})")
    if url != name:
        st.query_params[TRAIN_TASK] = name
    st.caption(TASKS[name].description)
    return TASKS[name]


def settings(task) -> tuple:
    """Architecture and schedule widgets -> (config or None with an error shown, JobSpec fields
    dict). Widget keys are per task ('train_w_sort.layers'), so each task keeps its own."""
    d = defaults(task)

    def k(field):
        return keep(f"{task.name}.{field}", *d[field])

    chosen = architecture.widgets(task, k)
    with advanced("Schedule: steps, learning rate, batch size, seed"):   # folded when presenting
        st.subheader("Schedule")
        c = st.columns(4)     # "Stop at target" below them: a fifth column cut its label
        steps = c[0].number_input("Steps", *LIMITS["steps"], step=10, key=k("steps"))
        lr = c[1].number_input("Learning rate", *LIMITS["lr"], step=1e-4, format="%.4f",
                               key=k("lr"))
        batch = c[2].number_input("Batch size", *LIMITS["batch"], step=8, key=k("batch"),
                                  help=task.batch_help)
        seed = c[3].number_input("Seed", *LIMITS["seed"], step=1, key=k("seed"))
        at_target = st.checkbox("Stop at target", key=k("at_target"), disabled=not task.target,
                                help=f"Stop early once an evaluation reaches "
                                     f"{target_text(task)}")
    cfg = None
    try:
        cfg = architecture.make_config(task, **chosen)
    except ValueError as e:
        st.error(f"This architecture is not valid: {e}")
    if cfg is not None and (why := task.cannot_learn(cfg)):
        st.warning(why, icon=":material/block:")
    return cfg, dict(steps=int(steps), lr=float(lr), batch_size=int(batch), seed=int(seed),
                     stop_at_target=bool(at_target and task.target))


def estimate(task, cfg, run: dict) -> jobs.Estimate | None:
    """Parameters and the expected time of this run (its speed timed on this server, its steps
    from the task's typical run), with why -> the Estimate, or None when it cannot be timed."""
    if cfg is None:
        return None
    est = None
    try:
        with st.spinner("Timing a few training steps…"):
            measured = speed(task, cfg, run["batch_size"], device())
        est = jobs.estimate_run(measured, task, cfg, run["steps"], run["stop_at_target"])
    except Exception as e:                     # noqa: BLE001 - shown, never raised
        st.warning(f"Could not time this model ({type(e).__name__}: {e}); no estimate.")
    c = st.columns(3)
    c[0].metric("Parameters", f"{jobs.count_parameters(cfg):,}")
    c[1].metric("Estimated time", duration(est and est.seconds),
                help="Steps timed at this size on this server for about a second, scaled to "
                     "the steps this run is expected to take, its evaluations and its final "
                     "score.")
    c[2].metric("Steps", f"{est.steps:,}" if est else "–")
    if est is not None:
        st.caption(f"Estimated from {1 / measured.step_s:,.0f} steps/s measured here: "
                   f"{est.why}.")
    return est


def start_button(task, cfg, run: dict, est, job) -> None:
    """Start training (a new job in this session), or a note on what starting would discard."""
    running = job is not None and job.running
    left, right = st.columns([2, 5])             # room for the button in presenter type
    if left.button("Start training", type="primary", disabled=cfg is None or running):
        spec = jobs.JobSpec(task.name, cfg, **run)
        try:
            st.session_state[JOB] = jobs.TrainingJob(
                spec, device(), est and est.seconds).start()
        except RuntimeError as e:                  # too many trainings on this server at once
            st.warning(str(e))
        else:
            st.rerun()
    if job is not None and not running and job.model is not None and job.saved_as is None:
        right.caption("Starting a new run discards the unsaved model below.")
