"""Reproduce the shipped model zoo: one checkpoint per task, each meeting its task's bar.

    python -m core.zoo --force                   # every task, replacing the files in checkpoints/
    python -m core.zoo --tasks sort,reverse --out my_zoo

Each task's `zoo` attribute holds the settings (the fields of core.tasks.base.ZooRecipe: seed,
steps, preset, overrides, lr, batch_size, target); the training itself is core.recipe's, as for
`python -m core.train` and the Train page. Every model is scored on 2000 fresh examples; a
checkpoint below its bar is NOT written, and the command then exits with status 1 naming it.
A file that already exists (the shipped checkpoints, in checkpoints/) is only replaced with
--force: without it the command stops before training, with status 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from .train_cli import CLIError, check_writable, format_metrics, save_trained, train_task

ZOO_BYTES_EACH = 2 * 1024 * 1024
ZOO_BYTES_ALL = 10 * 1024 * 1024

# Lesson models shipped beside the task checkpoints: the same task and settings with one
# override, meant to fail. "sort_nopos" is sort without positional encoding, which the
# positional-encodings page compares with "sort" (attention alone is blind to order).
EXTRAS = {"sort_nopos": ("sort", {"pos": "none"}),
          "dates_rnn_noattn": ("dates_rnn", {"attention": False})}   # the fixed-context GRU


def shipped_names() -> frozenset:
    """Names of the checkpoints that ship in checkpoints/: one per task, plus the EXTRAS."""
    from .tasks import TASKS
    return frozenset(TASKS) | frozenset(EXTRAS)


def build_one(task, out_dir: Path, progress: bool = True, name: str | None = None,
              extra_overrides: dict | None = None) -> dict:
    """Train `task` with its zoo settings; write out_dir/<name>.safetensors if it meets the bar.
    A lesson model (`extra_overrides` given) has no bar to meet and is always written."""
    r = task.zoo_recipe
    name = name or task.name
    overrides = {**r.overrides, **(extra_overrides or {})}
    trained = train_task(task, preset=r.preset, overrides=overrides, steps=r.steps,
                         seed=r.seed, lr=r.lr, batch_size=r.batch_size,
                         target=None if extra_overrides else r.target,
                         progress=progress, label=f"{name:9s}", made_by="python -m core.zoo")
    met = trained.meets_bar or bool(extra_overrides)
    row = {"task": name, "steps": trained.result.steps,
           "seconds": trained.result.seconds, "metrics": trained.metrics,
           "bar": task.bar if not extra_overrides else "none (lesson model)", "met": met,
           "kb": None, "path": None}
    if met:
        path = save_trained(trained, out_dir / f"{name}.safetensors")
        row["path"], row["kb"] = str(path), path.stat().st_size / 1024
    return row


def print_table(rows: list, stream=None) -> None:
    stream = stream or sys.stdout
    head = f"{'task':10s} {'steps':>6s} {'seconds':>8s} {'bar met':>8s} {'size KB':>8s}  metrics"
    print(head, file=stream)
    print("-" * len(head), file=stream)
    for r in rows:
        kb = f"{r['kb']:.0f}" if r["kb"] is not None else "-"
        met = "yes" if r["met"] else "NO"
        print(f"{r['task']:10s} {r['steps']:6d} {r['seconds']:8.1f} {met:>8s} {kb:>8s}  "
              f"{format_metrics(r['metrics'])}  (bar {r['bar']})", file=stream)
    total = sum(r["kb"] or 0 for r in rows)
    print(f"total size {total:.0f} KB", file=stream)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.zoo",
                                 description="Train and save the shipped checkpoints.")
    ap.add_argument("--tasks", default=None, help="comma-separated task names (default: all)")
    ap.add_argument("--out", default="checkpoints", help="folder for <task>.safetensors")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    ap.add_argument("--quiet", action="store_true", help="no progress output")
    ap.add_argument("--force", action="store_true",
                    help="replace checkpoints that already exist (e.g. the shipped ones)")
    args = ap.parse_args(argv)
    from .tasks import TASKS
    names = [n.strip() for n in args.tasks.split(",") if n.strip()] if args.tasks else \
        [n for n, t in TASKS.items() if t.trains]
    try:
        unknown = [n for n in names if n not in TASKS or not TASKS[n].trains]
        if unknown or not names:
            raise CLIError(f"unknown task(s) {', '.join(unknown) or '(none given)'}; choose from "
                           f"{', '.join(TASKS)}")
        out_dir = Path(args.out)
        files = [out_dir / f"{n}.safetensors" for n in names]
        files += [out_dir / f"{extra}.safetensors" for extra, (task, _) in EXTRAS.items()
                  if task in names]
        for path in files:
            check_writable(path)
        present = [p.name for p in files if p.exists()]
        if present and not args.force:
            raise CLIError(f"{', '.join(present)} already exist in {out_dir}; add --force to "
                           "replace them (they ship with the app), or choose another --out")
    except CLIError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [build_one(TASKS[n], out_dir, progress=not args.quiet) for n in names]
    rows += [build_one(TASKS[task], out_dir, not args.quiet, extra, overrides)
             for extra, (task, overrides) in EXTRAS.items() if task in names]
    print_table(rows)
    failed = [r["task"] for r in rows if not r["met"]]
    big = [r["task"] for r in rows if r["kb"] and r["kb"] * 1024 > ZOO_BYTES_EACH]
    if failed:
        print(f"error: below the bar, not written: {', '.join(failed)}", file=sys.stderr)
    if big:
        print(f"warning: larger than {ZOO_BYTES_EACH // 2**20} MB: {', '.join(big)}",
              file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
