"""The Train page's views of a run: progress, metrics, curves, "watch attention form" snapshots,
and the form that saves the finished model.

Everything is read from the job's view() (a consistent copy of its progress); nothing here
trains. The progress is an st.fragment that polls the job while it runs.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from core.recipe import FINAL_EVAL_N, describe
from viz import sizing
from viz.training import attention_title, snapshot_heatmap, training_curves, value_order

from ..state import CHOSEN_MODEL
from ..theme import dark, presenting
from ..widgets import chart
from .controls import duration, target_text

POLL_S = 1.0                     # how often the progress fragment polls a running job
WATCH = "train_watch_i"          # the snapshot slider's key
BY_VALUE = "train_watch_by_value"  # the "keys in order of value" toggle's key
STATE_TEXT = {"starting": "Starting…", "running": "Training…", "done": "Finished all steps",
              "target": "Stopped early at target", "cancelled": "Stopped", "error": "Failed"}


def axis_labels(pair, shape) -> tuple:
    """(query labels, key labels) when they fit a (Tq, Tk) map, else (None, None): numbers."""
    if pair is None or (len(pair[0]), len(pair[1])) != tuple(shape):
        return None, None
    return pair


def metric_series(v: dict, names) -> dict:
    """{metric name: [values per evaluation]} for training_curves."""
    return {m: [e.get(m, float("nan")) for e in v["evals"]] for m in names
            if any(m in e for e in v["evals"])}


def fmt(x) -> str:
    """A metric for people: '0.9871', '0.00123', '360'."""
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return f"{x:,}"
    return f"{float(x):.4g}" if isinstance(x, (float, np.floating)) else str(x)


def outcome(v: dict, task, config=None) -> tuple[str, str] | None:
    """(level, message) on the final metrics once a run has ended: level is 'success' when the
    target was reached, 'warning' when not (with why, where a model of `config` cannot learn
    the task: Task.cannot_learn; else a hint to train longer), 'info' when the task has no
    target."""
    if not v["final"]:
        return None
    how = {"target": "stopped early at target", "cancelled": f"stopped at step {v['step']:,}",
           "done": "all steps done"}.get(v["state"], v["state"])
    shown = ", ".join(f"{m} {fmt(x)}" for m, x in v["final"].items())
    msg = f"Final metrics on {FINAL_EVAL_N} fresh examples: {shown} ({how})."
    if v["target_reached"] is None:
        return "info", msg
    if v["target_reached"]:
        return "success", f"{msg} Target reached."
    if why := task.cannot_learn(config):
        return "warning", f"{msg} Target ({target_text(task)}) not reached. {why}"
    return "warning", f"{msg} Target ({target_text(task)}) not reached: try more steps."


def thin(losses: list, most: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """(steps, losses) with at most `most` points (every k-th) so long runs plot quickly."""
    y = np.asarray(losses, dtype=np.float64)
    x = np.arange(1, y.size + 1)
    k = max(1, -(-y.size // most))
    return x[k - 1::k], y[k - 1::k]


def progress(job) -> None:
    """The run's progress as a fragment: polled every POLL_S seconds while it runs."""
    st.fragment(run_every=POLL_S if job.running else None)(_progress)(job, job.running)


def _progress(job, live: bool) -> None:
    v = job.view()
    if live and not v["running"]:
        st.rerun()                             # the run ended: redraw the page, stop polling
    st.subheader(f"{STATE_TEXT[v['state']]}: {job.spec.task}, {describe(job.spec.config)}")
    eta = f" · about {duration(v['eta'])} left" if v["running"] and v["eta"] else ""
    st.progress(min(1.0, v["step"] / v["steps"]),
                text=f"step {v['step']:,} / {v['steps']:,} · {duration(v['elapsed'])}{eta}")
    if v["running"]:
        st.button("Stop", key="train_stop", on_click=job.stop, disabled=v["stopping"])
    if v["error"]:
        st.error(f"Training failed: {v['error']}")
    latest = v["final"] or (v["evals"][-1] if v["evals"] else {})
    cols = st.columns(1 + len(job.task.metrics))
    cols[0].metric("Loss", f"{v['losses'][-1]:.4f}" if v["losses"] else "–")
    for col, m in zip(cols[1:], job.task.metrics):
        col.metric(m + (" (final)" if v["final"] else ""), fmt(latest[m]) if m in latest
                   else "–")
    if done := outcome(v, job.task, job.spec.config):
        getattr(st, done[0])(done[1])
    x, y = thin(v["losses"])
    chart(training_curves(x, y, v["eval_steps"], metric_series(v, job.task.metrics),
                          presenter=presenting()), key="train_curves")
    if v["snapshots"] and v["snapshots"][0][1]:
        snapshots(job, v)
    elif v["snapshots"]:                           # the GRU's fixed-context twin
        st.subheader("Watch attention form")
        st.info("This model has no attention to watch: its decoder sees only the encoder's "
                "final states, one fixed vector for the whole source. Train it with attention "
                "on to see the alignment form, and compare the final scores.")


