"""Background training jobs: start, poll, stop and save a training run from any thread, with no
UI (the Train page and a notebook use it alike).

    job = TrainingJob(JobSpec("sort", TASKS["sort"].make_config(), steps=600, lr=5e-3,
                              batch_size=128, seed=0)).start()
    job.view()["step"], job.view()["losses"][-1]       # poll: a consistent copy of the progress
    job.stop(); job.join()                             # cancel between two steps
    job.save("my_sort", "checkpoints")                 # once it has ended

A job owns its model, a threading.Event to cancel and a lock around the progress its worker thread
appends to. The run is core.recipe's (train, then evaluate on fresh examples, then metadata), so a
saved model records the same things as one from `python -m core.train`. At most MAX_JOBS run at
once in a process; at interpreter exit every job is cancelled and briefly awaited. The time a run
will take, before it starts, is core.estimate's (measure_speed, estimate_run; names kept here).
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

from . import naming, recipe
from .checkpoints import save_checkpoint
from .estimate import (EVAL_N, Estimate, Speed, estimate_run,  # noqa: F401 (re-exported)
                       estimate_seconds, measure_speed, schedule)
from .models import build_model
from .tasks import TASKS
from .zoo import shipped_names

MAX_JOBS = 4          # trainings running at once in this process (all users of a server)
STATES = ("starting", "running", "done", "target", "cancelled", "error")

_SLOTS = threading.BoundedSemaphore(MAX_JOBS)
_SAVE_LOCK = threading.Lock()   # "does the name exist?" and the write happen as one step
_LIVE: "weakref.WeakSet[TrainingJob]" = weakref.WeakSet()   # started jobs, for a clean exit
_EXITING = threading.Event()
# Trainings running at once share the CPU's threads (a job's torch threads = its share of what
# the job's thread had at its start, at least 1). Two jobs with every thread each make
# OpenMP throttle its waiting threads (more of them than CPUs): on 2 cores two sort jobs then
# took 1.81x one job's time, sharing 1.36x; dates 1.83x vs 1.46x (bench/train_concurrent.py).
# False: every job keeps all its threads.
SHARE_THREADS = True
_RUN_IDS = itertools.count(1)
log = logging.getLogger(__name__)


def count_parameters(cfg) -> int:
    with torch.device("meta"):                      # shapes only, nothing allocated
        return build_model(cfg).num_parameters()


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
    """One training run in a daemon thread. Everything a reader needs goes through view()."""

    def __init__(self, spec: JobSpec, device=None, estimate_s: float | None = None):
        from .device import get_device
        self.spec, self.estimate_s = spec, estimate_s
        self.device = torch.device(device) if device is not None else get_device()
        self.task = TASKS[spec.task]
        self.eval_every, self.snapshot_every = schedule(spec.steps, self.task)
        self.run_id = next(_RUN_IDS)
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.state = "starting"   # one of STATES
        self.step = 0
        self.losses: list[float] = []
        self._stamps: list[float] = []                 # perf_counter() after each step
        self.eval_steps: list[int] = []
        self.evals: list[dict] = []
        self.snapshots: list[tuple[int, dict]] = []    # [(step, {name: (H, Tq, Tk) ndarray})]
        self.labels: dict = {}                         # {name: (q labels, k labels)}
        self.final: dict | None = None
        self.target_reached: bool | None = None
        self.error: str | None = None
        self.model = None                              # set once the run has ended cleanly
        self.info: dict = {}                           # the checkpoint metadata (recipe)
        self.started = self.ended = None
        self.train_seconds = 0.0
        self.saved_as: str | None = None
        self._threads0: int | None = None              # torch threads of the worker at start

    # -- called by the owner (a page, a notebook)
    def start(self) -> "TrainingJob":
        """Start the run in a daemon thread; RuntimeError when MAX_JOBS already run."""
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
        """Ask the run to stop after the current step (it then still scores the model)."""
        self.cancel.set()

    def join(self, timeout=None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self.state in ("starting", "running")

    def view(self) -> dict:
        """A consistent copy of the progress (lists copied under the lock), with elapsed
        seconds, the estimated time left ('eta') and 'running'."""
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

    def save(self, name: str, folder, overwrite: bool = False) -> Path:
        """Write the finished model to folder/<name>.safetensors atomically; ValueError with a
        message for the user when the name is invalid or taken (unless overwrite) or there is
        no finished model."""
        name = naming.check_name(name, reserved=shipped_names())
        if self.model is None or self.running:
            raise ValueError("There is no finished model to save yet.")
        with _SAVE_LOCK:
            taken = naming.existing(name, folder)
            if taken is not None and not overwrite:
                raise ValueError(f"A model named '{taken}' already exists. Choose another name, "
                                 "or tick 'Overwrite' to replace it.")
            name = taken or name    # overwrite keeps the existing spelling ('Foo' vs 'foo')
            path = save_checkpoint(self.model, Path(folder) / f"{name}{naming.SUFFIX}",
                                   self.info)
        self.saved_as = name
        return path

    # -- progress
    def _eta(self, v) -> float | None:
        if not v["running"]:
            return 0.0
        if v["per_step"] is not None:
            return (v["steps"] - v["step"]) * v["per_step"]
        if self.estimate_s is not None:
            return max(0.0, self.estimate_s - v["elapsed"])
        return None

    def _per_step(self) -> float | None:
        """Seconds per step over this run's recent steps (at least two evaluation periods, so
        the pauses for evaluations and snapshots count; the slow first step does not)."""
        t = self._stamps
        if len(t) < 4:
            return None
        w = min(len(t) - 2, max(20, 2 * self.eval_every))
        return (t[-1] - t[-1 - w]) / w

    # -- the worker thread's callbacks (core.train's on_step / on_eval / on_snapshot)
    def _share_threads(self) -> None:
        """In the worker thread: this job's share of the threads, given the jobs running now
        (torch.set_num_threads only when it changes)."""
        if not SHARE_THREADS or self._threads0 is None:
            return
        n = sum(1 for job in list(_LIVE) if job.running)
        want = max(1, self._threads0 // max(1, n))
        if want != torch.get_num_threads():
            torch.set_num_threads(want)

    def on_step(self, step, loss, lr):
        self._share_threads()
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
        self._threads0 = torch.get_num_threads()       # this thread's, before any sharing
        try:
            model = recipe.build(s.config, s.seed, self.device)
            labels = task.probe_labels(model)
            with self._lock:
                self.labels, self.state = labels, "running"
            warmup = min(int(task.train_defaults.get("warmup", 100)), max(1, s.steps // 10))
            trained = recipe.train_and_evaluate(
                task, model, seed=s.seed, steps=s.steps, lr=s.lr, batch_size=s.batch_size,
                target=(task.target or None) if s.stop_at_target else None, callbacks=[self],
                cancel=self.cancel, device=self.device, warmup=warmup,
                eval_every=self.eval_every, eval_n=EVAL_N, snapshot_every=self.snapshot_every,
                made_by="train page", abandon=_EXITING)
            if _EXITING.is_set():
                return
            reached = task.meets_bar(trained.metrics, task.target) if task.target else None
            with self._lock:
                self.final, self.target_reached, self.model = trained.metrics, reached, model
                self.info = {**trained.info, "target": task.target or None,
                             "target_reached": reached}
                self.train_seconds = trained.result.seconds
                self.state = trained.result.stopped            # done | target | cancelled
        except Exception as e:                         # shown by the owner, never raised there
            log.exception("training %s failed", s.task)
            with self._lock:
                self.error = f"{type(e).__name__}: {e}"
                self.state = "error"
        finally:
            if self._threads0 is not None and torch.get_num_threads() != self._threads0:
                torch.set_num_threads(self._threads0)  # also what threads started later get
            with self._lock:
                self.ended = time.time()
            _SLOTS.release()


@atexit.register
def _stop_all(wait_s: float = 5.0) -> None:
    """At exit: cancel every run and wait briefly, so no thread is still inside torch while the
    interpreter tears down (which aborts the process)."""
    _EXITING.set()
    jobs = list(_LIVE)
    for job in jobs:
        job.stop()
    deadline = time.time() + wait_s
    for job in jobs:
        job.join(max(0.0, deadline - time.time()))
