"""Choosing the next token from logits: greedy, or sampling with temperature, top-k, top-p."""
from __future__ import annotations

import torch


def next_token_probs(logits, temperature: float = 1.0, top_k: int | None = None,
                     top_p: float | None = None):
    """logits (B, V) -> probabilities (B, V) after temperature, top-k and top-p filtering."""
    if temperature <= 0:
        raise ValueError("temperature must be > 0 (use greedy decoding for 0)")
    logits = logits.float() / temperature                                 # (B, V)
    if top_k is not None and top_k > 0:
        k = min(int(top_k), logits.size(-1))
        kth = torch.topk(logits, k, dim=-1).values[..., -1:]              # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and 0 < top_p < 1:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)  # (B, V)
        cum = torch.softmax(sorted_logits, -1).cumsum(-1)
        drop = cum - torch.softmax(sorted_logits, -1) >= top_p            # keep the first over p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    return torch.softmax(logits, dim=-1)                                  # (B, V)


def choose_next(logits, greedy: bool = True, temperature: float = 1.0, top_k=None, top_p=None,
                generator: torch.Generator | None = None):
    """Return (token (B,), probs (B, V)): argmax when greedy, else a sample from the filtered probs."""
    if greedy:
        probs = torch.softmax(logits.float(), dim=-1)                     # (B, V)
        return probs.argmax(-1), probs
    probs = next_token_probs(logits, temperature, top_k, top_p)
    if generator is not None and generator.device != probs.device:
        token = torch.multinomial(probs.cpu(), 1, generator=generator).to(probs.device)
    else:
        token = torch.multinomial(probs, 1, generator=generator)
    return token.squeeze(-1), probs                                       # (B,)
