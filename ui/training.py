"""Live training for the Train page: a background job per browser session, speed estimate, save.

The job (TrainingJob) is Streamlit-free: it owns its model, its threading.Event and a lock around
the progress data its worker thread appends to; the thread never calls Streamlit. The page keeps
the job in st.session_state (one per session, so sessions never share a model) and polls
`job.view()` from an st.fragment (ui.train.views).
"""
from __future__ import annotations

import atexit
import itertools
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.checkpoints import save_checkpoint
from core.models import build_model
from core.tasks import TASKS
from core.train import evaluate, train
from core.zoo import shipped_names

from . import naming

LIMITS = dict(layers=(1, 6), heads=(1, 8), steps=(10, 20000), lr=(1e-4, 1e-1),
              batch=(8, 512), seed=(0, 2**31 - 1))
D_MODELS = (16, 32, 48, 64, 96, 128)
EVAL_N = 256          # fresh examples per evaluation during training
FINAL_N = 500         # fresh examples for the final metrics
POLL_S = 1.0          # how often the page's fragment polls a running job
MAX_JOBS = 4          # trainings running at once in this server process (all sessions)
JOB_KEY = "train_job"
STATES = {"starting": "Starting…", "running": "Training…", "done": "Finished all steps",
          "target": "Stopped early at target", "cancelled": "Stopped", "error": "Failed"}

_SLOTS = threading.BoundedSemaphore(MAX_JOBS)
_INIT_LOCK = threading.Lock()   # seeding + building a model uses torch's global RNG
_SAVE_LOCK = threading.Lock()   # "does the name exist?" and the write happen as one step
_LIVE: "weakref.WeakSet[TrainingJob]" = weakref.WeakSet()   # started jobs, for a clean exit
_EXITING = threading.Event()
_RUN_IDS = itertools.count(1)
log = logging.getLogger(__name__)


# -- choosing the run ------------------------------------------------------------------------
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


def count_parameters(cfg) -> int:
    with torch.device("meta"):                      # shapes only, nothing allocated
        return build_model(cfg).num_parameters()


