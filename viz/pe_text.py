"""Captions for the positional-encoding figures, computed from the numbers they describe, so a
caption says what the figure shows for these N and d (not what is true in general).

Pure NumPy; the page shows the returned strings under the figures.
"""
from __future__ import annotations

import numpy as np

from viz.common import to_numpy


def distance_profile(sim) -> tuple[np.ndarray, float]:
    """(profile (N,), deviation): profile[d] = mean similarity of the pairs d apart (the d-th
    diagonal of sim), deviation = the largest |S[i, i+d] − profile[d]| over both triangles,
    relative to max |S| (0 when the similarity depends on the distance alone)."""
    S = to_numpy(sim).astype(np.float64)
    if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] == 0:
        raise ValueError(f"sim must be a non-empty square matrix, got {S.shape}")
    N = S.shape[0]
    scale = max(float(np.abs(S).max()), 1e-300)
    profile, dev = np.empty(N), 0.0
    for d in range(N):
        diag = np.concatenate([np.diagonal(S, d), np.diagonal(S, -d)])   # (2(N − d),)
        profile[d] = diag.mean()
        dev = max(dev, float(np.abs(diag - profile[d]).max()) / scale)
    return profile, dev


def first_rise(profile, tol: float = 1e-9) -> int | None:
    """The first distance d with profile[d + 1] > profile[d] (+ tol·max|profile|), or None
    when the profile never rises (falls off monotonically)."""
    p = np.asarray(profile, dtype=np.float64)
    scale = max(float(np.abs(p).max(initial=0.0)), 1e-300)
    up = np.nonzero(np.diff(p) > tol * scale)[0]
    return int(up[0]) if up.size else None


def similarity_caption(sim, kind: str = "similarity", tol: float = 1e-4) -> str:
    """What the (N, N) similarity map shows: whether it depends on the distance alone (every
    diagonal constant to tol, relative), and whether it falls off monotonically with distance,
    with the first counter-example read from the data."""
    profile, dev = distance_profile(sim)
    N = profile.size
    if dev > tol:
        return (f"Here the {kind} is not a function of the distance alone: pairs the same "
                f"distance apart differ by up to {dev:.0%} of the largest value, so where a "
                "position is matters too.")
    text = (f"The {kind} of two positions depends only on their distance: every diagonal of "
            "the map is constant")
    if N < 3:
        return text + "."
    d = first_rise(profile)
    if d is None:
        return text + f", and over these {N} positions it falls steadily as they move apart."
    return (text + ". It falls off with distance, but not monotonically: a position is more "
            f"like one {d + 1} away ({profile[d + 1]:.2f}) than one {d} away ({profile[d]:.2f}).")


def period_caption(wavelengths) -> str:
    """The range of periods of a sinusoidal encoding, read from its wavelengths (D,)."""
    w = to_numpy(wavelengths).astype(np.float64).reshape(-1)
    D = w.size
    if D == 0:
        raise ValueError("no wavelengths")
    last = 2 * ((D - 1) // 2)
    return (f"Dimension pair i has period 2π·10000^(2i/d): from 2π ≈ {w.min():.1f} positions "
            f"(pair 0, the fastest) to 2π·10000^({last}/{D}) ≈ {w.max():,.0f} positions (the "
            f"last pair, the slowest, for d = {D}): a geometric progression. Only as d grows "
            "without bound does the slowest approach 10000·2π ≈ 62,832.")
