"""Their weights into our modules: a Plan says, for every tensor of our model, which tensor of the
checkpoint fills it, the shape config.json implies for that tensor, and how to reshape it.

`materialize` checks the whole plan against the safetensors headers (names, dtypes, shapes,
total size) before anything is allocated, builds our model without random initialisation,
then reads each tensor from the memory-mapped file and copies it in. Nothing is unpickled.
"""
from __future__ import annotations

import math
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Callable

import torch
from safetensors import safe_open
from torch.overrides import TorchFunctionMode

from .files import FLOATS, PretrainedError

MAX_WEIGHT_BYTES = 4 * 2 ** 30     # float32 bytes a pretrained model may take (GPT-2 large: 3.1 GB)

# Bounds for configs read from config.json: wide enough for BERT-large, GPT-2 large, ViT-huge.
# What really bounds memory is MAX_WEIGHT_BYTES, checked from the file headers.
PRETRAINED_LIMITS = dict(d_model=4096, n_heads=128, n_layers=96, max_len=16384,
                         vocab_size=400_000, d_ff=16384, n_classes=100_000, n_in=1024,
                         n_out=400_000, image_size=1024, channels=4, patch_size=256)


@dataclass(frozen=True)
class W:
    """One tensor of our model: `ours` (state_dict key) from `theirs` (checkpoint key, None =
    zeros of `shape`), whose shape config.json implies is `shape`; fn reshapes theirs to ours."""
    ours: str
    theirs: str | None
    shape: tuple
    fn: Callable | None = None


@dataclass
class Plan:
    cfg: object
    build: Callable
    weights: list = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def add(self, ours: str, theirs: str | None, shape, fn=None):
        self.weights.append(W(ours, theirs, tuple(int(s) for s in shape), fn))

    def linear(self, ours: str, theirs: str, d_out: int, d_in: int, bias: bool = True):
        """A torch Linear stored as torch stores it (weight (out, in)); bias=False fills our
        bias with zeros (a checkpoint without one)."""
        self.add(ours + ".weight", theirs + ".weight", (d_out, d_in))
        self.add(ours + ".bias", theirs + ".bias" if bias else None, (d_out,))

    def norm(self, ours: str, theirs: str, d: int):
        self.add(ours + ".weight", theirs + ".weight", (d,))
        self.add(ours + ".bias", theirs + ".bias", (d,))


def hf_int(hf: dict, key: str, default=None, low: int = 1) -> int:
    """An integer field of config.json, or PretrainedError naming it."""
    value = hf.get(key, default)
    if value is None:
        raise PretrainedError(f"config.json lacks {key}")
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise PretrainedError(f"config.json: {key}={value!r} should be an integer >= {low}")
    return value


def hf_float(hf: dict, key: str, default: float) -> float:
    value = hf.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise PretrainedError(f"config.json: {key}={value!r} should be a small positive number")
    return float(value)


def make_config(cls, **values):
    """Our config from converted values; a value our config refuses is named in the error."""
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        raise PretrainedError(f"config.json describes a model this app cannot build ({e})") from None


def find_prefix(names, marker: str, prefixes) -> str:
    """Which of `prefixes` ("bert.", "") the checkpoint's keys use, found by `marker`."""
    for p in prefixes:
        if p + marker in names:
            return p
    raise PretrainedError(f"the weights have no {marker} (looked for "
                          f"{', '.join(repr(p + marker) for p in prefixes)}): not a checkpoint of "
                          "this architecture, or a format this app does not read")


def check(plan: Plan, tensors: dict, max_bytes: int = MAX_WEIGHT_BYTES) -> int:
    """PretrainedError for the first problems of the plan against the file headers; else the
    float32 bytes the model will take."""
    missing, wrong, total, seen = [], [], 0, set()
    for w in plan.weights:
        if w.theirs is None or w.theirs in seen:
            total += math.prod(w.shape) if w.theirs is None else 0
            continue
        seen.add(w.theirs)
        if w.theirs not in tensors:
            missing.append(w.theirs)
            continue
        _, dtype, shape = tensors[w.theirs]
        if dtype not in FLOATS:
            raise PretrainedError(f"{w.theirs} is stored as {dtype}; expected floating-point "
                                  "weights")
        if tuple(shape) != w.shape:
            wrong.append(f"{w.theirs} is {tuple(shape)} in the file but config.json implies "
                         f"{w.shape}")
        total += math.prod(w.shape)
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise PretrainedError(f"the weights lack {', '.join(missing[:3])}{more}")
    if wrong:
        more = f" ({len(wrong) - 2} more)" if len(wrong) > 2 else ""
        raise PretrainedError("the weights do not match config.json: " + "; ".join(wrong[:2])
                              + more)
    nbytes = 4 * total
    if nbytes > max_bytes:
        raise PretrainedError(f"this model needs {nbytes / 2 ** 30:.1f} GiB of float32 weights; "
                              f"the limit is {max_bytes / 2 ** 30:.1f} GiB")
    return nbytes


class _SkipInit(TorchFunctionMode):
    """Build modules without random initialisation (every weight is overwritten from the file):
    in-place random / fill initialisers become no-ops. A torch function mode is thread-local,
    so a model being built elsewhere (a training job) is not affected."""

    SKIP = {"normal_", "uniform_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_",
            "xavier_uniform_", "xavier_normal_", "zero_", "zeros_", "fill_", "ones_"}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") in self.SKIP:
            target = args[0] if args else kwargs.get("tensor")   # nn.init passes it by name
            if torch.is_tensor(target):
                return target
        return func(*args, **kwargs)


def materialize(plan: Plan, tensors: dict, max_bytes: int = MAX_WEIGHT_BYTES):
    """Our model holding the checkpoint's weights (float32, CPU, eval mode, parameters frozen).
    Each tensor is read from the memory-mapped file and copied into place, so the peak is the
    model plus one tensor."""
    check(plan, tensors, max_bytes)
    with _SkipInit():
        model = plan.build()
    ours = model.state_dict(keep_vars=True)
    filled, last = set(), (None, None)
    try:
        with ExitStack() as stack, torch.no_grad():
            handles = {}
            for w in plan.weights:
                if w.theirs is None:
                    t = torch.zeros(w.shape)
                else:
                    if last[0] != w.theirs:
                        file = tensors[w.theirs][0]
                        if file not in handles:
                            handles[file] = stack.enter_context(safe_open(str(file), "pt"))
                        last = (w.theirs, handles[file].get_tensor(w.theirs))
                    t = last[1]
                if w.fn is not None:
                    t = w.fn(t)
                if w.ours not in ours or tuple(t.shape) != tuple(ours[w.ours].shape):
                    raise PretrainedError(f"{w.theirs} cannot fill {w.ours} (shape "
                                          f"{tuple(t.shape)})")
                ours[w.ours].copy_(t)                        # casts bf16 / f16 to float32
                filled.add(w.ours)
    except (OSError, RuntimeError) as e:
        raise PretrainedError(f"the weights could not be read ({type(e).__name__}: "
                              f"{str(e)[:160]})") from None
    unfilled = sorted(set(ours) - filled)
    if unfilled:
        raise PretrainedError(f"nothing in the checkpoint fills {', '.join(unfilled[:3])}")
    return model.requires_grad_(False).eval()      # frozen: forward passes build no graph
