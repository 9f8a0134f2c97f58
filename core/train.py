"""The training engine: AdamW, warm-up then cosine decay, clipping, callbacks, cancel, snapshots.

    result = train(model, TASKS["sort"], steps=600, callbacks=[printer], cancel=event)

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

from .device import get_device


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
          target: dict | None = None, eval_every: int = 100, eval_n: int = 500,
          snapshot_every: int = 0, cancel: threading.Event | None = None,
          device=None) -> TrainResult:
    """Train `model` on `task` in place and return a TrainResult.

    Defaults come from task.train_defaults. `target` ({metric: value}) stops early once an
    evaluation (every eval_every steps, eval_n fresh examples) meets it. `cancel` is checked
    between steps. `snapshot_every` > 0 records the probe input's attention at step 0, every
    N steps and at the end. Deterministic for a seed on the CPU (data come from a seeded
    generator; seed the model's initialisation yourself, e.g. torch.manual_seed, before building).
    """
    d = task.train_defaults
    steps = int(steps or d["steps"])
    lr = float(lr or d["lr"])
    batch_size = int(batch_size or d["batch_size"])
    warmup = int(d.get("warmup", 100) if warmup is None else warmup)
    if steps < 1 or batch_size < 1 or lr <= 0:
        raise ValueError("steps and batch_size must be >= 1 and lr > 0")
    callbacks = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
    device = torch.device(device) if device is not None else model.device
    model.to(device).train()
    gen = torch.Generator(device="cpu").manual_seed(seed)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    result = TrainResult()
    t0 = time.perf_counter()

    def take_snapshot(step):
        att = snapshot(model, task, device)
        result.snapshots.append((step, att))
        _call(callbacks, "on_snapshot", step, att)

    if snapshot_every:
        take_snapshot(0)
    for step in range(steps):
        if cancel is not None and cancel.is_set():
            result.stopped = "cancelled"
            break
        rate = lr_at(step, lr, warmup, steps)
        for group in opt.param_groups:
            group["lr"] = rate
        batch = task.batch(batch_size, gen, device)
        loss = task.loss(model, batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        value = float(loss.detach())
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
            if target and task.meets_bar(metrics, target):
                result.stopped = "target"
                break
    if snapshot_every and (not result.snapshots or result.snapshots[-1][0] != result.steps):
        take_snapshot(result.steps)
    model.eval()
    result.seconds = time.perf_counter() - t0
    return result


if __name__ == "__main__":          # python -m core.train: the command line is core.train_cli
    import runpy                    # (run by name, so this module never imports it)
    runpy.run_module("core.train_cli", run_name="__main__", alter_sys=True)
