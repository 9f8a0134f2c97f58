"""Train a model live: task, architecture, schedule; watch the loss, the metrics and a head form."""
import streamlit as st

from core.config import POSITIONAL_KINDS, VIT_POSITIONAL_KINDS
from core.tasks import TASKS
from ui import training as tr
from ui.models import CHECKPOINT_DIR, device
from ui.sidebar import presenter
from ui.theme import advanced
from viz.attention import attention_heatmap
from viz.common import PLOTLY_CONFIG
from viz.training import training_curves

st.title("Train a model")
if not TASKS:
    st.error("No task is available.")
    st.stop()
job = st.session_state.get(tr.JOB_KEY)
running = job is not None and job.running

task_name = st.selectbox("Task", list(TASKS), key=tr.keep("task", next(iter(TASKS))),
                         format_func=lambda n: f"{TASKS[n].title} ({n})")
task, d = TASKS[task_name], tr.defaults(TASKS[task_name])
st.caption(task.description)


def k(field):                    # per-task widget keys: each task remembers its own settings
    return tr.keep(f"{task_name}.{field}", d[field])


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

cfg = speed = None
try:
    cfg = tr.make_config(task, layers, heads, d_model, pos, norm)
except ValueError as e:
    st.error(f"This architecture is not valid: {e}")
if cfg is not None:
    try:
        with st.spinner("Timing a few training steps…"):
            speed = tr.speed(task, cfg, batch, device())
    except Exception as e:                     # noqa: BLE001 - shown, never raised
        st.warning(f"Could not time this model ({type(e).__name__}: {e}); no estimate.")
    c = st.columns(3)
    c[0].metric("Parameters", f"{tr.count_parameters(cfg):,}")
    c[1].metric("Estimated time", tr.duration(speed and tr.estimate_seconds(speed, steps)),
                help="Timed at this size on this server: 3 training steps and one evaluation "
                     "of a fresh model, scaled to this run's steps and evaluations.")
    c[2].metric("Speed", f"{1 / speed.step_s:,.1f} steps/s" if speed else "–")

left, right = st.columns([2, 5])             # room for the button in presenter type
if left.button("Start training", type="primary", disabled=cfg is None or running):
    spec = tr.JobSpec(task_name, cfg, int(steps), float(lr), int(batch), int(seed),
                      bool(at_target and task.target))
    try:
        st.session_state[tr.JOB_KEY] = tr.TrainingJob(
            spec, device(), speed and tr.estimate_seconds(speed, spec.steps)).start()
    except RuntimeError as e:                  # too many trainings on this server at once
        st.warning(str(e))
    else:
        st.rerun()
if job is not None and not running and job.model is not None and job.saved_as is None:
    right.caption("Starting a new run discards the unsaved model below.")


def show_job(job, live: bool):
    v = job.view()
    if live and not v["running"]:
        st.rerun()                             # the run ended: redraw the page, stop polling
    st.subheader(f"{tr.STATES[v['state']]}: {job.spec.task}, {tr.summary(job.spec.config)}")
    eta = f" · about {tr.duration(v['eta'])} left" if v["running"] and v["eta"] else ""
    st.progress(min(1.0, v["step"] / v["steps"]),
                text=f"step {v['step']:,} / {v['steps']:,} · {tr.duration(v['elapsed'])}{eta}")
    if v["running"]:
        st.button("Stop", key="train_stop", on_click=job.stop, disabled=v["stopping"])
    if v["error"]:
        st.error(f"Training failed: {v['error']}")
    latest = v["final"] or (v["evals"][-1] if v["evals"] else {})
    cols = st.columns(1 + len(job.task.metrics))
    cols[0].metric("Loss", f"{v['losses'][-1]:.4f}" if v["losses"] else "–")
    for col, m in zip(cols[1:], job.task.metrics):
        col.metric(m + (" (final)" if v["final"] else ""), tr.fmt(latest[m]) if m in latest
                   else "–")
    if done := tr.outcome(v, job.task):
        getattr(st, done[0])(done[1])
    x, y = tr.thin(v["losses"])
    st.plotly_chart(training_curves(x, y, v["eval_steps"], tr.metric_series(v, job.task.metrics),
                                    presenter=presenter()), config=PLOTLY_CONFIG,
                    key="train_curves")
    if not v["snapshots"]:
        return
    st.subheader("Watch attention form")
    snaps, last = v["snapshots"], len(v["snapshots"]) - 1
    c = st.columns([2, 1, 4, 1.2], vertical_alignment="bottom")
    name = c[0].selectbox("Layer", list(snaps[0][1]), key="train_watch_layer")
    head = c[1].selectbox("Head", range(snaps[0][1][name].shape[0]), key="train_watch_head")
    i = c[2].slider("Snapshot", 0, max(1, last), key="train_watch_i", disabled=last == 0,
                    help=f"One every {job.snapshot_every} steps, on the task's probe input",
                    **tr.follow("train_watch_i", last, job.run_id))
    with c[3]:
        tr.snapshot_buttons("train_watch_i", i, last)      # ◀ ▶, also the ← / → keys
    step, att = snaps[min(i, last)]
    w = att[name][head]                                           # (Tq, Tk)
    q, kk = tr.axis_labels(v["labels"].get(name), w.shape)
    st.plotly_chart(attention_heatmap(w, q, kk, title=f"{name}, head {head} at step {step}",
                                      presenter=presenter()), config=PLOTLY_CONFIG,
                    key="train_watch_map")


if job is not None:
    st.divider()
    st.fragment(run_every=tr.POLL_S if running else None)(show_job)(job, running)
    if not running and job.model is not None:
        tr.save_form(job, CHECKPOINT_DIR)
