"""What explicit attention costs: time and the memory of the (1, H, N, N) weights tensor.

attention_cost() times one MultiHeadAttention forward with need_weights=True for each sequence
length, with a time budget so a page calling it never hangs. Each length is warmed up first
(allocator, kernel choice, caches), then timed several times; the minimum is reported, the
usual estimate of a kernel's cost (noise from other processes only ever adds time).
"""
from __future__ import annotations

import statistics
import time

import torch

from .attention import MultiHeadAttention
from .device import get_device

MAX_LENGTH = 8192


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _validate(lengths, d_model, n_heads, repeats, max_seconds, warmup=1) -> list[int]:
    try:
        lengths = list(lengths)
    except TypeError:
        raise ValueError(f"lengths must be a list of integers, got {lengths!r}")
    if not lengths:
        raise ValueError("lengths must not be empty")
    for n in lengths:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_LENGTH:
            raise ValueError(f"each length must be an integer in 1..{MAX_LENGTH}, got {n!r}")
    for label, v in (("d_model", d_model), ("n_heads", n_heads), ("repeats", repeats)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{label} must be a positive integer, got {v!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be an integer >= 0, got {warmup!r}")
    if d_model % n_heads:
        raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
    if not isinstance(max_seconds, (int, float)) or not max_seconds > 0:
        raise ValueError(f"max_seconds must be > 0, got {max_seconds!r}")
    return lengths


@torch.no_grad()
def attention_cost(lengths, d_model: int = 64, n_heads: int = 4, device=None, repeats: int = 5,
                   max_seconds: float = 5.0, warmup: int = 2) -> list[dict]:
    """Time and memory of explicit attention at each sequence length N (in the given order).

    Each row: {"n", "seconds" (the minimum of the timed forwards, after `warmup` untimed ones),
    "median_seconds", "repeats" (how many were timed), "weights_bytes" (exact: numel · element
    size of (1, H, N, N)), "peak_bytes" (CUDA: max_memory_allocated above the starting
    allocation, measured; else None), "memory_bytes" and "memory_measured" (the peak where it
    was measured, else the weights' size, computed), "device" (str), "stopped" (False),
    "reason" (None)}. Once the elapsed time passes max_seconds, or the next length is predicted
    (time ∝ N²) to overrun it, measuring stops: the last row gets "stopped": True and a
    "reason".
    """
    lengths = _validate(lengths, d_model, n_heads, repeats, max_seconds, warmup)
    device = get_device() if device is None else torch.device(device)
    torch.manual_seed(0)
    mha = MultiHeadAttention(d_model, n_heads).to(device).eval()
    gen = torch.Generator().manual_seed(0)
    rows: list[dict] = []
    if device.type == "cuda":      # cuBLAS workspaces exist before any peak is measured
        mha(torch.zeros(1, 8, d_model, device=device), need_weights=True)
        _sync(device)
    start = time.perf_counter()

    def stop(reason: str) -> list[dict]:
        rows[-1]["stopped"], rows[-1]["reason"] = True, reason
        return rows

    for n in lengths:
        elapsed = time.perf_counter() - start
        if rows:
            if elapsed > max_seconds:
                return stop(f"time budget of {max_seconds:g} s used up before N={n}")
            prev = rows[-1]
            guess = prev["seconds"] * (n / prev["n"]) ** 2 * (warmup + 1)   # warm-ups + 1 run
            if elapsed + guess > max_seconds:
                return stop(f"N={n} would take about {guess:.2f} s, past the "
                            f"{max_seconds:g} s budget")
        x = torch.randn(1, n, d_model, generator=gen).to(device)            # (1, N, D)
        base = 0
        if device.type == "cuda":
            _sync(device)
            torch.cuda.reset_peak_memory_stats(device)
            base = torch.cuda.memory_allocated(device)
        for _ in range(warmup):
            mha(x, need_weights=True)                                       # untimed warm-up
        _sync(device)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            _, weights = mha(x, need_weights=True)                          # (1, H, N, N)
            _sync(device)
            times.append(time.perf_counter() - t0)
            if time.perf_counter() - start > max_seconds:
                break
        peak = (torch.cuda.max_memory_allocated(device) - base) if device.type == "cuda" else None
        size = weights.numel() * weights.element_size()
        rows.append({"n": n, "seconds": min(times), "median_seconds": statistics.median(times),
                     "repeats": len(times), "weights_bytes": size, "peak_bytes": peak,
                     "memory_bytes": size if peak is None else peak,
                     "memory_measured": peak is not None, "device": str(device),
                     "stopped": False, "reason": None})
        del weights, x
    return rows