def snapshots(job, v: dict) -> None:
    """Watch attention form: one head's attention on the probe input at each snapshot, with
    square cells, the layer named in words, and (where the keys are numbers, as in sorting) the
    keys optionally in order of value, so that "read the input of my rank" forms a diagonal."""
    st.subheader("Watch attention form")
    snaps, last = v["snapshots"], len(v["snapshots"]) - 1
    names = list(snaps[0][1])
    c = st.columns([2.2, 1, 4, 1.2], vertical_alignment="bottom")
    name = c[0].selectbox("Layer", names, key="train_watch_layer", format_func=attention_title)
    n_heads = snaps[0][1][name].shape[0]
    head = c[1].selectbox("Head", range(n_heads), key="train_watch_head",
                          disabled=n_heads == 1)
    i = c[2].slider("Snapshot", 0, max(1, last), key=WATCH, disabled=last == 0,
                    help=f"One every {job.snapshot_every} steps, on the task's probe input",
                    **follow(WATCH, last, job.run_id))
    with c[3]:
        snapshot_buttons(WATCH, i, last)                  # ◀ ▶, also the ← / → keys
    step, att = snaps[min(i, last)]
    w = att[name][min(head, n_heads - 1)]                         # (Tq, Tk)
    q, k = axis_labels(v["labels"].get(name), w.shape)
    by_value = False
    if k is not None and value_order(k) is not None:
        by_value = st.toggle("Keys in order of value", key=BY_VALUE,
                             help="Sort the key columns by the number they hold: a head that "
                                  "reads the input of its own rank (sorting) becomes a "
                                  "diagonal")
    p = presenting()
    chart(snapshot_heatmap(w, q, k, name, head, step, keys_by_value=by_value, presenter=p,
                           dark=dark(), width=sizing.content_width(presenter=p)),
          key="train_watch_map", width="content")


def follow(key: str, last: int, run_id) -> dict:
    """Before drawing slider `key` over 0..last: keep it on the newest snapshot unless the user
    has picked an earlier one (in this run); returns the slider's on_change/args keywords.
    A flag set by the callback, not a comparison of values, so an interrupted rerun cannot
    make the slider stop following."""
    ss = st.session_state
    if ss.get(f"{key}_run") != run_id:
        ss[f"{key}_run"], ss[f"{key}_pinned"] = run_id, False
    if key not in ss or not ss.get(f"{key}_pinned"):
        ss[key] = last
    ss[key] = min(ss[key], last)
    return dict(on_change=_pin, args=(key, last))


def snapshot_buttons(key: str, i: int, last: int) -> None:
    """◀ / ▶ buttons that step slider `key` (at i of 0..last); bound to the ← / → keys."""
    with st.container(horizontal=True, gap="small"):
        st.button("◀", key=f"{key}_prev", on_click=step_snapshot, args=(key, last, -1),
                  disabled=i <= 0, shortcut="Left", help="Previous snapshot (← key)")
        st.button("▶", key=f"{key}_next", on_click=step_snapshot, args=(key, last, 1),
                  disabled=i >= last, shortcut="Right", help="Next snapshot (→ key)")


def step_snapshot(key: str, last: int, delta: int) -> None:
    """The ◀ / ▶ buttons (and the ← / → keys) beside slider `key`: one snapshot back or on,
    within 0..last; stepping to the newest one follows new snapshots again."""
    st.session_state[key] = max(0, min(last, int(st.session_state.get(key, last)) + delta))
    _pin(key, last)


def _pin(key: str, last: int) -> None:
    st.session_state[f"{key}_pinned"] = st.session_state[key] < last   # at the end: follow


def save_form(job, folder) -> None:
    """The 'Save this model' row: name, explicit overwrite, Save; the outcome as a message."""
    st.subheader("Save this model")
    c = st.columns([3, 2, 1], vertical_alignment="bottom")
    name = c[0].text_input("Name", key="train_save_name", placeholder=f"my-{job.spec.task}-model",
                           help="1-40 letters, digits, - and _")
    overwrite = c[1].checkbox("Overwrite an existing model", key="train_overwrite")
    if not c[2].button("Save", key="train_save"):
        return
    try:
        path = job.save(name, folder, overwrite)
    except ValueError as e:
        st.error(str(e))
    except OSError as e:
        st.error(f"Could not write the file: {e}")
    else:
        st.session_state[CHOSEN_MODEL] = job.saved_as      # the model picker selects it
        st.success(f"Saved as {path.name}. It is now in the sidebar's model picker on the "
                   "Explore pages.")
