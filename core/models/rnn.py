"""A GRU encoder-decoder with Bahdanau (additive) attention, or without it (a fixed context).

Bahdanau, Cho & Bengio (2015), "Neural machine translation by jointly learning to align and
translate". The encoder reads the source both ways (a bidirectional GRU), so the annotation
h_j of character j summarises what comes before and after it: "2" means a day digit in
"22 Nov" and a year digit in "Nov 2026", which only the following or preceding text says.
At output step i the decoder scores every annotation against its previous state s_{i-1},

    e_ij = vᵀ tanh(W s_{i-1} + U h_j),   α_ij = softmax_j(e_ij) over real source characters,
    c_i = Σ_j α_ij h_j,                   s_i = GRU([E y_{i-1}; c_i], s_{i-1}),
    p(y_i) = softmax(W_o [s_i; c_i; E y_{i-1}]).

With `attention=False` (Cho et al. 2014; Sutskever et al. 2014) the context is the same fixed
vector at every step: the encoder's final states [h_fwd at the last character; h_bwd at the
first], all the decoder ever learns about the source: the bottleneck attention removes. Both
variants start from s_0 = tanh(W_init · that summary).

encode(src (B, Ts)) -> ModelOutput with memory (B, Ts, M) and memory_mask (B, 1, 1, Ts);
decode(tgt (B, Tt), memory, memory_mask, cache=None) -> logits (B, Tt, V), attention
{"decoder.cross_attn": (B, 1, Tt, Ts)} (one head; row i = the step that writes output i);
forward(src, tgt) = decode(tgt, *encode(src)); generate() as Seq2Seq.generate.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..rnn_config import RNNConfig
from .base import AttentionModel, ModelOutput, make_output
from .decoder import Generation, generate_tokens
from .gru_scan import gru_update, run_gru
from .rnn_ops import SharedOperand

ATTN = "decoder.cross_attn"    # the attention module's name in named_modules(): .attention's key


class AdditiveAttention(nn.Module):
    """e_j = vᵀ tanh(W s + U h_j); weights = masked softmax over j; context = Σ_j α_j h_j."""

    def __init__(self, d_query: int, d_key: int, d_attn: int):
        super().__init__()
        self.W = nn.Linear(d_query, d_attn, bias=False)
        self.U = nn.Linear(d_key, d_attn)
        self.v = nn.Linear(d_attn, 1, bias=False)

    def keys(self, memory):
        """2·U h_j for every source position, computed once per source (doubled: attend)."""
        return 2 * self.U(memory)                                         # (B, Ts, A)

    def forward(self, s, keys, memory, mask):
        """s (B, H) previous decoder state; keys (B, Ts, A) from keys(); memory (B, Ts, M);
        mask (B, Ts) bool, True = may attend -> (context (B, M), weights (B, Ts),
        scores (B, Ts))."""
        return self.attend(2 * self.W(s), keys, memory, mask)

    def attend(self, query, keys, memory, mask, box: SharedOperand | None = None):
        """forward() from the doubled projected state 2·W s (B, A) (the decoder computes it in
        one product with the GRU's own projection of s). The scores are vᵀ tanh(a) computed as
        (2v)ᵀ σ(2a) - Σv, the same numbers: torch.tanh costs twice torch.sigmoid on the CPUs we
        measured (635 vs 293 µs on these 172k floats), and this is the decoder's largest
        elementwise step. With a box (training), memory is box.track(memory) and the context's
        gradient is gathered there (core/models/rnn_ops)."""
        v = self.v.weight[0]                                              # (A,)
        scores = torch.sigmoid(query[:, None] + keys) @ (2 * v) - v.sum()  # (B, Ts)
        masked = scores.masked_fill(~mask, float("-inf"))                 # (B, Ts)
        weights = masked.softmax(-1).masked_fill(~mask, 0.0)              # (B, Ts)
        if box is not None:
            context = box.product(weights[:, None], memory)[:, 0]        # (B, M)
            return context, weights, scores
        context = torch.bmm(weights[:, None], memory)[:, 0]               # (B, M)
        return context, weights, scores


class DecoderState:
    """The decoder's recurrent state between calls (what a KV cache is to a transformer):
    `h` (B, H) after the steps taken so far, None before the first one."""

    def __init__(self):
        self.h, self.steps = None, 0

    def __len__(self) -> int:
        return self.steps


class GRUEncoder(nn.Module):
    """Character embeddings read by a (bidirectional) GRU: one annotation h_j per character."""

    def __init__(self, cfg: RNNConfig):
        super().__init__()
        self.tok = nn.Embedding(cfg.src_vocab_size, cfg.d_emb)
        self.gru = nn.GRU(cfg.d_emb, cfg.d_hidden, batch_first=True,
                          bidirectional=cfg.bidirectional)


class GRUDecoder(nn.Module):
    """s_0 from the source summary, a GRU cell stepped once per output character, the additive
    attention over the annotations (absent in the fixed-context model), the output layer."""

    def __init__(self, cfg: RNNConfig):
        super().__init__()
        E, H, M = cfg.d_emb, cfg.d_hidden, cfg.d_memory
        self.tok = nn.Embedding(cfg.tgt_vocab_size, E)
        self.init = nn.Linear(M, H)                  # summary -> s_0
        self.cell = nn.GRUCell(E + M, H)             # input: [E y_{i-1}; c_i]
        self.cross_attn = AdditiveAttention(H, M, cfg.d_attn) if cfg.attention else None
        self.head = nn.Linear(H + M + E, cfg.tgt_vocab_size)


class RNNSeq2Seq(AttentionModel):
    kind = "rnn"
    encoder_decoder = True
    encoder_decoder = True           # encode(src) then decode(tgt, memory, ...), like Seq2Seq

    def __init__(self, cfg: RNNConfig = RNNConfig()):
        super().__init__()
        self.cfg = cfg
        self.encoder = GRUEncoder(cfg)
        self.decoder = GRUDecoder(cfg)

    def attention_names(self) -> list[str]:
        """[ATTN], or [] for the fixed-context model: named_modules() names, as everywhere."""
        return [n for n, m in self.named_modules() if isinstance(m, AdditiveAttention)]

    # -- encoder ---------------------------------------------------------------------------
    def encode(self, src, return_attention=False, return_scores=False, head_mask=None):
        """src (B, Ts) right-padded with pad_id -> memory (B, Ts, M) (zeros at padding) and
        memory_mask (B, 1, 1, Ts); the bidirectional GRU never reads the padding (run_gru)."""
        self.check_head_mask(head_mask)
        keep = src != self.cfg.pad_id                                     # (B, Ts)
        memory = run_gru(self.encoder.gru, self.encoder.tok(src), keep)   # (B, Ts, M)
        empty = {} if return_attention or return_scores else None
        return make_output(None, empty, return_attention, return_scores, memory=memory,
                           memory_mask=keep[:, None, None, :])            # (B, 1, 1, Ts)

    def summary(self, memory, memory_mask):
        """The fixed-length vector of the source: the forward GRU's state after the last real
        character and the backward GRU's after the first -> (B, M)."""
        keep = memory_mask[:, 0, 0]                                       # (B, Ts)
        last = (keep.sum(1) - 1).clamp(min=0)                             # (B,)
        fwd = memory[torch.arange(memory.size(0)), last, :self.cfg.d_hidden]   # (B, H)
        if not self.cfg.bidirectional:
            return fwd
        return torch.cat([fwd, memory[:, 0, self.cfg.d_hidden:]], -1)     # (B, 2H)

    # -- decoder ---------------------------------------------------------------------------
    def decode(self, tgt, memory, memory_mask=None, cache=None, return_attention=False,
               return_scores=False, head_mask=None):
        """tgt (B, Tt) decoder inputs (<bos> + output so far). With a DecoderState in `cache`
        the steps continue from its state (tgt = the new tokens only) and the state advances."""
        self.check_head_mask(head_mask)
        B, Ts = memory.shape[:2]
        if memory_mask is None:
            memory_mask = torch.ones(B, 1, 1, Ts, dtype=torch.bool, device=memory.device)
        keep = memory_mask[:, 0, 0]                                       # (B, Ts)
        dec = self.decoder
        fixed = self.summary(memory, memory_mask)                         # (B, M)
        s = cache.h if cache is not None and cache.h is not None else \
            torch.tanh(dec.init(fixed))                                   # (B, H)
        gate = None
        if head_mask and ATTN in head_mask:                               # ablation: c_i = 0
            gate = torch.as_tensor(head_mask[ATTN]).to(memory)            # (1,)
            if gate.numel() != 1:
                raise ValueError(f"head_mask needs one value for the one attention head, got "
                                 f"shape {tuple(gate.shape)}")
            gate = gate.reshape(1)                                        # (1,)
        att, cell, E = dec.cross_attn, dec.cell, dec.tok.embedding_dim
        keys = att.keys(memory) if att is not None else None              # (B, Ts, A)
        emb = dec.tok(tgt)                                                # (B, Tt, E)
        # The GRU cell's input projection W_i [E y; c] in two parts: the embeddings' for every
        # step at once, the context's per step; s's projections for the attention (W s) and
        # the GRU (W_h s) as one product per step.
        gi_y = F.linear(emb, cell.weight_ih[:, :E], cell.bias_ih).unbind(1)  # Tt x (B, 3H)
        w_c = cell.weight_ih[:, E:]                                       # (3H, M)
        w_s, b_s = cell.weight_hh, cell.bias_hh                           # (3H, H), (3H,)
        A = 0 if att is None else att.W.out_features
        if att is not None:
            w_s = torch.cat([2 * att.W.weight, w_s])                      # (A + 3H, H)
            b_s = F.pad(b_s, (A, 0))                                      # (A + 3H,)
        box = SharedOperand() if att is not None and torch.is_grad_enabled() \
            and memory.requires_grad else None
        source = box.track(memory) if box is not None else memory        # (B, Ts, M)
        states, contexts, weights, scores = [], [], [], []
        for g_y in gi_y:
            query, gh = F.linear(s, w_s, b_s).split([A, w_s.size(0) - A], -1)  # (B, A), (B, 3H)
            if att is not None:
                c, w, e = att.attend(query, keys, source, keep, box)     # (B, M), (B, Ts) x2
                weights.append(w)
                scores.append(e)
            else:
                c = fixed                                                 # (B, M)
            if gate is not None:
                c = c * gate                                              # (B, M)
            s = gru_update(torch.addmm(g_y, c, w_c.t()), gh, s)           # (B, H)
            states.append(s)
            contexts.append(c)
        if cache is not None:
            cache.h, cache.steps = s, cache.steps + tgt.size(1)
        feats = torch.cat([torch.stack(states, 1), torch.stack(contexts, 1), emb], -1)
        logits = dec.head(feats)                                          # (B, Tt, V)
        records = {}
        if weights and (return_attention or return_scores):
            records[ATTN] = {"weights": torch.stack(weights, 1)[:, None],  # (B, 1, Tt, Ts)
                             "scores": torch.stack(scores, 1)[:, None],    # (B, 1, Tt, Ts)
                             "mask": memory_mask}                          # (B, 1, 1, Ts)
        return make_output(logits, records, return_attention, return_scores, cache=cache)

    def forward(self, src, tgt, return_attention=False, return_scores=False, head_mask=None):
        enc = self.encode(src, head_mask=head_mask)
        dec = self.decode(tgt, enc.memory, enc.memory_mask, None, return_attention,
                          return_scores, head_mask)
        return ModelOutput(dec.logits, dec.attention, dec.scores, dec.masks,
                           memory=enc.memory, memory_mask=enc.memory_mask)

    def new_cache(self) -> DecoderState:
        return DecoderState()

    @torch.no_grad()
    def generate(self, src, bos_id: int, max_new_tokens: int, eos_id: int | None = None,
                 greedy: bool = True, temperature: float = 1.0, top_k=None, top_p=None,
                 seed: int | None = None, return_attention: bool = False,
                 use_cache: bool = True, head_mask=None) -> Generation:
        """Translate src (B, Ts) from bos_id until eos_id or the limit, as Seq2Seq.generate.
        With use_cache the GRU state is carried (one step per token); without it every step
        re-runs the decoder over the whole output so far. Both give the same tokens and rows."""
        enc = self.encode(src, head_mask=head_mask)
        bos = torch.full((src.size(0), 1), bos_id, dtype=torch.long, device=src.device)  # (B, 1)
        cache = self.new_cache() if use_cache else None

        def step(tokens, new):                                   # (B, T), (B, t) -> logits etc.
            return self.decode(new if use_cache else tokens, enc.memory, enc.memory_mask, cache,
                               return_attention=return_attention, head_mask=head_mask)

        return generate_tokens(step, bos, max_new_tokens, self.cfg.max_len, greedy=greedy,
                               temperature=temperature, top_k=top_k, top_p=top_p,
                               eos_id=eos_id, seed=seed, return_attention=return_attention)
