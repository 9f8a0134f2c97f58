"""The training command line (`python -m core.train`, which delegates here), over core.recipe.

    python -m core.train --task sort --out checkpoints/sort.safetensors
    python -m core.train --task addition --steps 3000 --target none --out my/addition.safetensors
    python -m core.train --task sort --set pos=none --target none --out tmp/sort-nopos.safetensors

Progress goes to stderr (one self-updating line on a terminal, plain lines otherwise), the
result to stdout. Mistakes (unknown task, bad option value, an output path that cannot be
written) print one line to stderr and exit with status 2 before any training starts.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from . import recipe
from .recipe import FINAL_EVAL_N, Trained


class CLIError(Exception):
    """A user mistake: the message is printed as one line, exit status 2."""


# -- parsing ---------------------------------------------------------------------------------
def _number(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_target(text: str | None, task) -> dict | None:
    """"exact=0.99,token_acc=0.995" -> dict; "none" -> None; None -> the task's own target."""
    if text is None:
        return dict(task.target) or None
    if text.strip().lower() in ("none", "off", ""):
        return None
    target = {}
    for part in text.split(","):
        name, eq, value = part.partition("=")
        name = name.strip()
        if not eq or name not in task.metrics:
            raise CLIError(f"bad --target {part.strip()!r}: write metric=value with a metric of "
                           f"{task.name} ({', '.join(task.metrics)}), or 'none'")
        try:
            target[name] = float(value)
        except ValueError:
            raise CLIError(f"bad --target value {value.strip()!r} for {name}: not a number")
    return target


def parse_overrides(text: str | None) -> dict:
    """"pos=none,d_model=64" -> {"pos": "none", "d_model": 64}."""
    out = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, eq, value = part.partition("=")
        if not eq or not name.strip():
            raise CLIError(f"bad --set {part.strip()!r}: write field=value, e.g. pos=none")
        out[name.strip()] = _number(value.strip())
    return out


def check_writable(path) -> Path:
    """Make sure a checkpoint can be written at `path` (creating its folder) before training."""
    path = Path(path)
    if path.is_dir():
        raise CLIError(f"cannot write {path}: it is a folder")
    if path.suffix != ".safetensors":
        raise CLIError(f"cannot write {path}: the file name must end in .safetensors")
    for folder in path.parents:
        if folder.exists():
            if not folder.is_dir():
                raise CLIError(f"cannot write {path}: {folder} is a file, not a folder")
            break
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".write-test-"):
            pass
        if path.exists() and not os.access(path, os.W_OK):
            raise PermissionError("permission denied")
    except OSError as e:
        raise CLIError(f"cannot write {path}: {e.strerror or e}") from None
    return path


# -- progress --------------------------------------------------------------------------------
class Progress:
    """Training callbacks that report step, loss, latest metrics and the time left."""

    def __init__(self, total: int, label: str = "", stream=None, every: float = 0.1):
        self.total, self.label = total, label
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every, self.t0, self.last = every, time.perf_counter(), 0.0
        self.step, self.loss, self.metrics = 0, float("nan"), {}

    def _line(self) -> str:
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / max(1, self.step) * (self.total - self.step)
        width = 20
        filled = int(width * self.step / max(1, self.total))
        parts = [f"{self.label}[{'#' * filled}{'.' * (width - filled)}]",
                 f"step {self.step}/{self.total}", f"loss {self.loss:.4f}"]
        parts += [f"{k} {v:.4g}" for k, v in self.metrics.items()]
        return " ".join(parts + [f"{elapsed:.1f}s", f"eta {eta:.0f}s"])

    def on_step(self, step, loss, lr):
        self.step, self.loss = step, loss
        now = time.perf_counter()
        if self.tty and (now - self.last >= self.every or step == self.total):
            self.last = now
            self.stream.write("\r" + self._line().ljust(100)[:160])
            self.stream.flush()

    def on_eval(self, step, metrics):
        self.metrics = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        if not self.tty:
            print(self._line(), file=self.stream, flush=True)

    def close(self):
        if self.tty:
            self.stream.write("\r" + self._line().ljust(100)[:160] + "\n")
            self.stream.flush()


# -- the work --------------------------------------------------------------------------------
def train_task(task, *, preset=None, overrides=None, steps=None, seed=0, lr=None,
               batch_size=None, device=None, target=None, progress: bool | None = True,
               label: str = "", made_by: str = "python -m core.train") -> Trained:
    """Build task's model (initialised from `seed`), train it and score it with core.recipe,
    with a progress line on stderr. Nothing is written; see save_trained()."""
    from .device import get_device

    overrides = dict(overrides or {})
    model = recipe.build(task.make_config(preset, **overrides), seed, get_device(device))
    steps = int(steps or task.train_defaults["steps"])
    bar = Progress(steps, label) if progress else None
    trained = recipe.train_and_evaluate(task, model, seed=seed, steps=steps, lr=lr,
                                        batch_size=batch_size, target=target,
                                        callbacks=[bar] if bar else [], made_by=made_by,
                                        preset=preset, overrides=overrides)
    if bar:
        bar.close()
    return trained


def save_trained(trained: Trained, out) -> Path:
    return recipe.save(trained, out)


def format_metrics(metrics: dict) -> str:
    return ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in metrics.items())


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m core.train",
                                 description="Train a task's model and save a checkpoint.")
    ap.add_argument("--task", required=True, help="task name, e.g. sort, reverse, addition")
    ap.add_argument("--out", required=True, help="checkpoint to write (.safetensors)")
    ap.add_argument("--preset", default=None, help="model size: nano, micro or small")
    ap.add_argument("--set", dest="overrides", default=None, metavar="FIELD=VALUE,...",
                    help="architecture fields to change, e.g. pos=none,d_model=64")
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps (task default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best there is)")
    ap.add_argument("--target", default=None,
                    help="stop early at e.g. 'exact=0.99,token_acc=0.995'; 'none' trains all "
                         "steps (default: the task's target)")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    ap.add_argument("--quiet", action="store_true", help="no progress output")
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from .tasks import TASKS
        if args.task not in TASKS:
            raise CLIError(f"unknown task {args.task!r}; choose one of {', '.join(TASKS)}")
        task = TASKS[args.task]
        target = parse_target(args.target, task)
        overrides = parse_overrides(args.overrides)
        for name, value in (("--steps", args.steps), ("--batch-size", args.batch_size),
                            ("--threads", args.threads)):
            if value is not None and value < 1:
                raise CLIError(f"{name} must be at least 1, got {value}")
        if args.lr is not None and args.lr <= 0:
            raise CLIError(f"--lr must be positive, got {args.lr}")
        try:
            task.make_config(args.preset, **overrides)
            from .device import get_device
            get_device(args.device)
        except (ValueError, TypeError, RuntimeError) as e:
            raise CLIError(str(e)) from None
        out = check_writable(args.out)
        if args.threads:
            torch.set_num_threads(args.threads)
        trained = train_task(task, preset=args.preset, overrides=overrides, steps=args.steps,
                             seed=args.seed, lr=args.lr, batch_size=args.batch_size,
                             device=args.device, target=target, progress=not args.quiet)
        path = save_trained(trained, out)
    except CLIError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; nothing was written", file=sys.stderr)
        return 130
    r = trained.result
    bar = "meets" if trained.meets_bar else "below"
    print(f"{task.name}: {r.steps} steps in {r.seconds:.1f} s ({r.stopped}); "
          f"{format_metrics(trained.metrics)} on {FINAL_EVAL_N} fresh examples "
          f"({bar} the zoo bar {task.bar}); wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
