"""Two users press Start at once: how long does each training take, with the jobs sharing the
CPU's threads (core.jobs.SHARE_THREADS, the default) and without?

    python bench/train_concurrent.py                     # sort, 2 jobs, 3 rounds
    python bench/train_concurrent.py --task dates --jobs 2 --rounds 2 --steps 200

Each round runs one job alone (the reference), then --jobs jobs started together with
SHARE_THREADS off (every job keeps all of torch's threads), then the same with it on. Jobs are
core.jobs.TrainingJob with the task's default config and batch size, a fixed number of steps
(--steps) and no stop at the target, so every run does the same work. Printed per setting:
the median over rounds of the slowest job's wall time and of the mean ms per step, and the
ratio against the job alone. Not a test; nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from core import jobs  # noqa: E402
from core.tasks import TASKS  # noqa: E402


def run_together(task, n: int, steps: int, share: bool) -> tuple[float, float]:
    """(slowest job's wall s, mean ms per step) of n jobs started together."""
    jobs.SHARE_THREADS = share
    d = task.train_defaults
    started = []
    for seed in range(n):
        spec = jobs.JobSpec(task.name, task.make_config(), steps=steps, lr=float(d["lr"]),
                            batch_size=int(d["batch_size"]), seed=seed, stop_at_target=False)
        started.append(jobs.TrainingJob(spec, "cpu").start())
    walls = []
    for job in started:
        job.join()
        walls.append(job.ended - job.started)
        if job.state == "error":
            raise RuntimeError(job.error)
    per_step = statistics.mean(1000 * j.train_seconds / max(1, j.step) for j in started)
    return max(walls), per_step


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", default="sort")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args(argv)
    task = TASKS[a.task]
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, {torch.get_num_threads()} torch "
          f"threads; {a.task}, {a.steps} steps a job")
    run_together(task, 1, 20, True)                                 # warm-up, not counted
    rows = {"1 job alone": [], f"{a.jobs} jobs, all threads each": [],
            f"{a.jobs} jobs, sharing the threads": []}
    for _ in range(a.rounds):
        for (name, values), (n, share) in zip(rows.items(), ((1, True), (a.jobs, False),
                                                              (a.jobs, True))):
            values.append(run_together(task, n, a.steps, share))
    jobs.SHARE_THREADS = True
    alone = statistics.median(w for w, _ in rows["1 job alone"])
    print(f"{'setting':36s} {'slowest job s':>14s} {'ms/step':>9s} {'vs alone':>9s}")
    for name, values in rows.items():
        wall = statistics.median(w for w, _ in values)
        step = statistics.median(s for _, s in values)
        print(f"{name:36s} {wall:14.2f} {step:9.1f} {wall / alone:8.2f}x")
    print(f"load average {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
