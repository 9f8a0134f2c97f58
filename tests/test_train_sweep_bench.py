"""bench/train_sweep.py: a variant's overrides reach the run, a miss counts as inf."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import train_sweep as sw  # noqa: E402

from core.tasks import TASKS  # noqa: E402


def test_overrides_reach_the_model_and_the_run(monkeypatch, one_thread):
    seen = {}
    real_build, real_train = sw.recipe.build, sw.train

    def build(cfg, seed, device):
        seen["cfg"] = cfg
        return real_build(cfg, seed, device)

    def train(model, task, **kw):
        seen["kw"] = kw
        return real_train(model, task, **kw)

    monkeypatch.setattr(sw.recipe, "build", build)
    monkeypatch.setattr(sw, "train", train)
    steps, seconds = sw.steps_to_target(
        TASKS["sort"], {"steps": 4, "batch_size": 8, "lr": 1e-3, "eval_every": 2,
                        "config": {"d_model": 16, "n_heads": 2}}, 0, torch.device("cpu"))
    assert math.isinf(steps) and seconds > 0          # 4 steps cannot sort: a miss
    assert seen["cfg"].d_model == 16 and seen["cfg"].n_heads == 2
    kw = seen["kw"]
    assert (kw["steps"], kw["batch_size"], kw["lr"], kw["eval_every"]) == (4, 8, 1e-3, 2)
    assert kw["warmup"] == 1 and kw["target"] == dict(TASKS["sort"].target)
