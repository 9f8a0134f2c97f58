"""Step-by-step causal decoding for the masked-decoding page, with the KV cache checked.

A task turns a user's example into a DecodeSetup (`task.decoding_setup(example)`); decode_trace()
then generates token by token with the KV cache and records, at each step, the new query's
attention row in every layer and head (and the cross-attention over the source for an
encoder-decoder), the next-token probabilities and the choice. The same generation without
the cache is run beside it, and the largest difference between the two is reported.

Positions: at step i the query is the last token so far, at `position` (T0 - 1 + i); it sees
keys 0..position, so its self-attention rows have position + 1 weights, and the token it
chooses lands at position + 1.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
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
    position: int            # position of the query (the last token so far); Tk = position + 1
    token: object            # the chosen id (or value, for a real-valued decoder)
    label: str
    attention: dict          # {name: (H, position + 1)} the query's self-attention row per layer
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
    vocab: list = field(default_factory=list)   # the label of every token id (token models)
    values: list = field(default_factory=list)  # prompt + generated values (real-valued)


def _rows(step_attention: dict) -> tuple[dict, dict]:
    """{name: (1, H, 1, Tk)} -> self-attention and cross-attention rows (H, Tk) on the CPU."""
    self_rows, cross_rows = {}, {}
    for name, w in step_attention.items():
        target = cross_rows if name.endswith("cross_attn") else self_rows
        target[name] = w[0, :, 0].float().cpu()                           # (H, Tk)
    return self_rows, cross_rows


def _check(model, setup: DecodeSetup) -> None:
    """ValueError with a message for the user when the example cannot be decoded."""
    if setup.prompt.dim() != 2 or setup.prompt.size(0) != 1 or setup.prompt.size(1) < 1:
        raise ValueError("the decoder needs a prompt of at least one token")
    if int(setup.max_new_tokens) < 1:
        raise ValueError("the length limit must be at least one new token")
    if model.encoder_decoder:
        if setup.source is None or setup.source.numel() == 0:
            raise ValueError("an encoder-decoder needs a source to translate")
        if setup.source.size(1) > model.cfg.max_len:
            raise ValueError(f"the source is {setup.source.size(1)} tokens long; this model "
                             f"reads at most {model.cfg.max_len}")
    elif setup.prompt.size(1) >= model.cfg.max_len:
        raise ValueError(f"the prompt is {setup.prompt.size(1)} tokens long; this model "
                         f"handles {model.cfg.max_len} tokens in all, so it has no room to write")


def _on(model, setup: DecodeSetup) -> DecodeSetup:
    """The setup with its tensors on the model's device."""
    dev = model.device
    return replace(setup, prompt=setup.prompt.to(dev),
                   source=None if setup.source is None else setup.source.to(dev),
                   target=None if setup.target is None else setup.target.to(dev))


def _generate(model, setup: DecodeSetup, use_cache: bool, **sampling):
    if model.encoder_decoder:
        return model.generate(setup.source, setup.bos_id, setup.max_new_tokens, setup.eos_id,
                              return_attention=True, use_cache=use_cache, **sampling)
    return model.generate(setup.prompt, setup.max_new_tokens, eos_id=setup.eos_id,
                          return_attention=True, use_cache=use_cache, **sampling)


@torch.no_grad()
def decode_trace(model, setup: DecodeSetup, greedy: bool = True, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, seed: int | None = 0,
                 k_best: int = 5, check_cache: bool = True) -> DecodeTrace:
    """Generate with the KV cache, recording every step; compare with an uncached run.

    ValueError (with a message for the user) when the example does not fit the model."""
    _check(model, setup)
    setup = _on(model, setup)
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
        steps.append(DecodeStep(T0 - 1 + i, tokens[T0 + i], labels[T0 + i], self_rows,
                                cross_rows, top, p))
    V = gen.probs[0].size(-1) if gen.probs else 0
    trace = DecodeTrace(labels, T0, steps, gen.stopped, list(setup.source_labels),
                        vocab=list(setup.labels(list(range(V)))))
    if check_cache:
        plain = _generate(model, setup, False, **sampling)
        trace.cache_tokens_equal = torch.equal(plain.tokens, gen.tokens)
        trace.cache_max_diff = max((float((a[n] - b[n]).abs().max())
                                    for a, b in zip(gen.steps, plain.steps) for n in a),
                                   default=0.0)
    return trace