def schedule(steps: int) -> tuple[int, int]:
    """(eval_every, snapshot_every): at most ~25 evaluations and ~20 attention snapshots."""
    return max(10, steps // 25), max(1, steps // 20)


def _build(cfg, seed: int):
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(cfg)


@dataclass(frozen=True)
class Speed:
    step_s: float     # seconds per optimizer step at this config and batch size
    eval_s: float     # seconds per evaluation on EVAL_N examples


def measure_speed(task, cfg, batch_size: int, device) -> Speed:
    """Time 4 training steps of a fresh model of this config; the first (lazy imports, kernel
    selection) is not counted: step_s is the mean of steps 2-4. eval_s times one evaluation."""
    model = _build(cfg, 0).to(device)
    stamps = []
    train(model, task, steps=4, batch_size=batch_size, warmup=1, eval_every=0, eval_n=EVAL_N,
          callbacks={"on_step": lambda *a: stamps.append(time.perf_counter()),
                     "on_eval": lambda *a: stamps.append(time.perf_counter())}, device=device)
    return Speed(step_s=(stamps[3] - stamps[0]) / 3, eval_s=stamps[4] - stamps[3])


def estimate_seconds(speed: Speed, steps: int) -> float:
    """Steps, the evaluations during training and the final one (FINAL_N examples)."""
    eval_every, _ = schedule(steps)
    evals = steps // eval_every + 1
    return steps * speed.step_s + (evals + FINAL_N / EVAL_N) * speed.eval_s


def duration(seconds: float | None) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "–"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


# -- the job ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobSpec:
    task: str
    config: object          # a TransformerConfig
    steps: int
    lr: float
    batch_size: int
    seed: int
    stop_at_target: bool = True


class TrainingJob:
    """One training run in a daemon thread. Everything the page reads goes through view()."""

    def __init__(self, spec: JobSpec, device, estimate_s: float | None = None):
        self.spec, self.device, self.estimate_s = spec, torch.device(device), estimate_s
        self.task = TASKS[spec.task]
        self.eval_every, self.snapshot_every = schedule(spec.steps)
        self.run_id = next(_RUN_IDS)
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.state = "starting"   # starting | running | done | target | cancelled | error
        self.step = 0
        self.losses: list[float] = []
        self._stamps: list[float] = []                 # perf_counter() after each step
        self.eval_steps: list[int] = []
        self.evals: list[dict] = []
        self.snapshots: list[tuple[int, dict]] = []    # [(step, {name: (H, Tq, Tk) ndarray})]
        self.labels: dict = {}                         # {name: (q labels, k labels) or None}
        self.final: dict | None = None
        self.target_reached: bool | None = None
        self.error: str | None = None
        self.model = None                              # set once the run has ended cleanly
        self.started = self.ended = None
        self.train_seconds = 0.0
        self.saved_as: str | None = None

    # called from the page
    def start(self) -> "TrainingJob":
        if not _SLOTS.acquire(blocking=False):
            raise RuntimeError(f"The server is already running {MAX_JOBS} trainings; "
                               "try again when one of them has finished.")
        self.started = time.time()
        _LIVE.add(self)
        self._thread = threading.Thread(target=self._run, name=f"train-{self.spec.task}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.cancel.set()

    @property
    def running(self) -> bool:
        return self.state in ("starting", "running")

    def view(self) -> dict:
        """A consistent copy of the progress for rendering (lists copied under the lock)."""
        with self._lock:
            v = dict(state=self.state, step=self.step, steps=self.spec.steps,
                     losses=list(self.losses), eval_steps=list(self.eval_steps),
                     evals=list(self.evals), snapshots=list(self.snapshots),
                     labels=dict(self.labels), final=self.final, error=self.error,
                     target_reached=self.target_reached, stopping=self.cancel.is_set(),
                     started=self.started, ended=self.ended, train_seconds=self.train_seconds)
            v["per_step"] = self._per_step()
        now = v["ended"] or time.time()
        v["elapsed"] = now - (v["started"] or now)
        v["running"] = v["state"] in ("starting", "running")
        v["eta"] = self._eta(v)
        return v

    def _eta(self, v) -> float | None:
        if not v["running"]:
            return 0.0
        if v["per_step"] is not None:
            return (v["steps"] - v["step"]) * v["per_step"]
        if self.estimate_s is not None:
            return max(0.0, self.estimate_s - v["elapsed"])
        return None

    # the worker thread: no Streamlit in here
    def _per_step(self) -> float | None:
        """Seconds per step over this run's recent steps (at least two evaluation periods, so
        the pauses for evaluations and snapshots count; the slow first step does not)."""
        t = self._stamps
        if len(t) < 4:
            return None
        w = min(len(t) - 2, max(20, 2 * self.eval_every))
        return (t[-1] - t[-1 - w]) / w

    def on_step(self, step, loss, lr):
        now = time.perf_counter()
        with self._lock:
            self.step = step
            self._stamps.append(now)
            self.losses.append(loss)

    def on_eval(self, step, metrics):
        with self._lock:
            self.eval_steps.append(step)
            self.evals.append(dict(metrics))

    def on_snapshot(self, step, attention):
        arrays = {k: v.numpy().astype(np.float32) for k, v in attention.items()}
        with self._lock:
            self.snapshots.append((step, arrays))

    def _run(self) -> None:
        s, task = self.spec, self.task
        try:
            model = _build(s.config, s.seed).to(self.device)
            _, probe_labels = task.probe(self.device)
            labels = {n: _labels_for(probe_labels, n) for n in model.attention_names()}
            with self._lock:
                self.labels, self.state = labels, "running"
            warmup = min(int(task.train_defaults.get("warmup", 100)), max(1, s.steps // 10))
            result = train(model, task, steps=s.steps, lr=s.lr, batch_size=s.batch_size,
                           seed=s.seed, callbacks=[self], warmup=warmup,
                           target=(task.target or None) if s.stop_at_target else None,
                           eval_every=self.eval_every, eval_n=EVAL_N,
                           snapshot_every=self.snapshot_every, cancel=self.cancel,
                           device=self.device)
            if _EXITING.is_set():
                return
            final = evaluate(model, task, FINAL_N, seed=20_000 + s.seed)
            reached = task.meets_bar(final, task.target) if task.target else None
            with self._lock:
                self.final, self.target_reached, self.model = final, reached, model
                self.train_seconds = result.seconds
                self.state = result.stopped            # done | target | cancelled
        except Exception as e:                         # shown on the page, never raised there
            log.exception("training %s failed", s.task)
            with self._lock:
                self.error = f"{type(e).__name__}: {e}"
                self.state = "error"
        finally:
            with self._lock:
                self.ended = time.time()
            _SLOTS.release()

    def join(self, timeout=None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


@atexit.register
def _stop_all(wait_s: float = 5.0) -> None:
    """At server shutdown: cancel every run and wait briefly, so no thread is still inside
    torch while the interpreter tears down (which aborts the process)."""
    _EXITING.set()
    jobs = list(_LIVE)
    for job in jobs:
        job.stop()
    deadline = time.time() + wait_s
    for job in jobs:
        job.join(max(0.0, deadline - time.time()))


def _labels_for(probe_labels, name):
    try:
        return probe_labels[name]      # SameLabels answers any self-attention name
    except (KeyError, TypeError):
        return None


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


def target_text(task) -> str:
    """'token_acc ≥ 0.99, exact ≥ 0.95' (≤ for metrics where lower is better)."""
    return ", ".join(f"{m} {'≤' if m in task.lower_is_better else '≥'} {x}"
                     for m, x in (task.target or {}).items())


def outcome(v: dict, task) -> tuple[str, str] | None:
    """(level, message) on the final metrics once a run has ended: level is 'success' when the
    target was reached, 'warning' when not, 'info' when the task has no target."""
    if v["final"] is None:
        return None
    how = {"target": "stopped early at target", "cancelled": f"stopped at step {v['step']:,}",
           "done": "all steps done"}.get(v["state"], v["state"])
    shown = ", ".join(f"{m} {fmt(x)}" for m, x in v["final"].items())
    msg = f"Final metrics on {FINAL_N} fresh examples: {shown} ({how})."
    if v["target_reached"] is None:
        return "info", msg
    if v["target_reached"]:
        return "success", f"{msg} Target reached."
    return "warning", f"{msg} Target ({target_text(task)}) not reached: try more steps."


def thin(losses: list, most: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """(steps, losses) with at most `most` points (every k-th) so long runs plot quickly."""
    y = np.asarray(losses, dtype=np.float64)
    x = np.arange(1, y.size + 1)
    k = max(1, -(-y.size // most))
    return x[k - 1::k], y[k - 1::k]


# -- saving ----------------------------------------------------------------------------------
def save(job: TrainingJob, name: str, folder, overwrite: bool = False) -> Path:
    """Write the job's model to folder/<name>.safetensors atomically; ValueError with a message
    for the user when the name is invalid or taken (unless overwrite) or there is no model."""
    name = naming.check_name(name, reserved=shipped_names())
    v = job.view()
    if job.model is None or v["running"]:
        raise ValueError("There is no finished model to save yet.")
    s = job.spec
    info = dict(task=s.task, metrics=v["final"] or {}, steps=v["step"],
                train_seconds=round(v["train_seconds"], 2), seed=s.seed, lr=s.lr,
                batch_size=s.batch_size, stopped=v["state"], target=job.task.target,
                target_reached=v["target_reached"], config=summary(s.config),
                saved_by="train page")
    with _SAVE_LOCK:
        taken = naming.existing(name, folder)
        if taken is not None and not overwrite:
            raise ValueError(f"A model named '{taken}' already exists. Choose another name, or "
                             "tick 'Overwrite' to replace it.")
        name = taken or name        # overwrite keeps the existing spelling ('Foo' vs 'foo')
        path = save_checkpoint(job.model, Path(folder) / f"{name}{naming.SUFFIX}", info)
    job.saved_as = name
    return path


def summary(cfg) -> str:
    """'2 layers × 2 heads, d_model 32, learned PE, pre-LN'."""
    return (f"{cfg.n_layers} layers × {cfg.n_heads} heads, d_model {cfg.d_model}, "
            f"{cfg.pos} PE, {cfg.norm}-LN")
