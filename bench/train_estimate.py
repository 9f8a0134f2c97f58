"""The Train page's time estimate against real runs (issue 14: within a factor of 1.5).

    nice -n 10 python bench/train_estimate.py [--tasks sort,reverse] [--seeds 0,1,2] [--threads 1]

For each task and seed: the page's default settings (the task's config and train_defaults,
stopping at the target), the speed measured as the page measures it (core.jobs.measure_speed,
once per task), the estimate the page shows before Start (core.jobs.estimate_run), then the
real run as the page starts it (a core.jobs.TrainingJob) from start() to its end (training,
evaluations, the final evaluation). Prints the steps taken, the seconds, and real / estimate;
the last column is what a task's `typical_steps` should be near (the median steps to target).
The summary also gives real / estimate as it would be with typical_steps set to that median
("in-sample": the same runs). --threads sets torch's threads in every thread, the job's too
(1 on a machine shared with other work: two threads oversubscribed run 10-40x slower). Not a test; nothing is asserted.
tests/test_train_estimate.py checks estimate_run's logic.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if "--threads" in sys.argv[:-1]:     # before torch starts: the job's own thread obeys it too
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = sys.argv[sys.argv.index("--threads") + 1]

from core import jobs  # noqa: E402
from core.device import get_device  # noqa: E402
from core.tasks import TASKS  # noqa: E402


def default_spec(task, seed: int) -> jobs.JobSpec:
    d = task.train_defaults
    return jobs.JobSpec(task.name, task.make_config(), steps=int(d.get("steps", 1000)),
                        lr=float(d.get("lr", 3e-3)), batch_size=int(d.get("batch_size", 128)),
                        seed=seed, stop_at_target=bool(task.target))


def measure_in_a_thread(task, spec0, device) -> jobs.Speed:
    """measure_speed in a thread that then ends, as the page runs it (in a script run's
    thread): timed in this process's main thread, torch's OpenMP team would outlive it and
    every job after it would share the CPU with that idle team (a sort step 1.5-2.6x dearer:
    core.jobs.SHARE_THREADS)."""
    out = {}
    t = threading.Thread(target=lambda: out.update(speed=jobs.measure_speed(
        task, spec0.config, spec0.batch_size, device)))
    t.start(), t.join()
    return out["speed"]


def one_run(spec: jobs.JobSpec, device, estimate: jobs.Estimate) -> dict:
    job = jobs.TrainingJob(spec, device, estimate.seconds).start()
    job.join()
    v = job.view()
    return {"steps": v["step"], "real": v["ended"] - v["started"], "state": v["state"],
            "estimate": estimate.seconds, "est_steps": estimate.steps}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default=",".join(n for n, t in TASKS.items() if t.trains))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--threads", type=int, default=0,
                    help="torch threads in every thread (OMP_NUM_THREADS; 0: torch's default)")
    args = ap.parse_args(argv)
    device = get_device(os.environ.get("ATTNVIZ_DEVICE") or None)
    seeds = [int(s) for s in args.seeds.split(",")]
    load0 = os.getloadavg()[0]
    print(f"{'task':10s} {'seed':>4s} {'steps':>6s} {'est. steps':>10s} {'real s':>8s} "
          f"{'est. s':>8s} {'real/est':>8s}  state")
    summary = []
    for name in args.tasks.split(","):
        task = TASKS[name]
        spec0 = default_spec(task, 0)
        t0 = time.perf_counter()
        speed = measure_in_a_thread(task, spec0, device)
        timing = time.perf_counter() - t0
        est = jobs.estimate_run(speed, task, spec0.config, spec0.steps, spec0.stop_at_target)
        runs = []
        for seed in seeds:
            r = one_run(default_spec(task, seed), device, est)
            runs.append(r)
            print(f"{name:10s} {seed:4d} {r['steps']:6,d} {r['est_steps']:10,d} "
                  f"{r['real']:8.1f} {r['estimate']:8.1f} {r['real'] / r['estimate']:8.2f}  "
                  f"{r['state']}", flush=True)
        median = int(statistics.median(r["steps"] for r in runs))
        reached = [r["steps"] for r in runs if r["state"] == "target"]
        if reached and spec0.stop_at_target:                  # the estimate with that median
            task.typical_steps = int(statistics.median(reached))
            est = jobs.estimate_run(speed, task, spec0.config, spec0.steps, True)
            del task.typical_steps                            # back to the class's value
        ratios = [r["real"] / est.seconds for r in runs]
        summary.append((name, median, [r["steps"] for r in runs], min(ratios), max(ratios),
                        speed, timing))
    print()
    print(f"{'task':10s} {'median steps':>12s} {'steps':>16s} {'real/est (median as typical)':>29s}"
          f" {'step ms':>8s} {'eval ms':>8s} {'timing s':>9s}")
    for name, steps, all_steps, lo, hi, speed, timing in summary:
        print(f"{name:10s} {steps:12,d} {','.join(map(str, all_steps)):>16s} "
              f"{lo:14.2f}-{hi:<14.2f} {speed.step_s * 1e3:8.1f} {speed.eval_s * 1e3:8.1f} "
              f"{timing:9.2f}")
    import torch
    print(f"load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after; {os.cpu_count()} "
          f"cores; {torch.get_num_threads()} torch threads; device {device}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
