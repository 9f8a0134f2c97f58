"""GPT-2 as our own causal decoder, and its converter.

GPT-2 is pre-LN: x = x + attn(LN(x)); x = x + ff(LN(x)); a final LN; the LM head is the word
embedding matrix (tied, no bias). That is our `Decoder` (learned positions, a pre-LN `Stack`)
with the tanh GELU ("gelu_new"), so `GPT2` subclasses it and keeps its KV cache and generate().
Conv1D stores weights as (in, out): they are transposed, and c_attn (D, 3D) is cut into q, k, v.

Padding: `tokenize` pads batches on the right. forward() also takes an attention_mask (True / 1
= real token) covering the cached and new tokens; position ids then count real tokens only, so
a left-padded row (what batched generation needs) gets the positions it would have alone.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..attention import causal_mask
from ..config import DecoderConfig
from ..models.base import make_output
from ..models.decoder import Decoder, Generation, generate_tokens
from .convert import PRETRAINED_LIMITS, Plan, find_prefix, hf_float, hf_int, make_config
from .files import PretrainedError


@dataclass(frozen=True)
class GPT2Config(DecoderConfig):
    LIMITS = PRETRAINED_LIMITS
    tied: bool = True          # the LM head is the word embedding matrix


class GPT2(Decoder):
    """forward(input_ids (B, T), cache=None, ..., attention_mask=None) -> ModelOutput with
    .logits (B, T, V) and .hidden (B, T, D); attention keys `decoder.blocks.{i}.self_attn`."""

    kind = "decoder"

    def __init__(self, cfg: GPT2Config):
        super().__init__(cfg)
        self.head = None if cfg.tied else nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)

    def forward(self, input_ids, cache=None, return_attention=False, return_scores=False,
                head_mask=None, attention_mask=None):
        self.check_head_mask(head_mask)
        B, T = input_ids.shape
        offset = len(cache[0]) if cache else 0
        Tk = offset + T
        if Tk > self.cfg.max_len:
            raise ValueError(f"{Tk} tokens are more than this model reads ({self.cfg.max_len})")
        keep = None
        if attention_mask is not None:
            keep = attention_mask.to(input_ids.device).bool()                     # (B, Tk)
            if tuple(keep.shape) != (B, Tk):
                raise ValueError(f"attention_mask should be (B, cached + new) = {(B, Tk)}, "
                                 f"got {tuple(keep.shape)}")
            keep = None if bool(keep.all()) else keep
        mask = causal_mask(T, device=input_ids.device, Tk=Tk)                     # (T, Tk)
        if keep is None:
            pos = self.pos(T, offset)                                             # (T, D)
        else:
            ids = (keep.long().cumsum(1) - 1).clamp(min=0)[:, offset:]             # (B, T)
            pos = self.pos.weight[ids]                                            # (B, T, D)
            mask = mask & keep[:, None, None, :]                                  # (B, 1, T, Tk)
        h = self.tok(input_ids) + pos                                             # (B, T, D)
        records = self._records(return_attention, return_scores)
        h = self.decoder(h, mask, prefix="decoder.", offset=offset, caches=cache,
                         head_mask=head_mask, records=records)                    # (B, T, D)
        logits = F.linear(h, self.tok.weight) if self.head is None else self.head(h)  # (B, T, V)
        return make_output(logits, records, return_attention, return_scores, cache=cache,
                           hidden=h)

    @torch.no_grad()
    def generate(self, idx, max_new_tokens: int, greedy: bool = True, temperature: float = 1.0,
                 top_k=None, top_p=None, eos_id: int | None = None, seed: int | None = None,
                 return_attention: bool = False, use_cache: bool = True, head_mask=None,
                 attention_mask=None) -> Generation:
        """As Decoder.generate; attention_mask (B, T0) marks the prompt's real tokens, so a
        batch of prompts padded on the LEFT generates as each prompt would alone."""
        if attention_mask is None:
            return super().generate(idx, max_new_tokens, greedy, temperature, top_k, top_p,
                                    eos_id, seed, return_attention, use_cache, head_mask)
        prompt = attention_mask.to(idx.device).bool()                             # (B, T0)
        cache = self.new_cache() if use_cache else None

        def step(tokens, new):                                   # (B, T), (B, t) -> output
            grown = torch.ones(tokens.size(0), tokens.size(1) - prompt.size(1),
                               dtype=torch.bool, device=tokens.device)
            keep = torch.cat([prompt, grown], dim=1)                              # (B, T)
            return self(new if use_cache else tokens, cache=cache, head_mask=head_mask,
                        return_attention=return_attention, attention_mask=keep)

        return generate_tokens(step, idx, max_new_tokens, self.cfg.max_len, greedy=greedy,
                               temperature=temperature, top_k=top_k, top_p=top_p,
                               eos_id=eos_id, seed=seed, return_attention=return_attention)


def plan(hf: dict, names) -> Plan:
    """GPT2LMHeadModel (transformer.*) and GPT2Model (no prefix) checkpoints."""
    if not hf.get("scale_attn_weights", True) or hf.get("scale_attn_by_inverse_layer_idx"):
        raise PretrainedError("GPT-2 variants that scale attention differently "
                              "(scale_attn_weights / scale_attn_by_inverse_layer_idx) are not "
                              "supported")
    if hf.get("add_cross_attention"):
        raise PretrainedError("GPT-2 with cross-attention is not supported")
    p = find_prefix(names, "wte.weight", ("transformer.", ""))
    d, V, L = hf_int(hf, "n_embd"), hf_int(hf, "vocab_size"), hf_int(hf, "n_layer")
    ff = hf.get("n_inner") or 4 * d
    n_pos = hf_int(hf, "n_positions", 1024)
    tied = bool(hf.get("tie_word_embeddings", True)) or "lm_head.weight" not in names
    cfg = make_config(GPT2Config, d_model=d, n_heads=hf_int(hf, "n_head"), n_layers=L,
                      d_ff=ff, norm="pre", max_len=n_pos, vocab_size=V,
                      norm_eps=hf_float(hf, "layer_norm_epsilon", 1e-5),
                      activation=hf.get("activation_function", "gelu_new"), pos="learned",
                      pad_id=0, tied=tied)
    out = Plan(cfg, lambda: GPT2(cfg))
    out.add("tok.weight", p + "wte.weight", (V, d))
    out.add("pos.weight", p + "wpe.weight", (n_pos, d))
    T = _transposed
    for i in range(L):
        ours, theirs = f"decoder.blocks.{i}.", f"{p}h.{i}."
        out.norm(ours + "norm1", theirs + "ln_1", d)
        for j, q in enumerate("qkv"):                            # c_attn (D, 3D) = [q | k | v]
            out.add(f"{ours}self_attn.{q}_proj.weight", theirs + "attn.c_attn.weight", (d, 3 * d),
                    lambda t, j=j: t[:, j * d:(j + 1) * d].T)
        for j, q in enumerate("qkv"):
            out.add(f"{ours}self_attn.{q}_proj.bias", theirs + "attn.c_attn.bias", (3 * d,),
                    lambda t, j=j: t[j * d:(j + 1) * d])
        out.add(ours + "self_attn.out_proj.weight", theirs + "attn.c_proj.weight", (d, d), T)
        out.add(ours + "self_attn.out_proj.bias", theirs + "attn.c_proj.bias", (d,))
        out.norm(ours + "norm2", theirs + "ln_2", d)
        out.add(ours + "ff.fc1.weight", theirs + "mlp.c_fc.weight", (d, ff), T)
        out.add(ours + "ff.fc1.bias", theirs + "mlp.c_fc.bias", (ff,))
        out.add(ours + "ff.fc2.weight", theirs + "mlp.c_proj.weight", (ff, d), T)
        out.add(ours + "ff.fc2.bias", theirs + "mlp.c_proj.bias", (d,))
    out.norm("decoder.norm", p + "ln_f", d)
    if not tied:
        out.add("head.weight", "lm_head.weight", (V, d))
    eos = hf.get("eos_token_id")
    out.info["eos_id"] = eos if isinstance(eos, int) and 0 <= eos < V else None
    return out


def _transposed(t: torch.Tensor) -> torch.Tensor:
    return t.T                                                     # Conv1D (in, out) -> (out, in)
