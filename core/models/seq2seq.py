"""Encoder-decoder transformer with cross-attention (Vaswani et al. 2017), step by step.

encode(src (B, Ts)) -> ModelOutput with memory (B, Ts, D) and memory_mask;
decode(tgt (B, Tt), memory, memory_mask, cache=None) -> logits (B, Tt, V);
forward(src, tgt) = decode(tgt, *encode(src)). Attention keys: `encoder.blocks.{i}.self_attn`,
`decoder.blocks.{i}.self_attn` (causal) and `decoder.blocks.{i}.cross_attn` (B, H, Tt, Ts).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..attention import causal_mask
from ..blocks import Stack
from ..config import Seq2SeqConfig
from ..positional import PositionalEmbedding, RotaryEmbedding
from .base import AttentionModel, ModelOutput, make_output
from .decoder import Generation, generate_tokens


class Seq2Seq(AttentionModel):
    kind = "seq2seq"
    encoder_decoder = True

    def __init__(self, cfg: Seq2SeqConfig = Seq2SeqConfig()):
        super().__init__()
        self.cfg = cfg
        self.src_tok = nn.Embedding(cfg.src_vocab_size, cfg.d_model)
        self.tgt_tok = nn.Embedding(cfg.tgt_vocab_size, cfg.d_model)
        self.src_pos = PositionalEmbedding(cfg.pos, cfg.max_len, cfg.d_model)
        self.tgt_pos = PositionalEmbedding(cfg.pos, cfg.max_len, cfg.d_model)
        self.rope = RotaryEmbedding(cfg.d_head, cfg.max_len) if cfg.pos == "rope" else None
        self.encoder = Stack(cfg, cfg.n_layers)
        self.decoder = Stack(cfg, cfg.dec_layers, cross=True)
        self.head = nn.Linear(cfg.d_model, cfg.tgt_vocab_size)

    def _embed(self, tok, pos, idx, offset=0):
        h = tok(idx)                                                      # (B, T, D)
        pe = pos(idx.size(1), offset)
        return h if pe is None else h + pe

    def encode(self, src, return_attention=False, return_scores=False, head_mask=None):
        self.check_head_mask(head_mask)
        keep = src != self.cfg.pad_id                                     # (B, Ts)
        mask = keep[:, None, None, :]                                     # (B, 1, 1, Ts)
        records = self._records(return_attention, return_scores)
        memory = self.encoder(self._embed(self.src_tok, self.src_pos, src), mask,
                              prefix="encoder.", rope=self.rope, head_mask=head_mask,
                              records=records)                            # (B, Ts, D)
        return make_output(None, records, return_attention, return_scores, memory=memory,
                           memory_mask=mask, hidden=memory)

    def decode(self, tgt, memory, memory_mask=None, cache=None, return_attention=False,
               return_scores=False, head_mask=None):
        self.check_head_mask(head_mask)
        T = tgt.size(1)
        offset = len(cache[0]) if cache else 0
        mask = causal_mask(T, device=tgt.device, Tk=offset + T)           # (T, offset + T)
        records = self._records(return_attention, return_scores)
        h = self.decoder(self._embed(self.tgt_tok, self.tgt_pos, tgt, offset), mask, memory,
                         memory_mask, prefix="decoder.", rope=self.rope, offset=offset,
                         caches=cache, head_mask=head_mask, records=records)  # (B, Tt, D)
        return make_output(self.head(h), records, return_attention, return_scores, cache=cache,
                           hidden=h)

    def forward(self, src, tgt, return_attention=False, return_scores=False, head_mask=None):
        enc = self.encode(src, return_attention, return_scores, head_mask)
        dec = self.decode(tgt, enc.memory, enc.memory_mask, None, return_attention,
                          return_scores, head_mask)
        return ModelOutput(dec.logits, _merge(enc.attention, dec.attention),
                           _merge(enc.scores, dec.scores), _merge(enc.masks, dec.masks),
                           memory=enc.memory, memory_mask=enc.memory_mask, hidden=dec.hidden)

    def new_cache(self) -> list:
        return self.decoder.new_caches()

    @torch.no_grad()
    def generate(self, src, bos_id: int, max_new_tokens: int, eos_id: int | None = None,
                 greedy: bool = True, temperature: float = 1.0, top_k=None, top_p=None,
                 seed: int | None = None, return_attention: bool = False,
                 use_cache: bool = True, head_mask=None) -> Generation:
        """Translate src (B, Ts): start from bos_id and add tokens until eos_id or the limit.
        result.tokens starts with the BOS column; result.steps hold decoder.* attention rows."""
        enc = self.encode(src, head_mask=head_mask)
        use_cache = use_cache and len(self.decoder.blocks) > 0   # no layers: nothing to cache
        cache = self.new_cache() if use_cache else None
        bos = torch.full((src.size(0), 1), bos_id, dtype=torch.long, device=src.device)  # (B, 1)

        def step(tokens, new):                                   # (B, T), (B, t) -> logits etc.
            return self.decode(new if use_cache else tokens, enc.memory, enc.memory_mask, cache,
                               return_attention=return_attention, head_mask=head_mask)

        return generate_tokens(step, bos, max_new_tokens, self.cfg.max_len, greedy=greedy,
                               temperature=temperature, top_k=top_k, top_p=top_p,
                               eos_id=eos_id, seed=seed, return_attention=return_attention)

    def positional_encoding(self) -> torch.Tensor:
        return self.rope.angles.clone() if self.rope is not None else self.src_pos.table()


def _merge(a, b):
    if a is None and b is None:
        return None
    return {**(a or {}), **(b or {})}
