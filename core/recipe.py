"""One recipe for a trained model: build it from a seed, train it, score it on fresh examples and
describe it in the metadata its checkpoint carries.

`python -m core.train`, `python -m core.zoo` and the Train page (core.jobs) all use it, so their
numbers mean the same thing: final metrics on FINAL_EVAL_N fresh examples drawn with seed
`seed + FINAL_EVAL_SEED_OFFSET` (never the training stream, nor the evaluations during training),
and one metadata schema (`metadata`).

    model = build(TASKS["sort"].make_config(), seed=0)
    trained = train_and_evaluate(TASKS["sort"], model, seed=0, steps=600)
    trained.metrics, trained.meets_bar
    save(trained, "checkpoints/my_sort.safetensors")
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoints import save_checkpoint
from .models import build_model
from .train import TrainResult, evaluate, train

FINAL_EVAL_N = 2000
FINAL_EVAL_SEED_OFFSET = 1_000_000   # final metrics: examples drawn from seed + this offset
_INIT_LOCK = threading.Lock()        # seeding + building a model uses torch's global RNG


@dataclass
class Trained:
    """What train_and_evaluate() hands back."""
    task: object
    model: torch.nn.Module
    result: TrainResult
    metrics: dict                    # FINAL_EVAL_N fresh examples ({} when abandoned)
    info: dict                       # what the checkpoint records: metadata()

    @property
    def meets_bar(self) -> bool:
        return bool(self.metrics) and self.task.meets_bar(self.metrics)


def build(cfg, seed: int, device=None) -> torch.nn.Module:
    """A fresh model of `cfg` initialised from `seed`: the same weights for the same seed, from
    any thread, and torch's global random state is left as it was."""
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(cfg)
    return model if device is None else model.to(device)


def final_metrics(task, model, seed: int) -> dict:
    """The task's metrics on FINAL_EVAL_N fresh examples (seed + FINAL_EVAL_SEED_OFFSET)."""
    return evaluate(model, task, FINAL_EVAL_N, seed=seed + FINAL_EVAL_SEED_OFFSET)


def counted(n: int, noun: str) -> str:
    """'1 layer', '2 layers': a count and its noun, plural unless one."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def describe(cfg) -> str:
    """'2 layers × 2 heads, d_model 32, learned PE, pre-LN'; for the GRU pair
    'GRU 64, additive attention' (or 'GRU 64, fixed context')."""
    if getattr(cfg, "d_memory", None) is not None:          # core.rnn_config.RNNConfig
        return (f"{'bidirectional ' if cfg.bidirectional else ''}GRU {cfg.d_hidden}, "
                + ("additive attention" if cfg.attention else "fixed context"))
    window = getattr(cfg, "in_window", 1)
    return (f"{counted(cfg.n_layers, 'layer')} × {counted(cfg.n_heads, 'head')}, d_model "
            f"{cfg.d_model}, {cfg.pos} PE, {cfg.norm}-LN"
            + (f", input window {window}" if window > 1 else ""))


def metadata(task, model, result: TrainResult, metrics: dict, *, seed: int, lr: float,
             batch_size: int, target: dict | None, made_by: str, preset=None,
             overrides=None) -> dict:
    """The one metadata schema of a trained checkpoint (stored as its `info`)."""
    return {"task": task.name, "metrics": metrics, "steps": result.steps,
            "train_seconds": round(result.seconds, 2), "stopped": result.stopped,
            "seed": seed, "lr": lr, "batch_size": batch_size, "target": target,
            "target_reached": task.meets_bar(metrics, target) if target and metrics else None,
            "eval_n": FINAL_EVAL_N, "eval_seed": seed + FINAL_EVAL_SEED_OFFSET,
            "preset": preset, "overrides": dict(overrides or {}), "config": describe(model.cfg),
            "device": str(model.device), "torch": torch.__version__, "made_by": made_by}


def train_and_evaluate(task, model, *, seed: int = 0, steps: int | None = None,
                       lr: float | None = None, batch_size: int | None = None,
                       target: dict | None = None, callbacks=(), cancel=None, device=None,
                       warmup: int | None = None, eval_every: int = 100, eval_n: int = 500,
                       snapshot_every: int = 0, made_by: str = "core.recipe", preset=None,
                       overrides=None, abandon: threading.Event | None = None) -> Trained:
    """Train `model` on `task` (core.train.train; defaults from task.train_defaults), then score it
    on fresh examples and describe it. Nothing is written: see save(). `abandon` (an Event set,
    e.g., when the process exits) skips the final evaluation once training has stopped."""
    d = task.train_defaults
    lr = float(lr or d["lr"])
    batch_size = int(batch_size or d["batch_size"])
    result = train(model, task, steps=steps, lr=lr, batch_size=batch_size, seed=seed,
                   callbacks=callbacks, warmup=warmup, target=target, eval_every=eval_every,
                   eval_n=eval_n, snapshot_every=snapshot_every, cancel=cancel, device=device)
    metrics = {} if abandon is not None and abandon.is_set() else \
        final_metrics(task, model, seed)
    info = metadata(task, model, result, metrics, seed=seed, lr=lr, batch_size=batch_size,
                    target=target, made_by=made_by, preset=preset, overrides=overrides)
    return Trained(task, model, result, metrics, info)


def save(trained: Trained, path, **info) -> Path:
    """Write the trained model and its metadata (plus any `info` given) to `path` atomically."""
    return save_checkpoint(trained.model, path, info={**trained.info, **info})
