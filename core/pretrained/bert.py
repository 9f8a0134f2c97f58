"""BERT-layout encoders (BERT, MiniLM, RoBERTa) as our own modules, and their converter.

BERT is post-LN: x = LN(x + attn(x)); x = LN(x + ff(x)), so our `Stack` with norm="post"
computes it exactly. Embeddings: LN(word + position + token type). Attention keys:
`encoder.blocks.{i}.self_attn`, as for our own encoder. With a masked-LM head in the
checkpoint (BertForMaskedLM), `.logits` are (B, T, vocab); otherwise `.logits` is None.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..blocks import Stack, activation
from ..config import EncoderConfig
from ..models.base import AttentionModel, make_output
from .convert import PRETRAINED_LIMITS, Plan, find_prefix, hf_float, hf_int, make_config
from .files import PretrainedError


@dataclass(frozen=True)
class BertConfig(EncoderConfig):
    """Our encoder config plus what BERT-layout checkpoints add."""
    LIMITS = PRETRAINED_LIMITS
    type_vocab_size: int = 2
    mlm: bool = False             # a masked-language-model head (logits over the vocabulary)
    tied: bool = True             # the MLM decoder shares the word embeddings
    position_pad: int = -1        # RoBERTa: positions count from pad_id + 1, skipping padding
    n_positions: int = 512        # rows of the position table (RoBERTa: max_len + 2)


class BertEncoder(AttentionModel):
    """forward(input_ids (B, T), attention_mask (B, T) True/1 = real token, token_type_ids)
    -> ModelOutput with .hidden (B, T, D), .logits (B, T, V) with an MLM head, else None."""

    kind = "encoder"

    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.tok = nn.Embedding(cfg.vocab_size, d)
        self.pos = nn.Embedding(cfg.n_positions, d)
        self.type_embed = nn.Embedding(cfg.type_vocab_size, d)
        self.embed_norm = nn.LayerNorm(d, eps=cfg.norm_eps)
        self.encoder = Stack(cfg, cfg.n_layers)
        if cfg.mlm:
            self.mlm_dense = nn.Linear(d, d)
            self.mlm_act = activation(cfg.activation)
            self.mlm_norm = nn.LayerNorm(d, eps=cfg.norm_eps)
            self.mlm_bias = nn.Parameter(torch.zeros(cfg.vocab_size))
            self.mlm_decoder = None if cfg.tied else nn.Parameter(torch.zeros(cfg.vocab_size, d))

    def positions(self, input_ids: torch.Tensor) -> torch.Tensor:
        """(B, T) position ids: 0..T-1 (BERT), or RoBERTa's count of non-pad tokens + pad_id."""
        B, T = input_ids.shape
        if self.cfg.position_pad < 0:
            return torch.arange(T, device=input_ids.device).expand(B, T)          # (B, T)
        real = (input_ids != self.cfg.pad_id).long()                              # (B, T)
        return real.cumsum(1) * real + self.cfg.position_pad                      # (B, T)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None,
                return_attention=False, return_scores=False, head_mask=None):
        self.check_head_mask(head_mask)
        B, T = input_ids.shape
        if T > self.cfg.max_len:
            raise ValueError(f"the input is {T} tokens long; this model reads at most "
                             f"{self.cfg.max_len}")
        keep = (torch.ones_like(input_ids, dtype=torch.bool) if attention_mask is None
                else attention_mask.to(input_ids.device).bool())                  # (B, T)
        mask = None if bool(keep.all()) else keep[:, None, None, :]              # (B, 1, 1, T)
        types = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
        x = self.tok(input_ids) + self.type_embed(types) + self.pos(self.positions(input_ids))
        x = self.embed_norm(x)                                                    # (B, T, D)
        records = self._records(return_attention, return_scores)
        x = self.encoder(x, mask, prefix="encoder.", head_mask=head_mask, records=records)
        logits = None
        if self.cfg.mlm:
            h = self.mlm_norm(self.mlm_act(self.mlm_dense(x)))                    # (B, T, D)
            w = self.tok.weight if self.mlm_decoder is None else self.mlm_decoder
            logits = F.linear(h, w, self.mlm_bias)                                # (B, T, V)
        return make_output(logits, records, return_attention, return_scores, hidden=x)

    def positional_encoding(self) -> torch.Tensor:
        """(max_len, D) the learned position vectors (RoBERTa's offset rows left out)."""
        start = max(self.cfg.position_pad + 1, 0)
        return self.pos.weight[start:start + self.cfg.max_len].detach().clone()


