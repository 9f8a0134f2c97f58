"""How fast does each task train from scratch to its live target, with its default settings?

    python bench/train_speed.py                          # every task, seeds 0-2, plus the notebook
    python bench/train_speed.py --tasks sort,dates --seeds 0,1,2 --threads 2 --device cpu
    python bench/train_speed.py --quick                  # smoke run: sort, 1 seed, short notebook

For each task and seed, as the Train page's Start button does: seed and build the task's default
model, train(model, task, target=task.target) with the task's train_defaults (which include the
evaluation cadence of a live run), then score the result on 500 fresh examples. The wall time
from building the model to that score is the time to the target; CPU seconds and the load
average are printed beside it, since the machine may be shared. A first sort run before
everything else shows what the first training after a server start costs (one-off imports).

The yardstick is the lecture notebook's sorting model (bench/notebook_baseline.py), trained in
the same process for --ref-steps steps: the ratio is its time to its final accuracy divided by
our sort model's time to first reach that same accuracy (token and exact). Only sort has a
notebook to compare with. The markdown table at the end can go into the README as it is.
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

from core.device import describe_device, get_device  # noqa: E402
from core.tasks import TASKS  # noqa: E402
from core.train import evaluate, train  # noqa: E402
from notebook_baseline import train_notebook  # noqa: E402

SORT_SECONDS, ANY_SECONDS = 3.0, 20.0      # issue 14: sort at most 3 s, every other task 20 s
FINAL_N = 500                              # the Train page's final score


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def one_run(task, seed: int, device) -> dict:
    """Build, train to the target, score: the Start button's work, timed."""
    evals = []
    _sync(device)
    t0, c0 = time.perf_counter(), time.process_time()
    torch.manual_seed(seed)
    model = task.build_model(device=device)
    result = train(model, task, seed=seed, target=dict(task.target) or None, callbacks=[
        {"on_eval": lambda s, m: evals.append((s, time.perf_counter() - t0, m))}])
    final = evaluate(model, task, FINAL_N, seed=20_000 + seed)
    _sync(device)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"seed": seed, "steps": result.steps, "wall": wall, "cpu": cpu,
            "step_ms": 1000 * result.seconds / max(1, result.steps),
            "reached": result.stopped == "target", "final": final,
            "final_ok": task.meets_bar(final, task.target), "evals": evals}


def time_to_reach(run: dict, token_acc: float, exact: float) -> float | None:
    for _, t, m in run["evals"]:
        if m["token_acc"] >= token_acc and m["exact"] >= exact:
            return t
    return None


def shown(metrics: dict) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default=None, help="comma-separated (default: all)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    ap.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best there is)")
    ap.add_argument("--ref-steps", type=int, default=5000, help="notebook steps (0: skip it)")
    ap.add_argument("--quick", action="store_true", help="smoke run: sort, seed 0, 300 ref steps")
    a = ap.parse_args(argv)
    if a.quick:
        a.tasks, a.seeds, a.ref_steps = a.tasks or "sort", "0", min(a.ref_steps, 300)
    names = a.tasks.split(",") if a.tasks else list(TASKS)
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        print(f"unknown task(s) {', '.join(unknown)}; choose from {', '.join(TASKS)}")
        return 2
    seeds = [int(s) for s in a.seeds.split(",")]
    if a.threads:
        torch.set_num_threads(a.threads)
    device = get_device(a.device)
    where = describe_device(device)
    print(f"torch {torch.__version__}, {where}, seeds {seeds}, load {load()}")
    first = one_run(TASKS["sort"], 0, device)
    print(f"first sort run in this process: {first['wall']:.2f} s to target, "
          f"{first['steps']} steps (one-off costs included)", flush=True)

    rows, sort_runs = [], None
    for name in names:
        task, runs = TASKS[name], []
        for seed in seeds:
            before = load()
            r = one_run(task, seed, device)
            runs.append(r)
            print(f"{name:9s} seed {seed}: {r['steps']:5d} steps, {r['wall']:6.2f} s wall, "
                  f"{r['cpu']:6.2f} s CPU, {r['step_ms']:5.1f} ms/step, "
                  f"{'target' if r['reached'] else 'MISSED'}; final {shown(r['final'])}"
                  f"{'' if r['final_ok'] else ' (below target)'}; load {before}", flush=True)
        sort_runs = runs if name == "sort" else sort_runs
        limit = SORT_SECONDS if name == "sort" else ANY_SECONDS
        wall = statistics.median(r["wall"] if r["reached"] else float("inf") for r in runs)
        rows.append(dict(task=name, target=task.target, steps=[r["steps"] for r in runs],
                         step_ms=statistics.median(r["step_ms"] for r in runs), wall=wall,
                         cpu=statistics.median(r["cpu"] for r in runs), limit=limit,
                         ratio="–"))

    if sort_runs and a.ref_steps:
        print(f"notebook baseline: {a.ref_steps} steps ... (load {load()})", flush=True)
        ref = train_notebook(steps=a.ref_steps, device=device)
        ours = [time_to_reach(r, ref["token_acc"], ref["exact"]) for r in sort_runs]
        print(f"notebook (3 blocks, Adam 1e-3, batch 32): {ref['steps']} steps in "
              f"{ref['train_seconds']} s ({ref['steps_per_s']} steps/s) -> token_acc "
              f"{ref['token_acc']}, exact {ref['exact']}; ours first reach that at "
              f"{', '.join('-' if t is None else f'{t:.2f} s' for t in ours)}")
        if all(t is not None for t in ours):
            ratio = ref["train_seconds"] / statistics.median(ours)
            rows[[r["task"] for r in rows].index("sort")]["ratio"] = (
                f"{ratio:.0f}x faster to the notebook's {ref['steps']}-step accuracy")

    print(f"\nMeasured on {where}, torch {torch.__version__}, seeds {','.join(map(str, seeds))}, "
          f"load average at the end {load()}.\n")
    print("| task | target | steps to target (per seed) | ms per step | median s to target "
          "| CPU s | limit s | met | vs the notebook |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        t = ", ".join(f"{k} {v:g}" for k, v in r["target"].items())
        ok = "yes" if r["wall"] <= r["limit"] else "no"
        print(f"| {r['task']} | {t} | {' / '.join(map(str, r['steps']))} | {r['step_ms']:.1f} "
              f"| {r['wall']:.1f} | {r['cpu']:.1f} | {r['limit']:g} | {ok} | {r['ratio']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
