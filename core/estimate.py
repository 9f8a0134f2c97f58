"""How long a training run will take, told before it starts (the Train page's estimate).

    speed = measure_speed(task, cfg, batch_size=128, device="cpu")   # ~1 s of real steps
    est = estimate_run(speed, task, cfg, steps=300, stop_at_target=True)
    est.seconds, est.steps, est.why        # 4.1, 120, "typically 110 steps to the target"

A run's time is its steps (measured per step on this machine, at this size) plus its
evaluations (the job's schedule), a confirmation on more examples when it stops at the target,
and the final score on recipe.FINAL_EVAL_N examples. How many steps a run that stops at the
target takes is the task's `typical_steps` (measured by bench/train_estimate.py with the task's
default schedule); a model that cannot learn the task (Task.cannot_learn) runs all its steps.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from . import recipe
from .train import DEFAULTS, evaluate, train

EVAL_N = 256          # fresh examples per evaluation during a job's training


def schedule(steps: int, task=None) -> tuple[int, int]:
    """(eval_every, snapshot_every): the task's own evaluation cadence where its train_defaults
    set one (eval_every), else at most ~25 evaluations; ~20 attention snapshots."""
    every = int((task.train_defaults.get("eval_every") if task is not None else 0) or 0)
    return every if every > 0 else max(10, steps // 25), max(1, steps // 20)


@dataclass(frozen=True)
class Speed:
    step_s: float     # seconds per optimizer step at this config and batch size
    eval_s: float     # seconds per evaluation on EVAL_N examples


SPEED_STEPS = (6, 40)  # steps measure_speed times: at least the first, at most the second
SPEED_SECONDS = 1.0   # ... and it stops once this much time has gone (after the minimum)


class _Stop(Exception):
    """Ends measure_speed's timing run early (raised from its step callback)."""


def measure_speed(task, cfg, batch_size: int, device) -> Speed:
    """Time training steps of a fresh model of this config: at least SPEED_STEPS[0], then until
    SPEED_SECONDS have passed (at most SPEED_STEPS[1]), so a machine shared with other work is
    sampled over a second, not over a few lucky or unlucky steps. The first step (lazy imports,
    kernel selection) is not counted; step_s is the mean of the others (a run's time is their
sum: the median would leave out the slow steps a busy machine also gives the run). eval_s is the
    faster of two evaluations of EVAL_N examples of the same model (a run evaluates ~25 times:
    the first one's one-off costs are not its typical price)."""
    model = recipe.build(cfg, 0, device)
    stamps: list[float] = []

    def on_step(*_):
        stamps.append(time.perf_counter())
        if len(stamps) >= SPEED_STEPS[0] and stamps[-1] - stamps[0] >= SPEED_SECONDS:
            raise _Stop

    try:
        train(model, task, steps=SPEED_STEPS[1], batch_size=batch_size, warmup=1, eval_every=0,
              eval_n=EVAL_N, callbacks={"on_step": on_step}, device=device)
    except _Stop:
        pass
    step_s = (stamps[-1] - stamps[0]) / (len(stamps) - 1)     # steps 2.. (not the first)
    times = []
    for _ in range(2):        # the first evaluation of a model also pays one-off costs (sine's
        t0 = time.perf_counter()          # forecast: 373 vs 260 ms), which a run pays once
        evaluate(model, task, EVAL_N, seed=1)
        times.append(time.perf_counter() - t0)
    return Speed(step_s=step_s, eval_s=min(times))


def confirm_n(task) -> int:
    """Examples train() evaluates again before it stops at the target (0: no second look)."""
    return int({**DEFAULTS, **task.train_defaults}.get("confirm_n") or 0)


def estimate_seconds(speed: Speed, steps: int, task=None, stop_at_target: bool = False) -> float:
    """Seconds for a run of `steps` steps: the steps, the evaluations during training (the
    job's schedule), a target met confirmed on the task's confirm_n examples when the run stops
    there, and the final evaluation on recipe.FINAL_EVAL_N examples."""
    eval_every, _ = schedule(steps, task)
    evals = -(-steps // eval_every)          # every eval_every steps, and at the last step
    extra = recipe.FINAL_EVAL_N / EVAL_N
    if stop_at_target and task is not None:
        extra += confirm_n(task) / EVAL_N
    return steps * speed.step_s + (evals + extra) * speed.eval_s


@dataclass(frozen=True)
class Estimate:
    seconds: float          # the expected time of the run
    steps: int              # the steps it is expected to take
    all_seconds: float      # the time of all its steps (not stopping at the target)
    why: str                # how `steps` was chosen, in words


def estimate_run(speed: Speed, task, cfg, steps: int, stop_at_target: bool) -> Estimate:
    """The expected time of a run from the measured speed: a run that stops at the target takes
    the task's declared typical_steps (rounded up to the next evaluation, where it can stop),
    unless the model cannot learn the task (Task.cannot_learn: e.g. no positional encoding where
    positions matter) or the task declares none; else all its steps."""
    every, _ = schedule(steps, task)
    full = estimate_seconds(speed, steps, task)
    if not (stop_at_target and task.target):
        return Estimate(full, steps, full, f"all {steps:,} steps (not stopping at the target)")
    if task.cannot_learn(cfg):
        return Estimate(full, steps, full,
                        f"all {steps:,} steps: this model cannot reach the target")
    typical = int(getattr(task, "typical_steps", 0) or 0)
    if typical <= 0:
        return Estimate(full, steps, full,
                        f"all {steps:,} steps: no typical run is known for this task")
    n = min(steps, -(-typical // every) * every)
    if n >= steps:
        return Estimate(full, steps, full, f"all {steps:,} steps: this task typically needs "
                                           f"{typical:,} to reach the target")
    return Estimate(estimate_seconds(speed, n, task, stop_at_target=True), n, full,
                    f"typically about {typical:,} steps to the target, then it stops "
                    f"(all {steps:,} steps would take longer)")
