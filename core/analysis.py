"""Analysis of attention weights: per-head statistics, layer grids, head ablation masks and
attention rollout. (Similarity matrices and the positional-encoding demos are core.similarity;
their names are also importable from here.)

Pure functions on tensors (torch and numpy only): the app pages call them, the viz package plots
what they return. Attention tensors are one example with the batch removed, (H, Tq, Tk); a
leading batch of size 1 is accepted and dropped.
"""
from __future__ import annotations

import re

import torch

from .similarity import (cosine_similarity, dot_similarity, permutation_demo,  # noqa: F401
                         position_similarity, rope_pair_track)

_LAYER = re.compile(r"blocks\.(\d+)(?:\.|$)")
_SIDES = ("encoder", "decoder")


# ----------------------------------------------------------------------------- names
def parse_name(name: str) -> dict:
    """{"layer", "kind", "side"} of a dotted attention name like "decoder.blocks.1.cross_attn"."""
    m = _LAYER.search(name)
    layer = int(m.group(1)) if m else 0
    kind = "cross_attn" if "cross_attn" in name else "self_attn"
    side = "decoder" if (name.startswith("decoder") or ".decoder." in name) else "encoder"
    return {"layer": layer, "kind": kind, "side": side}


def _one_example(w: torch.Tensor, name: str) -> torch.Tensor:
    """(H, Tq, Tk) from (H, Tq, Tk) or (1, H, Tq, Tk)."""
    if not torch.is_tensor(w):
        raise ValueError(f"{name}: expected a tensor, got {type(w).__name__}")
    if w.dim() == 4 and w.size(0) == 1:
        w = w[0]                                                         # (H, Tq, Tk)
    if w.dim() != 3:
        raise ValueError(f"{name}: expected (H, Tq, Tk) attention of one example, "
                         f"got shape {tuple(w.shape)}")
    return w