def _regression_trace(model, setup: DecodeSetup, check_cache: bool) -> DecodeTrace:
    """A real-valued decoder (one value per step, n_in = 1): feed each prediction back in, as
    Decoder.forecast does, recording every step's attention row."""
    if int(getattr(model.cfg, "n_in", 1)) != 1:
        raise ValueError("step-by-step decoding shows one real value per step (n_in = 1)")
    x = setup.prompt.float()                                              # (1, T0)
    T0 = x.size(1)
    n = min(int(setup.max_new_tokens), model.cfg.max_len - T0 + 1)
    use_cache = len(model.decoder.blocks) > 0      # no layers: no cache to carry the offset
    cache = model.new_cache() if use_cache else None
    seq, steps, step_in = x, [], x
    for i in range(n):
        out = model(step_in if use_cache else seq, cache=cache, return_attention=True)
        value = out.logits[:, -1:, 0]                                     # (1, 1)
        self_rows, _ = _rows({k: w[:, :, -1:] for k, w in out.attention.items()})
        steps.append(DecodeStep(T0 - 1 + i, float(value), f"{float(value):.2f}", self_rows,
                                {}, []))
        seq = torch.cat([seq, value], dim=1)                              # (1, T + 1)
        step_in = value
    trace = DecodeTrace(list(setup.labels(seq[0].tolist())), T0, steps, "length",
                        values=seq[0].float().cpu().tolist())
    if check_cache:
        full = model(seq[:, :-1], return_attention=True).attention       # {name: (1, H, T, T)}
        diffs = [float((s.attention[k] - full[k][0, :, s.position, : s.position + 1].float()
                        .cpu()).abs().max()) for s in steps for k in s.attention]
        trace.cache_max_diff = max(diffs, default=0.0)
        trace.cache_tokens_equal = True
    return trace


@torch.no_grad()
def teacher_forcing(model, setup: DecodeSetup) -> dict:
    """The whole reference target at once, as training sees it: one forward pass whose causal
    mask keeps each position from seeing later ones.

    Returns {"labels": the decoder's input labels (prompt + target, last dropped),
    "attention": {name: (H, T, T) self or (H, T, Ts) cross}, "mask": (T, T) bool (True = may
    attend), "source_labels": [...], "predicted": the model's next token at each position (argmax,
    or the value for a real-valued decoder), "targets": the true next token at each position,
    "start": the first position whose next token belongs to the target; for a real-valued
    decoder also "predicted_values" and "target_values" as floats}.
    """
    if setup.target is None:
        raise ValueError("this example has no reference target to teacher-force")
    _check(model, setup)
    setup = _on(model, setup)
    full = torch.cat([setup.prompt, setup.target.to(setup.prompt.dtype)], dim=1)  # (1, T + 1)
    tgt = full[:, :-1]                                                    # (1, T) inputs
    T = tgt.size(1)
    if T > model.cfg.max_len:
        raise ValueError(f"prompt and target take {T} positions; this model has "
                         f"{model.cfg.max_len}")
    if model.encoder_decoder:
        out = model(setup.source, tgt, return_attention=True)
        att = {n: w for n, w in out.attention.items() if n.startswith("decoder.")}
    else:
        out = model(tgt, return_attention=True)
        att = out.attention
    extra = {}
    if getattr(model, "regression", False):
        predicted = out.logits[0, :, 0].float().cpu().tolist()           # (T,) values
        extra = {"predicted_values": predicted, "target_values": full[0, 1:].float().cpu().tolist()}
    else:
        predicted = out.logits[0].argmax(-1).tolist()                     # (T,) ids
    return {**extra, "labels": list(setup.labels(tgt[0].tolist())),
            "attention": {n: w[0].float().cpu() for n, w in att.items()},
            "mask": causal_mask(T), "source_labels": list(setup.source_labels),
            "predicted": list(setup.labels(predicted)),
            "targets": list(setup.labels(full[0, 1:].tolist())),
            "start": setup.prompt.size(1) - 1}
