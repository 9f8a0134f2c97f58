"""How fast does each task train from scratch with its default settings?

    python bench/train_speed.py                          # every task, 3 seeds, plus the yardstick
    python bench/train_speed.py --tasks sort,addition --seeds 0,1,2 --threads 2
    python bench/train_speed.py --quick                  # smoke run: sort, 1 seed, 5 s yardstick

For each task and seed: build the default model (seeded), train(model, task, target=...) with
the task's defaults, and record the wall time until the target is met (sort: its live target
99% token / 95% exact; other tasks: their zoo bar) and the steps per second (evaluations
included). For sort it also runs the lecture notebook's model (the yardstick, not part of this
repository: ../shared/bench/seed_sort_reference.py) for a fixed wall-time budget in a
subprocess, and prints the ratio: the yardstick's time to its final accuracy divided by our time
to first reach that same accuracy (the first of our evaluations at or above both its token
accuracy and its exact match). Run it on a quiet machine; quote medians.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from core.tasks import TASKS  # noqa: E402
from core.train import train  # noqa: E402

SORT_TARGET = {"token_acc": 0.99, "exact": 0.95}
SORT_SECONDS, ANY_SECONDS = 10.0, 60.0


def bench_target(task) -> dict:
    return dict(SORT_TARGET) if task.name == "sort" else dict(task.bar)


def one_run(task, seed: int, target: dict) -> dict:
    """Train from scratch; time to target counts the model's construction and the whole loop."""
    evals = []
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    model = task.build_model()
    result = train(model, task, seed=seed, target=target,
                   callbacks=[{"on_eval": lambda s, m: evals.append(
                       (s, time.perf_counter() - t0, m))}])
    wall = time.perf_counter() - t0
    return {"seed": seed, "steps": result.steps, "wall": wall, "loop": result.seconds,
            "steps_per_s": result.steps / result.seconds, "reached": result.stopped == "target",
            "metrics": result.metrics, "evals": evals}


def run_reference(path: Path, seconds: float, blocks: int, threads: int) -> dict | None:
    """Run the yardstick in a subprocess with the same number of torch threads as ours."""
    if not path.exists():
        print(f"yardstick not found at {path}; skipping the comparison")
        return None
    print(f"yardstick: {path.name} --blocks {blocks} --seconds {seconds:g} ...", flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    p = subprocess.run([sys.executable, str(path), "--blocks", str(blocks), "--seconds",
                        str(seconds)], capture_output=True, text=True, env=env)
    lines = [ln for ln in p.stdout.splitlines() if ln.strip().startswith("{")]
    if p.returncode or not lines:
        print(f"yardstick failed (exit {p.returncode}): {p.stderr.strip()[-300:]}")
        return None
    return json.loads(lines[-1])


def time_to_reach(run: dict, token_acc: float, exact: float) -> float | None:
    for _, t, m in run["evals"]:
        if m["token_acc"] >= token_acc and m["exact"] >= exact:
            return t
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default=None, help="comma-separated (default: all)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reference", default=str(ROOT.parent / "shared" / "bench" /
                                               "seed_sort_reference.py"),
                    help="the yardstick script (default ../shared/bench/seed_sort_reference.py)")
    ap.add_argument("--ref-seconds", type=float, default=60.0)
    ap.add_argument("--ref-blocks", type=int, default=3)
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--quick", action="store_true", help="smoke run: sort, one seed, 5 s yardstick")
    ap.add_argument("--verbose", action="store_true", help="also print every evaluation")
    a = ap.parse_args(argv)
    if a.quick:
        a.tasks = a.tasks or "sort"
        a.seeds, a.ref_seconds = "0", 5.0
    names = a.tasks.split(",") if a.tasks else list(TASKS)
    seeds = [int(s) for s in a.seeds.split(",")]
    torch.set_num_threads(a.threads)
    # one-off costs of a fresh process (the optimizer's first import) are not training time
    torch.optim.AdamW(torch.nn.Linear(2, 2).parameters())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, seeds {seeds}")

    rows, runs_by_task = [], {}
    for name in names:
        task = TASKS[name]
        target = bench_target(task)
        runs = []
        for seed in seeds:
            r = one_run(task, seed, target)
            runs.append(r)
            shown = ", ".join(f"{k} {v:.4f}" for k, v in r["metrics"].items())
            print(f"{name:9s} seed {seed}: {r['steps']:5d} steps {r['wall']:6.1f} s "
                  f"({r['steps_per_s']:.0f} steps/s) {'target' if r['reached'] else 'MISSED'}"
                  f" [{shown}]", flush=True)
            if a.verbose:
                for step, t, m in r["evals"]:
                    print(f"    step {step:5d} {t:6.1f} s  " + ", ".join(
                        f"{k} {v:.4f}" for k, v in m.items()), flush=True)
        runs_by_task[name] = runs
        limit = SORT_SECONDS if name == "sort" else ANY_SECONDS
        times = [r["wall"] if r["reached"] else float("inf") for r in runs]
        median = statistics.median(times)
        rows.append((name, target, statistics.median(r["steps_per_s"] for r in runs),
                     statistics.median(r["steps"] for r in runs), median, limit))

    ratio_line = None
    if "sort" in runs_by_task and not a.no_reference:
        ref = run_reference(Path(a.reference), a.ref_seconds, a.ref_blocks, a.threads)
        if ref:
            ours = [time_to_reach(r, ref["token_acc"], ref["exact"]) for r in runs_by_task["sort"]]
            got = [t for t in ours if t is not None]
            ref_line = (f"yardstick ({ref['blocks']} blocks): {ref['steps']} steps in "
                        f"{ref['train_seconds']} s ({ref['steps_per_s']} steps/s) -> token_acc "
                        f"{ref['token_acc']}, exact {ref['exact']}")
            if len(got) == len(ours):
                mine = statistics.median(got)
                ratio_line = (f"{ref_line}\nours reaches that in {mine:.1f} s (median of "
                              f"{len(got)}): ratio {ref['train_seconds'] / mine:.1f}x")
            else:
                ratio_line = f"{ref_line}\nours did not reach it in every run: {ours}"

    print()
    print(f"{'task':10s} {'target':34s} {'steps/s':>8s} {'steps':>6s} {'median s':>9s} "
          f"{'limit':>6s}  ok")
    for name, target, sps, steps, median, limit in rows:
        t = ",".join(f"{k}={v:g}" for k, v in target.items())
        ok = "yes" if median <= limit else "NO"
        print(f"{name:10s} {t:34s} {sps:8.0f} {steps:6.0f} {median:9.1f} {limit:6.0f}  {ok}")
    if ratio_line:
        print(ratio_line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
