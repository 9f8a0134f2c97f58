"""Why attention divides by √d_k: with unit-variance q and k, a score q·k = Σᵢ qᵢkᵢ has variance
d, so its spread grows like √d and the softmax of raw scores saturates (one key takes nearly
all the weight, gradients vanish) as d grows; dividing by √d keeps the spread at 1 for every d
(Vaswani et al. 2017, arXiv:1706.03762, section 3.2.1, footnote 4).

softmax_saturation() measures it on random vectors: seeded, a few milliseconds per call.
"""
from __future__ import annotations

import math

import torch

DIMS = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


@torch.no_grad()
def softmax_saturation(dims=DIMS, n_keys: int = 16, n_queries: int = 512,
                       seed: int = 0) -> dict:
    """For each d in dims: n_queries random queries q (d,) against n_keys random keys, every
    entry N(0, 1), seeded. Scores q·k, then softmax over the keys, raw and divided by √d.

    Returns {"d": [...], "n_keys": n_keys, and for "raw" and "scaled" each:
      "score_std"   standard deviation of the scores (theory: √d raw, 1 scaled),
      "max_weight"  mean over queries of the largest weight in the row (1/n_keys .. 1),
      "entropy"     mean row entropy / log(n_keys) (1 = uniform, 0 = one key)}.
    """
    dims = [int(d) for d in dims]
    if not dims or min(dims) < 1 or max(dims) > 65536:
        raise ValueError("dims must be integers in 1..65536")
    if n_keys < 2 or n_queries < 1:
        raise ValueError("need at least 2 keys and 1 query")
    g = torch.Generator().manual_seed(int(seed))
    out = {"d": dims, "n_keys": n_keys,
           "raw": {"score_std": [], "max_weight": [], "entropy": []},
           "scaled": {"score_std": [], "max_weight": [], "entropy": []}}
    for d in dims:
        q = torch.randn(n_queries, 1, d, generator=g, dtype=torch.float64)       # (Q, 1, d)
        k = torch.randn(n_queries, n_keys, d, generator=g, dtype=torch.float64)  # (Q, K, d)
        scores = (q * k).sum(-1)                                                  # (Q, K)
        for name, s in (("raw", scores), ("scaled", scores / math.sqrt(d))):
            w = torch.softmax(s, dim=-1)                                          # (Q, K)
            ent = -(w * torch.log(w.clamp_min(1e-300))).sum(-1)                   # (Q,)
            out[name]["score_std"].append(float(s.std()))
            out[name]["max_weight"].append(float(w.max(-1).values.mean()))
            out[name]["entropy"].append(float(ent.mean() / math.log(n_keys)))
    return out


@torch.no_grad()
def saturation_example(d: int, n_queries: int = 4, n_keys: int = 8, seed: int = 0) -> dict:
    """A few queries against a few keys of size d, entries N(0, 1), seeded: the softmax
    weights of each query row without and with the 1/√d scaling, to show side by side.

    Returns {"d", "raw" (Q, K) softmax(q·k), "scaled" (Q, K) softmax(q·k / √d),
    "raw_scores" (Q, K) q·k, "scaled_scores" (Q, K)} as float64 tensors."""
    d, n_queries, n_keys = int(d), int(n_queries), int(n_keys)
    if not 1 <= d <= 65536:
        raise ValueError(f"d must be an integer in 1..65536, got {d}")
    if not (1 <= n_queries <= 64 and 2 <= n_keys <= 64):
        raise ValueError("need 1..64 queries and 2..64 keys")
    g = torch.Generator().manual_seed(int(seed))
    q = torch.randn(n_queries, d, generator=g, dtype=torch.float64)              # (Q, d)
    k = torch.randn(n_keys, d, generator=g, dtype=torch.float64)                 # (K, d)
    raw = q @ k.T                                                                # (Q, K)
    scaled = raw / math.sqrt(d)                                                  # (Q, K)
    return {"d": d, "raw": torch.softmax(raw, -1), "scaled": torch.softmax(scaled, -1),
            "raw_scores": raw, "scaled_scores": scaled}
