"""How fast does each task train from scratch to its bar, from the click to the result?

    python bench/train_speed.py                          # every trainable task
    python bench/train_speed.py --tasks sort,dates --seeds 0,1,2 --threads 2 --device cpu
    python bench/train_speed.py --markdown train_speed.md   # also write the table there
    python bench/train_speed.py --quick                  # smoke run: sort, 1 seed, short notebook

Each run is what the Train page's Start button starts: a core.jobs.TrainingJob with the task's
default config and train_defaults (the page's widget defaults), the seed, "stop at target" on,
the job's own evaluation cadence, attention snapshots, confirmation and final score on
2000 fresh examples. Its time is the job's, from start() to its end (the click to the result:
the page's own drawing excluded). Beside the wall time: the process's CPU seconds and the load
average, since the machine may be shared. A first sort run before the others shows what the
first training after a server start costs (one-off imports and allocations).

Time to the bar: the live target for sort (99% token, 95% exact on fresh data: issue 14's
figure), the task's target (= its bar) for the others, median over the seeds; a seed that
misses counts as infinitely slow. Limits: sort 3 s, every other task 20 s.

The yardstick is the lecture notebook's sorting model (bench/notebook_baseline.py), trained in
the same process for --ref-steps steps. "vs notebook" is, for sort, the notebook's time to its
final accuracy divided by our sort runs' time to first reach that accuracy (token and exact);
for every task, "notebook units" is our time over the notebook's time per 1000 steps, both
measured in this run: a figure that the machine's speed and load largely cancel out of.
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

from core import jobs  # noqa: E402
from core.device import describe_device, get_device  # noqa: E402
from core.tasks import TASKS  # noqa: E402
from notebook_baseline import train_notebook  # noqa: E402

SORT_SECONDS, ANY_SECONDS = 3.0, 20.0      # issue 14: sort at most 3 s, every other task 20 s


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


class TimedJob(jobs.TrainingJob):
    """A TrainingJob that also notes when each evaluation ended (perf_counter)."""

    def on_eval(self, step, metrics):
        self.eval_times.append(time.perf_counter())
        super().on_eval(step, metrics)


def one_run(task, seed: int, device) -> dict:
    """Start a job as the Train page does with its default settings, wait for it, time it."""
    d = task.train_defaults
    spec = jobs.JobSpec(task.name, task.make_config(), steps=int(d["steps"]), lr=float(d["lr"]),
                        batch_size=int(d["batch_size"]), seed=seed, stop_at_target=True)
    job = TimedJob(spec, device)
    job.eval_times = []
    t0, c0 = time.perf_counter(), time.process_time()
    job.start().join()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if job.state == "error":
        raise RuntimeError(f"{task.name} seed {seed}: {job.error}")
    v = job.view()
    return {"seed": seed, "steps": v["step"], "wall": wall, "cpu": cpu,
            "step_ms": 1000 * v["train_seconds"] / max(1, v["step"]),
            "reached": v["state"] == "target" and bool(v["target_reached"]), "final": v["final"],
            "evals": [(t - t0, m) for t, m in zip(job.eval_times, v["evals"])]}


def time_to_reach(run: dict, token_acc: float, exact: float) -> float | None:
    for t, m in run["evals"]:
        if m["token_acc"] >= token_acc and m["exact"] >= exact:
            return t
    return None


def shown(metrics: dict) -> str:
    return ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))


def table(rows: list, header: str) -> str:
    lines = [header, "", "| task | target | steps to it (per seed) | ms per step | median s to the "
             "target | CPU s | limit s | met | notebook units | vs the notebook |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        t = ", ".join(f"{k} {v:g}" for k, v in r["target"].items())
        ok = "yes" if r["wall"] <= r["limit"] else "no"
        units = f"{r['units']:.2f}" if r["units"] is not None else "–"
        lines.append(f"| {r['task']} | {t} | {' / '.join(map(str, r['steps']))} | "
                     f"{r['step_ms']:.1f} | {r['wall']:.2f} | {r['cpu']:.1f} | {r['limit']:g} | "
                     f"{ok} | {units} | {r['ratio']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default=",".join(n for n, t in TASKS.items() if t.trains),
                    help="comma-separated task names (default: every trainable one)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    ap.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best there is)")
    ap.add_argument("--ref-steps", type=int, default=2000, help="notebook steps (0: skip it)")
    ap.add_argument("--markdown", default=None, help="also write the table to this file")
    ap.add_argument("--quick", action="store_true", help="smoke run: sort, seed 0, 300 ref steps")
    a = ap.parse_args(argv)
    if a.quick:
        a.tasks, a.seeds, a.ref_steps = "sort", "0", min(a.ref_steps, 300)
    names = [n for n in a.tasks.split(",") if n]
    unknown = [n for n in names if n not in TASKS or not TASKS[n].trains]
    if unknown:
        print(f"unknown task(s) {', '.join(unknown)}; choose from "
              f"{', '.join(n for n, t in TASKS.items() if t.trains)}")
        return 2
    seeds = [int(s) for s in a.seeds.split(",")]
    if a.threads:
        torch.set_num_threads(a.threads)
    device = get_device(a.device)
    where = describe_device(device)
    print(f"device: {where}; torch {torch.__version__}, seeds {seeds}, load {load()}")
    first = one_run(TASKS["sort"], 0, device)
    print(f"first sort run in this process: {first['wall']:.2f} s to the result, "
          f"{first['steps']} steps (one-off costs included)", flush=True)

    rows, sort_runs = [], None
    for name in names:
        task, runs = TASKS[name], []
        for seed in seeds:
            before = load()
            r = one_run(task, seed, device)
            runs.append(r)
            print(f"{name:8s} seed {seed}: {r['steps']:5d} steps, {r['wall']:6.2f} s wall, "
                  f"{r['cpu']:6.2f} s CPU, {r['step_ms']:5.1f} ms/step, "
                  f"{'target' if r['reached'] else 'MISSED'}; final {shown(r['final'])}; "
                  f"load {before}", flush=True)
        sort_runs = runs if name == "sort" else sort_runs
        wall = statistics.median(r["wall"] if r["reached"] else float("inf") for r in runs)
        rows.append(dict(task=name, target=task.target, steps=[r["steps"] for r in runs],
                         step_ms=statistics.median(r["step_ms"] for r in runs), wall=wall,
                         cpu=statistics.median(r["cpu"] for r in runs), units=None,
                         limit=SORT_SECONDS if name == "sort" else ANY_SECONDS, ratio="–"))

    if a.ref_steps:
        print(f"notebook baseline: {a.ref_steps} steps ... (load {load()})", flush=True)
        ref = train_notebook(steps=a.ref_steps, device=device)
        per_1000 = 1000 * ref["train_seconds"] / ref["steps"]
        print(f"notebook (3 blocks, Adam 1e-3, batch 32): {ref['steps']} steps in "
              f"{ref['train_seconds']} s ({per_1000:.2f} s per 1000 steps) -> token_acc "
              f"{ref['token_acc']}, exact {ref['exact']}")
        for r in rows:
            r["units"] = r["wall"] / per_1000
        if sort_runs:
            ours = [time_to_reach(r, ref["token_acc"], ref["exact"]) for r in sort_runs]
            print(f"our sort runs first reach the notebook's accuracy at "
                  f"{', '.join('-' if t is None else f'{t:.2f} s' for t in ours)}")
            if all(t is not None for t in ours):
                row = rows[[r["task"] for r in rows].index("sort")]
                row["ratio"] = (f"{ref['train_seconds'] / statistics.median(ours):.0f}x faster "
                                f"to the notebook's {ref['steps']}-step accuracy")

    text = table(rows, f"Measured on {where}, torch {torch.__version__}, seeds "
                       f"{','.join(map(str, seeds))}, load average at the end {load()}. "
                       "Time from Start to the result, as the Train page runs it.")
    print("\n" + text)
    if a.markdown:
        Path(a.markdown).write_text(text)
        print(f"table written to {a.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
