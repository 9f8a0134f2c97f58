"""The training engine: AdamW, warm-up then cosine decay, clipping, callbacks, cancel, snapshots.

    result = train(model, task, target=task.target, callbacks=[printer], cancel=event)

The optimizer is core.optim.FlatAdamW (one buffer for all parameters: a few operations a step,
and no torch._dynamo import before the first step). Each task's `train_defaults` hold the
settings of a live run: steps, lr, batch_size, warmup, and how often and on how many fresh
examples to evaluate (eval_every, eval_n, confirm_n); the call can override any of them.

`core` knows nothing of the UI: the app passes callbacks (`on_step(step, loss, lr)`,
`on_eval(step, metrics)`, `on_snapshot(step, attention)`) and a `threading.Event` to stop.
Run as a command line (core.train_cli): `python -m core.train --task sort --out x.safetensors`.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import torch

from .optim import FlatAdamW


@dataclass
class TrainResult:
    steps: int = 0                       # optimizer steps taken
    seconds: float = 0.0                 # wall time of the loop (evaluations included)
    losses: list = field(default_factory=list)
    lrs: list = field(default_factory=list)
    evals: list = field(default_factory=list)      # [(step, metrics dict)]
    snapshots: list = field(default_factory=list)  # [(step, {name: (H, Tq, Tk) CPU tensor})]
    stopped: str = "done"                # "done" | "target" | "cancelled"

    @property
    def metrics(self) -> dict:
        return self.evals[-1][1] if self.evals else {}


# What train() uses where neither the call nor task.train_defaults says otherwise. An evaluation
# every 25 steps on 256 fresh examples costs about one training step at batch 128; a target met
# there is checked on 1000 more before the run stops.
DEFAULTS = dict(steps=1000, lr=3e-3, batch_size=128, warmup=100, eval_every=25, eval_n=256,
                confirm_n=1000)


def lr_at(step: int, lr: float, warmup: int, total: int, floor: float = 0.1) -> float:
    """Linear warm-up over `warmup` steps, then cosine decay to floor·lr at `total`."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def _call(callbacks, name, *args):
    for cb in callbacks:
        fn = getattr(cb, name, None) if not isinstance(cb, dict) else cb.get(name)
        if fn is not None:
            fn(*args)


def evaluate(model, task, n: int, seed: int) -> dict:
    was_training = model.training
    model.eval()
    with torch.no_grad():
        metrics = task.evaluate(model, n=n, seed=seed)
    model.train(was_training)
    return metrics


def snapshot(model, task, device) -> dict:
    """The attention of every head on the task's fixed probe input, {name: (H, Tq, Tk)} on CPU."""
    inputs, _ = task.probe(device)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        att = model(*inputs, return_attention=True).attention
    model.train(was_training)
    return {k: v[0].float().cpu() for k, v in att.items()}


def train(model, task, steps: int | None = None, lr: float | None = None,
          batch_size: int | None = None, seed: int = 0, callbacks=(), *,
          warmup: int | None = None, weight_decay: float = 0.01, clip: float = 1.0,
          target: dict | None = None, eval_every: int | None = None, eval_n: int | None = None,
          confirm_n: int | None = None, snapshot_every: int = 0,
          cancel: threading.Event | None = None, device=None) -> TrainResult:
    """Train `model` on `task` in place and return a TrainResult.

    Defaults come from task.train_defaults (steps, lr, batch_size, warmup, eval_every, eval_n,
    confirm_n). `target` ({metric: value}) stops early once an evaluation (every eval_every
    steps, eval_n fresh examples) meets it and a second one on confirm_n other fresh examples
    agrees (0: no second look), so that a lucky small sample does not end the run. `cancel` is
    checked between steps. `snapshot_every` > 0 records the probe input's attention at step 0,
    every N steps and at the end. Deterministic for a seed on the CPU (data come from a seeded
    generator; seed the model's initialisation yourself, e.g. torch.manual_seed, before building).
    """
    d = {**DEFAULTS, **task.train_defaults}
    steps = int(steps or d["steps"])
    lr = float(lr or d["lr"])
    batch_size = int(batch_size or d["batch_size"])
    warmup = int(d["warmup"] if warmup is None else warmup)
    eval_every = int(d["eval_every"] if eval_every is None else eval_every)
    eval_n = int(d["eval_n"] if eval_n is None else eval_n)
    confirm_n = int(d["confirm_n"] if confirm_n is None else confirm_n)
    if steps < 1 or batch_size < 1 or lr <= 0:
        raise ValueError("steps and batch_size must be >= 1 and lr > 0")
    callbacks = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
    device = torch.device(device) if device is not None else model.device
    model.to(device).train()
    gen = torch.Generator(device="cpu").manual_seed(seed)
    opt = FlatAdamW(model, weight_decay=weight_decay)
    result = TrainResult()
    t0 = time.perf_counter()

    def take_snapshot(step):
        att = snapshot(model, task, device)
        result.snapshots.append((step, att))
        _call(callbacks, "on_snapshot", step, att)

    try:
        if snapshot_every:
            take_snapshot(0)
        batches = task.batches(batch_size, gen, device)
        for step in range(steps):
            if cancel is not None and cancel.is_set():
                result.stopped = "cancelled"
                break
            rate = lr_at(step, lr, warmup, steps)
            batch = next(batches)
            loss = task.loss(model, batch)
            opt.zero_grad()
            loss.backward()
            if clip:
                opt.clip(clip)
            opt.step(rate)
            value = float(loss.detach())         # the one number read back per step
            result.steps = step + 1
            result.losses.append(value)
            result.lrs.append(rate)
            _call(callbacks, "on_step", step + 1, value, rate)
            last = step + 1 == steps
            if snapshot_every and ((step + 1) % snapshot_every == 0 and not last):
                take_snapshot(step + 1)
            if (eval_every and (step + 1) % eval_every == 0) or last:
                metrics = evaluate(model, task, eval_n, seed=10_000 + seed)
                result.evals.append((step + 1, metrics))
                _call(callbacks, "on_eval", step + 1, metrics)
                if target and task.meets_bar(metrics, target) and (not confirm_n or task.meets_bar(
                        evaluate(model, task, confirm_n, seed=30_000 + seed + step), target)):
                    result.stopped = "target"
                    break
    finally:
        opt.release()
    if snapshot_every and (not result.snapshots or result.snapshots[-1][0] != result.steps):
        take_snapshot(result.steps)
    model.eval()
    result.seconds = time.perf_counter() - t0
    return result


if __name__ == "__main__":          # python -m core.train: the command line is core.train_cli
    import runpy                    # (run by name, so this module never imports it)
    runpy.run_module("core.train_cli", run_name="__main__", alter_sys=True)
