"""Step-by-step causal decoding for the masked-decoding page, with the KV cache checked.

A task turns a user's example into a DecodeSetup (`task.decoding_setup(example)`); decode_trace()
then generates token by token with the KV cache and records, at each step, the new query's
attention row in every layer and head (and the cross-attention over the source for an
encoder-decoder), the next-token probabilities and the choice. The same generation without
the cache is run beside it, and the largest difference between the two is reported.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from .attention import causal_mask


@dataclass
class DecodeSetup:
    """What a task hands the decoder for one example.

    prompt: (1, T0) long token ids the decoder starts from (for seq2seq: [[BOS]]), or
            (1, T0) float values for a real-valued decoder.
    source: (1, Ts) long source ids for an encoder-decoder, else None.
    labels: ids -> display labels (target vocabulary); source_labels: labels of the source.
    target: (1, Tt) the reference continuation (for teacher forcing), or None.
    """
    prompt: torch.Tensor
    labels: Callable
    eos_id: int | None = None
    bos_id: int | None = None
    max_new_tokens: int = 20
    source: torch.Tensor | None = None
    source_labels: list = field(default_factory=list)
    target: torch.Tensor | None = None


@dataclass
class DecodeStep:
    position: int            # position of the new query in the decoder sequence
    token: object            # the chosen id (or value, for a real-valued decoder)
    label: str
    attention: dict          # {name: (H, Tk)} the new query's self-attention row per layer
    cross: dict              # {name: (H, Ts)} its cross-attention over the source (seq2seq)
    top: list                # [(label, probability)] best first (token models)
    probs: torch.Tensor | None = None   # (V,)


@dataclass
class DecodeTrace:
    labels: list             # the decoder sequence's labels: prompt then generated tokens
    prompt_len: int
    steps: list
    stopped: str             # "eos" or "length"
    source_labels: list = field(default_factory=list)
    cache_max_diff: float | None = None   # max |cached - uncached| over every step's attention
    cache_tokens_equal: bool | None = None


def _rows(step_attention: dict) -> tuple[dict, dict]:
    """{name: (1, H, 1, Tk)} -> self-attention and cross-attention rows (H, Tk) on the CPU."""
    self_rows, cross_rows = {}, {}
    for name, w in step_attention.items():
        target = cross_rows if name.endswith("cross_attn") else self_rows
        target[name] = w[0, :, 0].float().cpu()                           # (H, Tk)
    return self_rows, cross_rows


def _generate(model, setup: DecodeSetup, use_cache: bool, **sampling):
    if model.kind == "seq2seq":
        return model.generate(setup.source, setup.bos_id, setup.max_new_tokens, setup.eos_id,
                              return_attention=True, use_cache=use_cache, **sampling)
    return model.generate(setup.prompt, setup.max_new_tokens, eos_id=setup.eos_id,
                          return_attention=True, use_cache=use_cache, **sampling)


@torch.no_grad()
def decode_trace(model, setup: DecodeSetup, greedy: bool = True, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, seed: int | None = 0,
                 k_best: int = 5, check_cache: bool = True) -> DecodeTrace:
    """Generate with the KV cache, recording every step; compare with an uncached run."""
    if getattr(model, "regression", False):
        return _regression_trace(model, setup, check_cache)
    sampling = dict(greedy=greedy, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
    gen = _generate(model, setup, True, **sampling)
    tokens = gen.tokens[0].tolist()
    labels = list(setup.labels(tokens))
    T0 = setup.prompt.size(1)
    steps = []
    for i, (att, probs) in enumerate(zip(gen.steps, gen.probs)):
        self_rows, cross_rows = _rows(att)
        p = probs[0].float().cpu()                                        # (V,)
        best = torch.topk(p, min(k_best, p.numel()))
        top = [(setup.labels([j])[0], float(v)) for v, j in zip(best.values, best.indices.tolist())]
        steps.append(DecodeStep(T0 + i, tokens[T0 + i], labels[T0 + i], self_rows, cross_rows,
                                top, p))
    trace = DecodeTrace(labels, T0, steps, gen.stopped, list(setup.source_labels))
    if check_cache:
        plain = _generate(model, setup, False, **sampling)
        trace.cache_tokens_equal = torch.equal(plain.tokens, gen.tokens)
        trace.cache_max_diff = max((float((a[n] - b[n]).abs().max())
                                    for a, b in zip(gen.steps, plain.steps) for n in a),
                                   default=0.0)
    return trace


def _regression_trace(model, setup: DecodeSetup, check_cache: bool) -> DecodeTrace:
    x = setup.prompt.float()                                              # (1, T0)
    T0 = x.size(1)
    cache = model.new_cache()
    seq, steps, step_in = x, [], x
    for i in range(setup.max_new_tokens):
        out = model(step_in, cache=cache, return_attention=True)
        value = out.logits[:, -1:, 0]                                     # (1, 1)
        self_rows, _ = _rows({n: w[:, :, -1:] for n, w in out.attention.items()})
        steps.append(DecodeStep(T0 + i, float(value), f"{float(value):.2f}", self_rows, {}, []))
        seq = torch.cat([seq, value], dim=1)                              # (1, T + 1)
        step_in = value
    trace = DecodeTrace(list(setup.labels(seq[0].tolist())), T0, steps, "length")
    if check_cache:
        full = model(seq[:, :-1], return_attention=True).attention       # (1, H, T, T)
        diffs = [float((s.attention[n] - full[n][0, :, s.position - 1, : s.position]).abs().max())
                 for s in steps for n in s.attention]
        trace.cache_max_diff = max(diffs, default=0.0)
        trace.cache_tokens_equal = True
    return trace


@torch.no_grad()
def teacher_forcing(model, setup: DecodeSetup) -> dict:
    """The whole reference target at once, as training sees it: one forward pass whose causal
    mask keeps each position from seeing later ones.

    Returns {"labels": decoder labels, "attention": {name: (H, T, T or Ts)}, "mask": (T, T)
    bool, "source_labels": [...], "predicted": the argmax label at each position}.
    """
    if setup.target is None:
        raise ValueError("this example has no reference target to teacher-force")
    if model.kind == "seq2seq":
        tgt = torch.cat([setup.prompt, setup.target], dim=1)[:, :-1]      # (1, T) BOS + target
        out = model(setup.source, tgt, return_attention=True)
        att = {n: w for n, w in out.attention.items() if n.startswith("decoder.")}
    else:
        tgt = torch.cat([setup.prompt, setup.target], dim=1)[:, :-1]      # (1, T)
        out = model(tgt, return_attention=True)
        att = out.attention
    T = tgt.size(1)
    predicted = out.logits[0].argmax(-1).tolist()                         # (T,)
    return {"labels": list(setup.labels(tgt[0].tolist())),
            "attention": {n: w[0].float().cpu() for n, w in att.items()},
            "mask": causal_mask(T), "source_labels": list(setup.source_labels),
            "predicted": list(setup.labels(predicted))}