# ----------------------------------------------------------------------------- statistics
def _masked_mean(x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Mean of x (H, Tq) over the rows where keep (H, Tq) is True; NaN for a head with none."""
    n = keep.sum(-1)                                                     # (H,)
    total = (x * keep).sum(-1)                                           # (H,)
    return torch.where(n > 0, total / n.clamp(min=1), torch.full_like(total, float("nan")))


def head_statistics(attention: dict, names=None, masks: dict | None = None) -> list[dict]:
    """One row per (module, head) describing where that head looks.

    attention: {name: (H, Tq, Tk)} post-softmax weights of one example. names: which modules
    and in what order (default: dict order). masks (optional): {name: bool mask broadcastable to
    (H, Tq, Tk), True = may attend}, to count allowed keys exactly; without it a key is allowed
    where its weight is > 0.

    Each row: module, layer, kind ("self_attn" / "cross_attn"), side ("encoder" / "decoder"),
    head, and means over query rows (rows that are all zero, e.g. padding queries, are skipped):
      entropy       -Σ w log w in nats (0·log 0 = 0)
      entropy_norm  entropy / log(allowed keys), 1 = uniform (rows with one allowed key skipped)
      mean_distance Σ_j w_ij |pos(i) - j|, pos(i) = i + Tk - Tq for self-attention with Tq < Tk
      max_weight    max_j w_ij
      first_token   w_i0
      diagonal      w_{i, pos(i)} (0 where pos(i) >= Tk)
      previous      w_{i, pos(i)-1} over rows with pos(i) >= 1
    A statistic with no row to average is NaN.
    """
    names = list(attention) if names is None else list(names)
    missing = [n for n in names if n not in attention]
    if missing:
        raise ValueError(f"no attention recorded for {missing}; have {list(attention)}")
    rows = []
    for name in names:
        w = _one_example(attention[name], name).detach().to("cpu", torch.float64)  # (H, Tq, Tk)
        H, Tq, Tk = w.shape
        info = parse_name(name)
        valid = w.sum(-1) > 0                                            # (H, Tq)
        if masks is not None and masks.get(name) is not None:
            m = masks[name].detach().to("cpu", torch.bool)
            if m.dim() == 4:
                m = m[0]                                                 # (H|1, Tq|1, Tk)
            allowed = torch.broadcast_to(m, w.shape).sum(-1)             # (H, Tq)
        else:
            allowed = (w > 0).sum(-1)                                    # (H, Tq)
        plogp = torch.where(w > 0, w * torch.log(torch.where(w > 0, w, 1.0)), 0.0)
        ent = -plogp.sum(-1)                                             # (H, Tq)
        multi = valid & (allowed > 1)                                    # (H, Tq)
        ent_norm = ent / torch.log(allowed.clamp(min=2).to(w.dtype))    # (H, Tq)

        off = Tk - Tq if (info["kind"] == "self_attn" and Tq < Tk) else 0
        pos = torch.arange(Tq) + off                                     # (Tq,)
        keys = torch.arange(Tk)                                          # (Tk,)
        dist = (pos[:, None] - keys[None, :]).abs().to(w.dtype)          # (Tq, Tk)
        mean_dist = (w * dist).sum(-1)                                   # (H, Tq)
        max_w = w.max(-1).values if Tk else torch.zeros(H, Tq, dtype=w.dtype)
        diag = _pick(w, pos)                                             # (H, Tq)
        prev = _pick(w, pos - 1)                                         # (H, Tq)
        has_prev = valid & (pos >= 1)[None, :]                           # (H, Tq)

        stats = {
            "entropy": _masked_mean(ent, valid),
            "entropy_norm": _masked_mean(ent_norm, multi),
            "mean_distance": _masked_mean(mean_dist, valid),
            "max_weight": _masked_mean(max_w, valid),
            "first_token": _masked_mean(w[..., 0] if Tk else max_w, valid),
            "diagonal": _masked_mean(diag, valid),
            "previous": _masked_mean(prev, has_prev),
        }
        for h in range(H):
            row = {"module": name, **info, "head": h}
            row.update({k: float(v[h]) for k, v in stats.items()})
            rows.append(row)
    return rows


def _pick(w: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """w[h, i, cols[i]] (H, Tq), 0 where cols[i] is outside 0..Tk-1."""
    Tk = w.size(-1)
    ok = (cols >= 0) & (cols < Tk)                                       # (Tq,)
    idx = cols.clamp(0, max(Tk - 1, 0))                                  # (Tq,)
    picked = w.gather(-1, idx.view(1, -1, 1).expand(w.size(0), -1, 1))[..., 0]  # (H, Tq)
    return picked * ok[None, :]


# ----------------------------------------------------------------------------- layer grid
def stack_layers(attention: dict, kind: str = "self_attn", side: str | None = None):
    """(names, (L, H, Tq, Tk)) of every module of `kind` (and `side`, if given), ordered by
    side (encoder first) then layer index: the layers x heads grid."""
    if kind not in ("self_attn", "cross_attn"):
        raise ValueError(f"kind must be 'self_attn' or 'cross_attn', got {kind!r}")
    if side is not None and side not in _SIDES:
        raise ValueError(f"side must be one of {_SIDES} or None, got {side!r}")
    picked = []
    for name, w in attention.items():
        info = parse_name(name)
        if info["kind"] == kind and (side is None or info["side"] == side):
            picked.append((_SIDES.index(info["side"]), info["layer"], name, w))
    if not picked:
        raise ValueError(f"no {kind} attention{'' if side is None else ' on the ' + side} "
                         f"among {list(attention)}")
    picked.sort(key=lambda t: (t[0], t[1]))
    tensors = [_one_example(w, n) for _, _, n, w in picked]
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"cannot stack attention of different shapes: "
                         f"{ {n: tuple(t.shape) for (_, _, n, _), t in zip(picked, tensors)} }")
    return [n for _, _, n, _ in picked], torch.stack(tensors)           # (L, H, Tq, Tk)


# ----------------------------------------------------------------------------- ablation
def head_mask(model_or_names, n_heads: int | None = None, off=()) -> dict:
    """{name: (H,) float, 1.0 = on, 0.0 = off} for the modules with a (name, head) in `off`,
    ready for model(..., head_mask=...). model_or_names: a model (its attention_names(), its
    cfg.n_heads when n_heads is None, its device) or a list of names."""
    device = None
    if hasattr(model_or_names, "attention_names"):
        names = list(model_or_names.attention_names())
        cfg_heads = getattr(getattr(model_or_names, "cfg", None), "n_heads", None)
        if n_heads is None:
            n_heads = cfg_heads
        elif cfg_heads is not None and n_heads != cfg_heads:
            raise ValueError(f"n_heads={n_heads} but the model has {cfg_heads} heads")
        device = next(model_or_names.parameters()).device
    else:
        names = list(model_or_names)
    if isinstance(n_heads, bool) or not isinstance(n_heads, int) or n_heads < 1:
        raise ValueError(f"n_heads must be a positive integer, got {n_heads!r}")
    masks = {}
    for item in off:
        try:
            name, h = item
        except (TypeError, ValueError):
            raise ValueError(f"each entry of off must be (module name, head), got {item!r}")
        if name not in names:
            raise ValueError(f"unknown attention module {name!r}; choose from {names}")
        if isinstance(h, bool) or not isinstance(h, int) or not 0 <= h < n_heads:
            raise ValueError(f"head {h!r} of {name!r} is outside 0..{n_heads - 1}")
        masks.setdefault(name, torch.ones(n_heads, device=device))[h] = 0.0  # (H,)
    return masks


def attention_change(before: dict, after: dict, skip=()) -> list[dict]:
    """How much each head's weights moved between two runs (e.g. before / after an ablation).

    before, after: {name: (H, Tq, Tk)}; skip: (name, head) pairs to leave out. The runs may
    differ in length (a decoder that writes a different answer): heads are compared on the
    common top-left block. Rows {"module", "head", "max_change", "mean_change", "compared"}
    (compared = (Tq, Tk) of that block), largest max_change first.
    """
    skip = {(n, int(h)) for n, h in skip}
    rows = []
    for name, b in before.items():
        if name not in after:
            continue
        b, a = _one_example(b, name), _one_example(after[name], name)   # (H, Tq, Tk) each
        Tq, Tk = min(b.size(1), a.size(1)), min(b.size(2), a.size(2))
        diff = (a[:, :Tq, :Tk].double() - b[:, :Tq, :Tk].double()).abs()  # (H, Tq, Tk)
        for h in range(diff.size(0)):
            if (name, h) in skip:
                continue
            d = diff[h]
            rows.append({"module": name, "head": h,
                         "max_change": float(d.max()) if d.numel() else 0.0,
                         "mean_change": float(d.mean()) if d.numel() else 0.0,
                         "compared": (Tq, Tk)})
    return sorted(rows, key=lambda r: -r["max_change"])


# ----------------------------------------------------------------------------- rollout
def attention_rollout(layers, head_fusion: str = "mean", discard_ratio: float = 0.0,
                      residual: bool = True) -> torch.Tensor:
    """Attention rollout (Abnar & Zuidema 2020): R = A_L ··· A_1, (T, T).

    Each A_l: the layer's heads fused (mean / max / min), optionally the lowest discard_ratio
    fraction of its off-diagonal weights zeroed, plus 0.5·I with residual (0.5·A + 0.5·I), rows
    renormalised to sum 1. Row 0 is the CLS token's flow to every input token.
    """
    fusions = {"mean": lambda a: a.mean(0), "max": lambda a: a.max(0).values,
               "min": lambda a: a.min(0).values}
    if head_fusion not in fusions:
        raise ValueError(f"head_fusion must be one of {sorted(fusions)}, got {head_fusion!r}")
    if not isinstance(discard_ratio, (int, float)) or not 0.0 <= discard_ratio < 1.0:
        raise ValueError(f"discard_ratio must be in [0, 1), got {discard_ratio!r}")
    layers = list(layers)
    if not layers:
        raise ValueError("attention_rollout needs at least one layer")
    mats = [_one_example(a, f"layer {i}") for i, a in enumerate(layers)]
    T = mats[0].size(-1)
    for i, a in enumerate(mats):
        if a.shape[-2:] != (T, T):
            raise ValueError(f"layer {i}: expected square (H, {T}, {T}) attention, "
                             f"got {tuple(a.shape)}")
    dtype = mats[0].dtype if mats[0].is_floating_point() else torch.float32
    eye = torch.eye(T, dtype=torch.float64, device=mats[0].device)       # (T, T)
    result = None
    for a in mats:
        fused = fusions[head_fusion](a.detach().to(torch.float64))       # (T, T)
        if discard_ratio > 0:
            fused = _discard(fused, discard_ratio)
        if residual:
            fused = 0.5 * fused + 0.5 * eye                              # (T, T)
        fused = fused / fused.sum(-1, keepdim=True).clamp(min=1e-300)
        result = fused if result is None else fused @ result             # (T, T)
    return result.to(dtype)


def _discard(a: torch.Tensor, ratio: float) -> torch.Tensor:
    """Zero the int(ratio · T(T-1)) smallest off-diagonal entries of a (T, T)."""
    T = a.size(0)
    k = int(ratio * T * (T - 1))
    if k == 0:
        return a
    off_diag = ~torch.eye(T, dtype=torch.bool, device=a.device)          # (T, T)
    flat = a.masked_fill(~off_diag, float("inf")).flatten()              # (T·T,)
    drop = flat.topk(k, largest=False).indices                           # (k,)
    out = a.flatten().clone()
    out[drop] = 0.0
    return out.view(T, T)
