"""Where does a live training run's time go? Per task: data, forward, backward, optimizer and
evaluation, in milliseconds, plus the steps each seed takes to the target.

    python bench/train_profile.py                        # sort, reverse, digits, dates, sine
    python bench/train_profile.py --tasks sort --threads 1 --steps 40 --seeds 0,1,2

The phase costs come from --steps steps of the task's default model at its train_defaults batch
size (after 5 untimed ones), each phase timed alone, as CPU time of this process (robust to a
machine shared with other work, where wall time is not) and wall time. The steps to the target
come from core.train.train with the task's defaults, as the Train page runs it; they do not
depend on the machine's load. Estimated run = steps · step + evaluations · eval (+ confirm), the
work of one run, in CPU seconds.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import torch  # noqa: E402

from core import jobs, recipe  # noqa: E402
from core.device import describe_device, get_device  # noqa: E402
from core.optim import FlatAdamW  # noqa: E402
from core.tasks import TASKS  # noqa: E402
from core.train import DEFAULTS, evaluate  # noqa: E402
from train_sweep import run_variant  # noqa: E402

LIVE = ("sort", "reverse", "digits", "dates", "sine")


class Clock:
    """Wall and CPU milliseconds per named phase, summed over calls."""

    def __init__(self, device):
        self.device, self.wall, self.cpu = device, {}, {}

    def __call__(self, name, fn, *args):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        w, c = time.perf_counter(), time.process_time()
        out = fn(*args)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.wall[name] = self.wall.get(name, 0.0) + 1000 * (time.perf_counter() - w)
        self.cpu[name] = self.cpu.get(name, 0.0) + 1000 * (time.process_time() - c)
        return out


def phases(task, device, steps: int) -> dict:
    """{phase: (CPU ms, wall ms) per step}, and eval / final evaluation per call."""
    d = {**DEFAULTS, **task.train_defaults}
    model = recipe.build(task.make_config(), 0, device).train()
    opt = FlatAdamW(model)
    gen = torch.Generator().manual_seed(0)
    clock = Clock(device)
    draws = task.batches(d["batch_size"], gen, device)       # as a run draws them
    for i in range(steps + 5):
        if i == 5:
            clock.wall.clear(), clock.cpu.clear()
        batch = clock("data", next, draws)
        loss = clock("forward", task.loss, model, batch)
        opt.zero_grad()
        clock("backward", loss.backward)
        clock("optimizer", lambda: (opt.clip(1.0), opt.step(1e-3)))
        clock("read loss", float, loss.detach())
    per = {k: (clock.cpu[k] / steps, clock.wall[k] / steps) for k in clock.cpu}
    per["step"] = tuple(sum(v[i] for v in per.values()) for i in (0, 1))
    opt.release()
    for name, n, reps in (("eval", jobs.EVAL_N, 5),
                          ("confirm", d["confirm_n"], 2), ("final", recipe.FINAL_EVAL_N, 1)):
        if n:
            clock.wall.pop(name, None), clock.cpu.pop(name, None)
            for _ in range(reps):
                clock(name, evaluate, model, task, n, 1)
            per[name] = (clock.cpu[name] / reps, clock.wall[name] / reps)
    return per


def steps_to_target(task, seed: int, device) -> tuple[int, bool, int]:
    """(steps, reached, evaluations) of a run with the task's defaults, as the Train page runs
    it (bench/train_sweep.py's run of the default variant)."""
    r = run_variant(task, {}, seed, device)
    return r.steps, r.stopped == "target", len(r.evals)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default=",".join(LIVE))
    ap.add_argument("--seeds", default="0,1,2", help="seeds for the steps to target ('': skip)")
    ap.add_argument("--steps", type=int, default=30, help="timed steps per task")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default=None)
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    device = get_device(a.device)
    print(f"torch {torch.__version__}, {describe_device(device)}, load "
          f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    for name in a.tasks.split(","):
        task = TASKS[name]
        per = phases(task, device, a.steps)
        d = task.train_defaults
        print(f"\n{name}: batch {d['batch_size']}, lr {d['lr']}, {d['steps']} steps, eval every "
              f"{jobs.schedule(int(d['steps']), task)[0]}")
        print("  " + ", ".join(f"{k} {c:.1f} ms CPU ({w:.1f} wall)" for k, (c, w) in per.items()))
        if not a.seeds:
            continue
        runs = [steps_to_target(task, int(s), device) for s in a.seeds.split(",")]
        med = statistics.median(r[0] for r in runs)
        evals = statistics.median(r[2] for r in runs)
        est = (med * per["step"][0] + evals * per.get("eval", (0, 0))[0]
               + per.get("confirm", (0, 0))[0] + per.get("final", (0, 0))[0]) / 1000
        print(f"  steps to target (seeds {a.seeds}): "
              f"{', '.join(f'{s}' + ('' if ok else ' (missed)') for s, ok, _ in runs)}; "
              f"median {med:g}, {evals:g} evaluations; one run ~ {est:.2f} CPU s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
