"""What a training step costs with the encoder run over the padded grid or over the real
tokens only (core/packed.py, issue 14), and, for the record, with SiLU instead of GELU.

    python bench/train_step_variants.py                      # sort, dates, and reverse
    python bench/train_step_variants.py --tasks dates --rounds 12 --threads 1

Measured in real training steps of each task's default model and batch (operations timed
alone mislead on this CPU: the same attention call cost 0.99 ms in one loop and 2.17 ms in
another). Each variant trains its own copy of the model on the same 8 batches; the variants
take turns within each round, so a machine's load hits them alike. The table gives ms per
step, fastest and median round, and each against the first variant's (the code before).
reverse is the control: a causal decoder, which never packs, so its "packed" column shows
how far two identical variants differ on this machine. Steps to the target for a variant:
bench/train_sweep.py (e.g. '[{"config": {"activation": "silu"}}]').
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from core import blocks, recipe  # noqa: E402
from core.optim import FlatAdamW  # noqa: E402
from core.tasks import TASKS  # noqa: E402

PACK = blocks.can_pack
VARIANTS = {"padded": ("gelu", False), "packed": ("gelu", True),
            "packed, SiLU": ("silu", True)}


def step_times(task, rounds: int) -> dict:
    """{variant: [ms per step, one per round]} over 8 fixed batches."""
    gen = torch.Generator().manual_seed(0)
    draws = task.batches(task.train_defaults["batch_size"], gen, "cpu")   # as a run draws them
    batches = [next(draws) for _ in range(8)]
    runs = {}
    for name, (act, _) in VARIANTS.items():
        model = recipe.build(task.make_config(activation=act), 0, torch.device("cpu")).train()
        runs[name] = (model, FlatAdamW(model), [])
    try:
        for r in range(rounds + 1):                   # round 0 warms up and is not counted
            for name, (model, opt, out) in runs.items():
                blocks.can_pack = PACK if VARIANTS[name][1] else (lambda *args: False)
                t0 = time.perf_counter()
                for b in batches:
                    loss = task.loss(model, b)
                    opt.zero_grad()
                    loss.backward()
                    opt.clip(1.0)
                    opt.step(1e-4)
                if r:
                    out.append((time.perf_counter() - t0) / len(batches) * 1000)
    finally:
        blocks.can_pack = PACK
    return {name: out for name, (_, _, out) in runs.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", default="sort,dates,reverse")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, CPU, {torch.get_num_threads()} threads; ms per training "
          f"step: fastest / median of {a.rounds} rounds (each against the first column's)")
    print(f"{'task':9s}" + "".join(f"{v:>32s}" for v in VARIANTS))
    for name in a.tasks.split(","):
        times = step_times(TASKS[name], a.rounds)
        first = times[next(iter(VARIANTS))]
        lo, mid = min(first), statistics.median(first)
        print(f"{name:9s}" + "".join(
            f"{min(t):8.2f} / {statistics.median(t):6.2f} ({min(t) / lo:.2f}x / "
            f"{statistics.median(t) / mid:.2f}x)" for t in times.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
