"""Decoder-only causal transformer (GPT-style), over tokens or over real values.

Tokens: forward(idx (B, T) long) -> logits (B, T, V). Real values (vocab_size=0):
forward(x (B, T) or (B, T, n_in) float) -> predictions (B, T, n_out). Attention keys:
`decoder.blocks.{i}.self_attn`, each (B, H, T, T) with the causal mask applied.

A real-valued step is embedded from its last `in_window` values (`lagged`: a causal
convolution, the token embedding of time-series transformers such as Informer): one value alone
says little, a short stretch says where in its wave it is, so attention can match stretches.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn

from ..attention import causal_mask
from ..blocks import Stack
from ..config import DecoderConfig
from ..positional import PositionalEmbedding, RotaryEmbedding
from ..sampling import choose_next
from .base import AttentionModel, make_output


@dataclass
class Generation:
    """What generate() returns.

    tokens: (B, T0 + n) prompt and generated tokens.
    steps:  per generated token, {name: (B, H, 1, Tk)} attention of the new query (when asked).
    probs:  per generated token, (B, V) next-token probabilities.
    stopped: "eos" or "length".
    """
    tokens: torch.Tensor
    steps: list = field(default_factory=list)
    probs: list = field(default_factory=list)
    stopped: str = "length"


def generate_tokens(step, tokens, max_new_tokens: int, max_len: int, *, greedy: bool = True,
                    temperature: float = 1.0, top_k=None, top_p=None, eos_id: int | None = None,
                    seed: int | None = None, return_attention: bool = False) -> Generation:
    """The token-by-token loop shared by the decoder and the encoder-decoder.

    step(tokens (B, T), new (B, t)) runs the model (on `new` with a KV cache, else on all of
    `tokens`) and returns its output. Adds one chosen token per step until max_new_tokens, until
    the sequence is max_len long (stopped "length"), or until every row has written eos_id.
    """
    gen = torch.Generator(device="cpu").manual_seed(seed) if seed is not None else None
    result, new = Generation(tokens), tokens
    finished = torch.zeros(tokens.size(0), dtype=torch.bool, device=tokens.device)
    for _ in range(max_new_tokens):
        if tokens.size(1) >= max_len:
            result.stopped = "length"
            break
        out = step(tokens, new)
        nxt, probs = choose_next(out.logits[:, -1], greedy, temperature, top_k, top_p, gen)
        tokens = torch.cat([tokens, nxt[:, None]], dim=1)                 # (B, T + 1)
        result.probs.append(probs)
        if return_attention:
            result.steps.append({n: w[:, :, -1:] for n, w in out.attention.items()})
        new = nxt[:, None]                                                # (B, 1)
        if eos_id is not None:
            finished |= nxt == eos_id
            if bool(finished.all()):
                result.stopped = "eos"
                break
    result.tokens = tokens
    return result


def lagged(x: torch.Tensor, window: int, before: torch.Tensor | None = None) -> torch.Tensor:
    """x (B, T, n) -> (B, T, window * n): step t's values and those of the window - 1 steps
    before it, newest first ([x_t, x_t-1, ...]); steps before x are `before` (B, window - 1, n)
    where given (cached decoding), else zeros (before the series starts)."""
    B, T, n = x.shape
    if before is None:
        before = x.new_zeros(B, window - 1, n)                            # (B, w - 1, n)
    full = torch.cat([before, x], 1)                                      # (B, w - 1 + T, n)
    win = full.unfold(1, window, 1)                                       # (B, T, n, w)
    return win.flip(-1).transpose(-1, -2).reshape(B, T, window * n)       # (B, T, w * n)


class DecoderCache(list):
    """The per-layer KV caches of incremental decoding, plus (real values with in_window > 1)
    `inputs`: the last in_window - 1 input steps (B, w - 1, n_in), which the next step's
    embedding reads."""
    inputs: torch.Tensor | None = None


class Decoder(AttentionModel):
    kind = "decoder"

    def __init__(self, cfg: DecoderConfig = DecoderConfig()):
        super().__init__()
        self.cfg = cfg
        if cfg.vocab_size > 0:
            self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        else:
            self.tok = nn.Linear(cfg.n_in * cfg.in_window, cfg.d_model)   # see lagged()
        self.pos = PositionalEmbedding(cfg.pos, cfg.max_len, cfg.d_model)
        self.rope = RotaryEmbedding(cfg.d_head, cfg.max_len) if cfg.pos == "rope" else None
        self.decoder = Stack(cfg, cfg.n_layers)
        self.head = nn.Linear(cfg.d_model, cfg.out_dim)

    @property
    def regression(self) -> bool:
        return self.cfg.vocab_size == 0

    def forward(self, x, cache=None, return_attention=False, return_scores=False,
                head_mask=None):
        """cache: list of KVCache from new_cache() to decode incrementally (x = the new steps)."""
        self.check_head_mask(head_mask)
        if self.regression and x.dim() == 2:
            x = x.unsqueeze(-1)                                           # (B, T, n_in)
        T = x.size(1)
        offset = len(cache[0]) if cache else 0
        mask = causal_mask(T, device=x.device, Tk=offset + T)             # (T, offset + T)
        h = self.embed(x, cache)                                          # (B, T, D)
        pe = self.pos(T, offset)
        if pe is not None:
            h = h + pe                                                    # (B, T, D)
        records = self._records(return_attention, return_scores)
        h = self.decoder(h, mask, prefix="decoder.", rope=self.rope, offset=offset,
                         caches=cache, head_mask=head_mask, records=records)  # (B, T, D)
        return make_output(self.head(h), records, return_attention, return_scores, cache=cache,
                           hidden=h)

    def embed(self, x, cache=None) -> torch.Tensor:
        """Tokens (B, T) or real values (B, T, n_in) -> (B, T, D), before positions. With a
        cache, real values read their window's earlier steps from it and leave theirs there."""
        if not self.regression:
            return self.tok(x)                                            # (B, T, D)
        x, w = x.float(), self.cfg.in_window
        if w == 1:
            return self.tok(x)                                            # (B, T, D)
        if cache is not None and not isinstance(cache, DecoderCache):
            raise ValueError("this model reads a window of past values: decode with the cache "
                             "from model.new_cache()")
        before = cache.inputs if cache else None             # None before the first step
        if before is None:
            before = x.new_zeros(x.size(0), w - 1, x.size(2))            # (B, w - 1, n_in)
        if cache is not None:                   # the steps the next call's window reaches back to
            cache.inputs = torch.cat([before, x], 1)[:, -(w - 1):]        # (B, w - 1, n_in)
        win = lagged(x, w, before)                                        # (B, T, w * n_in)
        return self.tok(win)                                              # (B, T, D)

    def new_cache(self) -> DecoderCache:
        return DecoderCache(self.decoder.new_caches())

    @torch.no_grad()
    def generate(self, idx, max_new_tokens: int, greedy: bool = True, temperature: float = 1.0,
                 top_k=None, top_p=None, eos_id: int | None = None, seed: int | None = None,
                 return_attention: bool = False, use_cache: bool = True,
                 head_mask=None) -> Generation:
        """Extend idx (B, T0) token by token. With use_cache the KV cache is used (the fast
        path); without it every step re-runs the whole sequence. Both give the same tokens and
        attention. Stops at eos_id (every row) or max_new_tokens, or at max_len."""
        if self.regression:
            raise ValueError("generate() is for token models; use forecast() for real values")
        use_cache = use_cache and len(self.decoder.blocks) > 0   # no layers: nothing to cache
        cache = self.new_cache() if use_cache else None

        def step(tokens, new):                                   # (B, T), (B, t) -> logits etc.
            return self(new if use_cache else tokens, cache=cache,
                        return_attention=return_attention, head_mask=head_mask)

        return generate_tokens(step, idx, max_new_tokens, self.cfg.max_len, greedy=greedy,
                               temperature=temperature, top_k=top_k, top_p=top_p,
                               eos_id=eos_id, seed=seed, return_attention=return_attention)

    @torch.no_grad()
    def forecast(self, x, n_steps: int):
        """Real-valued autoregression: x (B, T) or (B, T, n_in) -> the next n_steps (B, n, n_out)."""
        if not self.regression:
            raise ValueError("forecast() is for real-valued models")
        if x.dim() == 2:
            x = x.unsqueeze(-1)                                           # (B, T, 1)
        if x.size(1) + n_steps - 1 > self.cfg.max_len:
            raise ValueError(f"{x.size(1)} + {n_steps} steps exceed max_len {self.cfg.max_len}")
        if n_steps < 1:
            return x.new_zeros(x.size(0), 0, self.cfg.out_dim)
        use_cache = len(self.decoder.blocks) > 0     # no layers: no cache to carry the offset
        cache = self.new_cache() if use_cache else None
        seq, step, preds = x, x, []
        for _ in range(n_steps):
            out = self(step if use_cache else seq, cache=cache).logits[:, -1:]  # (B, 1, n_out)
            preds.append(out)
            step = out[..., : self.cfg.n_in]                              # (B, 1, n_in)
            seq = torch.cat([seq, step], dim=1)
        return torch.cat(preds, dim=1)                                    # (B, n, n_out)

    def positional_encoding(self) -> torch.Tensor:
        return self.rope.angles.clone() if self.rope is not None else self.pos.table()
