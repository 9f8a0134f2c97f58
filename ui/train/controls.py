"""The Train page's controls: the task, the architecture and the schedule, the time estimate and
Start. Each task remembers its own settings (per user) when the user leaves the page.

Streamlit glue only: the run itself is a core.jobs.TrainingJob, timed with core.jobs's
measure_speed; the settings' limits and defaults (from the task's own) are chosen here.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from core import jobs
from core.config import POSITIONAL_KINDS, VIT_POSITIONAL_KINDS
from core.tasks import TASKS

from ..models import device
from ..state import JOB
from ..theme import advanced

LIMITS = dict(layers=(1, 6), heads=(1, 8), steps=(10, 20000), lr=(1e-4, 1e-1),
              batch=(8, 512), seed=(0, 2**31 - 1))
D_MODELS = (16, 32, 48, 64, 96, 128)
SETTINGS_KEY = "train_settings"      # {widget key: value}: the widgets' values across pages
SPEED_KEY = "train_speed"            # {(task, config, batch, device): Speed} measured this session


def _clamp(x, lo, hi):
    return max(lo, min(hi, x))


def defaults(task) -> dict:
    """Widget defaults from the task's own config and train_defaults, clamped to the widgets."""
    cfg, d = task.make_config(), task.train_defaults
    d_model = min(D_MODELS, key=lambda m: abs(m - cfg.d_model))
    return dict(layers=_clamp(cfg.n_layers, *LIMITS["layers"]),
                heads=_clamp(cfg.n_heads, *LIMITS["heads"]), d_model=d_model,
                pos=cfg.pos, norm=cfg.norm,
                steps=int(_clamp(d.get("steps", 1000), *LIMITS["steps"])),
                lr=float(_clamp(d.get("lr", 3e-3), *LIMITS["lr"])),
                batch=int(_clamp(d.get("batch_size", 128), *LIMITS["batch"])), seed=0,
                at_target=bool(task.target))


def make_config(task, layers: int, heads: int, d_model: int, pos: str, norm: str):
    """The task's config with the chosen architecture; ValueError (the config's message) if it
    is not valid. A d_ff the task fixes is scaled with d_model."""
    base = task.make_config()
    extra = {}
    if base.d_ff:
        extra["d_ff"] = max(1, round(base.d_ff * d_model / base.d_model))
    return task.make_config(n_layers=int(layers), n_heads=int(heads), d_model=int(d_model),
                            pos=pos, norm=norm, **extra)


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
        cache[key] = jobs.measure_speed(task, cfg, batch_size, dev)
    return cache[key]


def trainable() -> list[str]:
    """The tasks that have training data (Task.trains), in registry order."""
    return [name for name, task in TASKS.items() if task.trains]


def task_picker():
    """The task selectbox (and its description) -> the task."""
    names = trainable()
    name = st.selectbox("Task", names, key=keep("task", names[0]),
                        format_func=lambda n: f"{TASKS[n].title} ({n})")
    st.caption(TASKS[name].description)
    return TASKS[name]


def settings(task) -> tuple:
    """Architecture and schedule widgets -> (config or None with an error shown, JobSpec fields
    dict). Widget keys are per task ('train_w_sort.layers'), so each task keeps its own."""
    d = defaults(task)

    def k(field):
        return keep(f"{task.name}.{field}", d[field])

    st.subheader("Architecture")
    c = st.columns(5)
    layers = c[0].number_input("Layers", *LIMITS["layers"], step=1, key=k("layers"))
    heads = c[1].number_input("Heads", *LIMITS["heads"], step=1, key=k("heads"))
    d_model = c[2].select_slider("d_model", D_MODELS, key=k("d_model"))
    pos = c[3].selectbox("Positional encoding", VIT_POSITIONAL_KINDS if task.kind == "vit"
                         else POSITIONAL_KINDS, key=k("pos"))
    norm = c[4].radio("LayerNorm", ("pre", "post"), key=k("norm"), horizontal=True,
                      format_func=lambda n: f"{n}-LN")
    with advanced("Schedule: steps, learning rate, batch size, seed"):   # folded when presenting
        st.subheader("Schedule")
        c = st.columns(5)
        steps = c[0].number_input("Steps", *LIMITS["steps"], step=10, key=k("steps"))
        lr = c[1].number_input("Learning rate", *LIMITS["lr"], step=1e-4, format="%.4f",
                               key=k("lr"))
        batch = c[2].number_input("Batch size", *LIMITS["batch"], step=8, key=k("batch"))
        seed = c[3].number_input("Seed", *LIMITS["seed"], step=1, key=k("seed"))
        at_target = c[4].checkbox("Stop at target", key=k("at_target"), disabled=not task.target,
                                  help=f"Stop early once an evaluation reaches "
                                       f"{target_text(task)}")
    cfg = None
    try:
        cfg = make_config(task, layers, heads, d_model, pos, norm)
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
    c[0].metric("Parameters", f"{jobs.count_parameters(cfg):,}")
    c[1].metric("Estimated time",
                duration(measured and jobs.estimate_seconds(measured, run["steps"])),
                help="Timed at this size on this server: 3 training steps and one evaluation "
                     "of a fresh model, scaled to this run's steps and evaluations.")
    c[2].metric("Speed", f"{1 / measured.step_s:,.1f} steps/s" if measured else "–")
    return measured


def start_button(task, cfg, run: dict, measured, job) -> None:
    """Start training (a new job in this session), or a note on what starting would discard."""
    running = job is not None and job.running
    left, right = st.columns([2, 5])             # room for the button in presenter type
    if left.button("Start training", type="primary", disabled=cfg is None or running):
        spec = jobs.JobSpec(task.name, cfg, **run)
        try:
            st.session_state[JOB] = jobs.TrainingJob(
                spec, device(), measured and jobs.estimate_seconds(measured, spec.steps)).start()
        except RuntimeError as e:                  # too many trainings on this server at once
            st.warning(str(e))
        else:
            st.rerun()
    if job is not None and not running and job.model is not None and job.saved_as is None:
        right.caption("Starting a new run discards the unsaved model below.")
