"""Which heads do what: every head of any model scored for the patterns the literature names,
and ranked, so that a user finds a real model's famous heads in seconds.

    rows = head_patterns(model)                    # or head_patterns(pretrained) for a loaded HF model
    rank_heads(rows, "induction", top=5)

Scores, per head, averaged over its query rows (rows with nothing to attend to are skipped):
  previous      weight on the previous position, w[i, i-1]
  first         weight on the first position, w[i, 0] (a "sink": [CLS], BOS)
  broad         entropy / log(allowed keys): 1 = uniform, 0 = one key
  self          weight on its own position, w[i, i]
  offset        the relative offset j - i holding most weight, and offset_share, that weight
  induction     on a repeated random token sequence [prefix] r r [suffix] (Olsson et al. 2022):
                the weight from the second copy's token t to the token after t's first
                occurrence; NaN for models that take no tokens (ViT, real-valued decoders)
A self-attention query whose keys include cached ones (Tq < Tk) sits at key position
i + Tk - Tq. Attention: {name: (H, Tq, Tk) or (B, H, Tq, Tk)}, post-softmax.
"""
from __future__ import annotations

import math
import re

import torch

PATTERNS = ("previous", "first", "broad", "self", "offset", "induction")
_LAYER = re.compile(r"blocks\.(\d+)(?:\.|$)")


def _batch(w: torch.Tensor, name: str) -> torch.Tensor:
    w = w.detach().to("cpu", torch.float64)
    if w.dim() == 3:
        w = w[None]                                                     # (1, H, Tq, Tk)
    if w.dim() != 4:
        raise ValueError(f"{name}: expected (H, Tq, Tk) or (B, H, Tq, Tk) attention, got "
                         f"{tuple(w.shape)}")
    return w


def _positions(name: str, Tq: int, Tk: int) -> torch.Tensor:
    off = Tk - Tq if ("cross_attn" not in name and Tq < Tk) else 0
    return torch.arange(Tq) + off                                       # (Tq,)