def plan(hf: dict, names) -> Plan:
    """BERT (bert.*, or no prefix) and RoBERTa (roberta.*) checkpoints."""
    roberta = hf.get("model_type") == "roberta"
    if hf.get("position_embedding_type", "absolute") != "absolute":
        raise PretrainedError(f"position_embedding_type={hf['position_embedding_type']!r} is not "
                              "supported (only absolute position embeddings)")
    if hf.get("is_decoder") or hf.get("add_cross_attention"):
        raise PretrainedError("a BERT used as a decoder (is_decoder) is not supported")
    base = "roberta." if roberta else "bert."
    p = find_prefix(names, "embeddings.word_embeddings.weight", (base, ""))
    d, V = hf_int(hf, "hidden_size"), hf_int(hf, "vocab_size")
    L, ff = hf_int(hf, "num_hidden_layers"), hf_int(hf, "intermediate_size")
    n_pos = hf_int(hf, "max_position_embeddings", 512)
    pad = hf_int(hf, "pad_token_id", 1 if roberta else 0, low=0)
    head = "lm_head." if roberta else "cls.predictions."
    mlm = (head + ("dense.weight" if roberta else "transform.dense.weight")) in names
    tied = bool(hf.get("tie_word_embeddings", True))
    max_len = n_pos - (pad + 1 if roberta else 0)
    cfg = make_config(BertConfig, d_model=d, n_heads=hf_int(hf, "num_attention_heads"),
                      n_layers=L, d_ff=ff, norm="post", max_len=max(max_len, 1),
                      norm_eps=hf_float(hf, "layer_norm_eps", 1e-12),
                      activation=hf.get("hidden_act", "gelu"), vocab_size=V, n_classes=V,
                      pad_id=pad, type_vocab_size=hf_int(hf, "type_vocab_size", 2),
                      mlm=mlm, tied=tied, position_pad=pad if roberta else -1,
                      n_positions=n_pos)
    out = Plan(cfg, lambda: BertEncoder(cfg))
    e = p + "embeddings."
    out.add("tok.weight", e + "word_embeddings.weight", (V, d))
    out.add("pos.weight", e + "position_embeddings.weight", (n_pos, d))
    out.add("type_embed.weight", e + "token_type_embeddings.weight", (cfg.type_vocab_size, d))
    out.norm("embed_norm", e + "LayerNorm", d)
    for i in range(L):
        ours, theirs = f"encoder.blocks.{i}.", f"{p}encoder.layer.{i}."
        for q, t in (("q", "query"), ("k", "key"), ("v", "value")):
            out.linear(f"{ours}self_attn.{q}_proj", f"{theirs}attention.self.{t}", d, d)
        out.linear(ours + "self_attn.out_proj", theirs + "attention.output.dense", d, d)
        out.norm(ours + "norm1", theirs + "attention.output.LayerNorm", d)
        out.linear(ours + "ff.fc1", theirs + "intermediate.dense", ff, d)
        out.linear(ours + "ff.fc2", theirs + "output.dense", d, ff)
        out.norm(ours + "norm2", theirs + "output.LayerNorm", d)
    if mlm:
        t = head if roberta else head + "transform."
        out.linear("mlm_dense", t + "dense", d, d)
        out.norm("mlm_norm", t + ("layer_norm" if roberta else "LayerNorm"), d)
        out.add("mlm_bias", head + "bias", (V,))
        if not tied:
            out.add("mlm_decoder", head + "decoder.weight", (V, d))
    return out

