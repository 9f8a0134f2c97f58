"""How many steps does a task need to its target under other settings? The sweep behind the
tasks' train_defaults (issue 14: fewer, cheaper steps rather than faster ones).

    python bench/train_sweep.py sort '[{}, {"batch_size": 64, "lr": 0.02, "steps": 320}]'
    python bench/train_sweep.py dates '[{"lr": 0.015, "steps": 700}]' --seeds 0,1,2,3
    python bench/train_sweep.py sine '[{"config": {"d_model": 32, "n_heads": 2}}]'

Each variant overrides the task's train_defaults (steps, lr, batch_size, warmup, eval_every)
and its config ("config": {...}); {} is the defaults. Every seed trains as the Train page
does (core.train.train with the job's evaluation cadence, core.jobs.EVAL_N examples, stop at
the target after a confirmation, warm-up capped at steps // 10) and reports the steps it took
("inf": it missed within its steps). Steps to the target do not depend on the machine's load,
so a sweep may run beside other work; the seconds beside them do. A step's price at another
batch size is bench/train_profile.py's. Runs on one thread unless --threads says otherwise.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from core import jobs, recipe  # noqa: E402
from core.tasks import TASKS  # noqa: E402
from core.train import train  # noqa: E402


def run_variant(task, variant: dict, seed: int, device):
    """One seeded run of `variant` ({} = the defaults) as the Train page runs it -> the
    core.train.TrainResult (its steps, whether it stopped at the target, its evaluations)."""
    v = dict(variant)
    d = task.train_defaults
    cfg = task.make_config(**v.pop("config", {}))
    steps = int(v.pop("steps", d["steps"]))
    every = int(v.pop("eval_every", jobs.schedule(steps, task)[0]))
    warmup = int(v.pop("warmup", min(int(d.get("warmup", 100)), max(1, steps // 10))))
    model = recipe.build(cfg, seed, device)
    return train(model, task, seed=seed, steps=steps, target=dict(task.target),
                 eval_every=every, eval_n=jobs.EVAL_N, warmup=warmup, device=device, **v)


def steps_to_target(task, variant: dict, seed: int, device) -> tuple[float, float]:
    """(steps to the target or inf, seconds) of one seeded run of `variant`."""
    t0 = time.perf_counter()
    r = run_variant(task, variant, seed, device)
    return (r.steps if r.stopped == "target" else float("inf")), time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("task", choices=sorted(TASKS))
    ap.add_argument("variants", help="a JSON list of overrides, e.g. '[{}, {\"lr\": 0.02}]'")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    task, device = TASKS[a.task], torch.device(a.device)
    seeds = [int(s) for s in a.seeds.split(",")]
    for variant in json.loads(a.variants):
        runs = [steps_to_target(task, variant, s, device) for s in seeds]
        steps = [r[0] for r in runs]
        print(f"{a.task} {json.dumps(variant)}: steps {', '.join(f'{s:g}' for s in steps)} "
              f"(median {statistics.median(steps):g}); seconds "
              f"{', '.join(f'{r[1]:.1f}' for r in runs)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