def _mean_rows(x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """(B, H, Tq) -> (H,) mean over batch and rows where keep; NaN where none."""
    n = keep.sum((0, 2))
    total = (x * keep).sum((0, 2))
    return torch.where(n > 0, total / n.clamp(min=1), torch.full_like(total, float("nan")))


def pattern_scores(attention: dict, masks: dict | None = None) -> dict:
    """{name: {score: (H,) tensor}} for previous, first, broad, self, offset, offset_share.
    masks (optional): {name: bool mask broadcastable to (B, H, Tq, Tk)}, True = may attend, to
    count allowed keys exactly (else a key is allowed where its weight is > 0)."""
    out = {}
    for name, raw in attention.items():
        w = _batch(raw, name)                                           # (B, H, Tq, Tk)
        B, H, Tq, Tk = w.shape
        valid = w.sum(-1) > 0                                           # (B, H, Tq)
        m = None if masks is None else masks.get(name)
        if m is not None:
            m = m.detach().cpu().bool()
            allowed = torch.broadcast_to(m if m.dim() == 4 else m[None], w.shape).sum(-1)
        else:
            allowed = (w > 0).sum(-1)                                   # (B, H, Tq)
        pos = _positions(name, Tq, Tk)                                  # (Tq,)
        keys = torch.arange(Tk)
        rel = keys[None, :] - pos[:, None]                              # (Tq, Tk) j - pos(i)

        def pick(d):                                                    # w[b, h, i, pos(i) + d]
            return (w * (rel == d)).sum(-1)                             # (B, H, Tq)

        plogp = torch.where(w > 0, w * torch.log(torch.where(w > 0, w, 1.0)), 0.0)
        ent = -plogp.sum(-1) / torch.log(allowed.clamp(min=2).to(w.dtype))  # (B, H, Tq)
        by_offset = torch.zeros(B, H, 2 * Tk - 1, dtype=w.dtype)       # offsets -(Tk-1)..Tk-1
        idx = (rel + Tk - 1).clamp(0, 2 * Tk - 2).expand(B, H, Tq, Tk).reshape(B, H, -1)
        by_offset.scatter_add_(-1, idx, (w * valid[..., None]).reshape(B, H, -1))
        share = by_offset.sum(0) / valid.sum((0, 2)).clamp(min=1)[:, None]  # (H, 2Tk-1)
        best = share.argmax(-1)                                         # (H,)
        out[name] = {
            "previous": _mean_rows(pick(-1), valid & (pos >= 1)),
            "first": _mean_rows(w[..., 0], valid),
            "broad": _mean_rows(ent, valid & (allowed > 1)),
            "self": _mean_rows(pick(0), valid),
            "offset": best - (Tk - 1),
            "offset_share": share.gather(-1, best[:, None])[:, 0],
        }
    return out


def induction_from_attention(attention: dict, n: int, prefix: int = 0) -> dict:
    """{name: (H,)} induction scores from attention on [prefix] r r [suffix], len(r) = n: the
    mean over t < n of w[prefix + n + t, prefix + t + 1]."""
    out = {}
    for name, raw in attention.items():
        w = _batch(raw, name)                                           # (B, H, T, T)
        if w.size(-2) < prefix + 2 * n or w.size(-1) < prefix + 2 * n:
            raise ValueError(f"{name}: attention of shape {tuple(w.shape)} is too short for a "
                             f"repeated sequence of {n} tokens after {prefix}")
        t = torch.arange(n)
        out[name] = w[:, :, prefix + n + t, prefix + t + 1].mean((0, 2))  # (H,)
    return out


def repeated_tokens(n: int, batch: int, token_ids, seed: int = 0, prefix=(), suffix=()):
    """(batch, len(prefix) + 2n + len(suffix)) long: prefix, n random tokens, the same again."""
    ids = torch.as_tensor(list(token_ids), dtype=torch.long)
    if ids.numel() < 2:
        raise ValueError("need at least two token ids to draw a random sequence from")
    g = torch.Generator().manual_seed(seed)
    r = ids[torch.randint(0, ids.numel(), (batch, n), generator=g)]     # (B, n)
    pre = torch.tensor(list(prefix), dtype=torch.long).expand(batch, len(prefix))
    post = torch.tensor(list(suffix), dtype=torch.long).expand(batch, len(suffix))
    return torch.cat([pre, r, r, post], dim=1)                          # (B, P + 2n + S)


def _token_setup(model, pretrained):
    """(token ids to draw from, prefix, suffix, run(ids) -> attention) or None (no tokens)."""
    cfg = model.cfg
    vocab = getattr(cfg, "tgt_vocab_size", None) or getattr(cfg, "vocab_size", 0)
    if model.kind == "vit" or not vocab:
        return None
    if pretrained is not None and getattr(pretrained, "tokenizer", None) is not None:
        tok = pretrained.tokenizer
        special = tok.special_ids
        prefix = list(tok.prefix) or ([pretrained.info["eos_id"]]
                                      if pretrained.info.get("eos_id") is not None else [])
        suffix = list(tok.suffix)
    else:
        special, prefix, suffix = {getattr(cfg, "pad_id", 0)}, [], []
    if getattr(model, "encoder_decoder", False):
        vocab = min(cfg.src_vocab_size, cfg.tgt_vocab_size)
        run = lambda ids: model(ids, ids, return_attention=True).attention        # noqa: E731
    else:
        run = lambda ids: model(ids, return_attention=True).attention             # noqa: E731
    ids = [i for i in range(vocab) if i not in special]
    return ids, prefix, suffix, run


@torch.no_grad()
def _random_run(model, pretrained, n_tokens: int, batch: int, seed: int):
    """(attention, n, prefix length) of a run on repeated random tokens, n cut so the sequence
    fits the model; None for a model that takes no tokens."""
    setup = _token_setup(model, pretrained)
    if setup is None:
        return None
    ids, prefix, suffix, run = setup
    n = min(int(n_tokens), (model.cfg.max_len - len(prefix) - len(suffix)) // 2)
    if n < 2:
        return None
    seq = repeated_tokens(n, batch, ids, seed, prefix, suffix).to(model.device)
    return run(seq), n, len(prefix)


def induction_scores(model, n_tokens: int = 40, batch: int = 4, seed: int = 0,
                     pretrained=None) -> dict:
    """{name: (H,)} induction scores from a run on repeated random tokens ({} for a model that
    takes no tokens)."""
    ran = _random_run(model, pretrained, n_tokens, batch, seed)
    return {} if ran is None else induction_from_attention(ran[0], ran[1], ran[2])


def head_patterns(model_or_pretrained, attention: dict | None = None, masks: dict | None = None,
                  n_tokens: int = 40, batch: int = 4, seed: int = 0,
                  induction: dict | None = None) -> list[dict]:
    """One row per (module, head): module, layer, head, the scores of PATTERNS, offset_share,
    and "measured_on": "input" when `attention` (the user's input) is given, else every score
    comes from the repeated random sequence ("repeated random tokens"). Induction always does.
    A model without tokens (ViT) needs `attention`; its induction is NaN.
    induction: scores induction_scores() gave before ({name: (H,)}, e.g. remembered per model);
    with `attention` given too, nothing runs."""
    pretrained = model_or_pretrained if hasattr(model_or_pretrained, "model") else None
    model = pretrained.model if pretrained is not None else model_or_pretrained
    ran = None
    if induction is None or attention is None:
        was_training = model.training
        model.eval()
        try:
            ran = _random_run(model, pretrained, n_tokens, batch, seed)
        finally:
            model.train(was_training)
    if induction is None:
        induction = {} if ran is None else induction_from_attention(ran[0], ran[1], ran[2])
    source = "input"
    if attention is None:
        if ran is None:
            raise ValueError("this model takes no tokens: pass the attention of an input")
        attention, source = ran[0], "repeated random tokens"
    rows = []
    for name, s in pattern_scores(attention, masks).items():
        m = _LAYER.search(name)
        ind = induction.get(name)
        for h in range(len(s["previous"])):
            rows.append({"module": name, "layer": int(m.group(1)) if m else 0, "head": h,
                         **{k: float(v[h]) for k, v in s.items() if k != "offset"},
                         "offset": int(s["offset"][h]),
                         "induction": float(ind[h]) if ind is not None else math.nan,
                         "measured_on": source})
    return rows


def rank_heads(rows: list[dict], pattern: str, top: int | None = None) -> list[dict]:
    """Rows sorted by the pattern's score, highest first (NaN last), with "score" and "rank".
    "offset" ranks by offset_share (how much weight the head's dominant offset holds)."""
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {PATTERNS}, got {pattern!r}")
    key = "offset_share" if pattern == "offset" else pattern
    scored = [{**r, "score": r[key]} for r in rows]
    scored.sort(key=lambda r: (math.isnan(r["score"]), -r["score"] if not math.isnan(r["score"])
                               else 0.0))
    for i, r in enumerate(scored):
        r["rank"] = i + 1
    return scored[:top] if top is not None else scored
