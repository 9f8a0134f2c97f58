"""Training an encoder over the real tokens only (core/packed.py) gives the padded layout's
outputs at real positions and exactly its loss gradients; everything else keeps the padded
layout. Reference: the same model through the padded blocks (eval mode, gradients on)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from core import EncoderConfig, Seq2SeqConfig
from core.models import build_model
from core.packed import can_pack

IGNORE = -100


def _model(cfg, seed=0):
    torch.manual_seed(seed)
    return build_model(cfg).double()


def _padded_tokens(lengths, T, vocab, seed=0):
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(1, vocab, (len(lengths), T), generator=g)          # (B, T)
    keep = torch.arange(T)[None] < torch.tensor(lengths)[:, None]         # (B, T)
    return idx.masked_fill(~keep, 0), keep


def _grads(model, loss_fn, train: bool):
    """Loss and parameter gradients with the model in train (packed) or eval (padded) mode."""
    model.train(train)
    model.zero_grad()
    loss, out = loss_fn(model)
    loss.backward()
    return loss.detach(), out.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                                         if p.grad is not None}


def _assert_same(a, b):
    (la, oa, ga), (lb, ob, gb) = a, b
    assert torch.allclose(la, lb, rtol=1e-10, atol=1e-12)
    assert ga.keys() == gb.keys() and len(ga) > 10
    for name in ga:
        assert torch.allclose(ga[name], gb[name], rtol=1e-8, atol=1e-11), name


@pytest.mark.parametrize("n_layers", [1, 3])
def test_tagger_loss_outputs_and_gradients_equal_the_padded_layout(n_layers):
    cfg = EncoderConfig(vocab_size=12, n_classes=12, d_model=16, n_heads=2, n_layers=n_layers,
                        d_ff=24, max_len=10, activation="silu")
    model = _model(cfg)
    idx, keep = _padded_tokens([10, 3, 7, 1, 10], 10, 12)
    y = torch.randint(1, 12, idx.shape, generator=torch.Generator().manual_seed(5))
    y = y.masked_fill(~keep, IGNORE)                                     # padding is not scored

    def loss_fn(m):
        logits = m(idx).logits                                            # (B, T, C)
        return F.cross_entropy(logits.transpose(1, 2), y, ignore_index=IGNORE), logits

    packed, padded = _grads(model, loss_fn, True), _grads(model, loss_fn, False)
    _assert_same(packed, padded)
    # real positions equal; padding comes back from the packed stack as zeros (nothing reads it)
    assert torch.allclose(packed[1][keep], padded[1][keep], rtol=1e-10, atol=1e-12)
    model.train()
    hidden = model(idx).hidden                                            # (B, T, D)
    assert hidden[~keep].abs().max() == 0 and hidden[keep].abs().min() > 0


def test_seq2seq_encoder_packs_and_the_decoder_sees_the_same_memory():
    cfg = Seq2SeqConfig(src_vocab_size=20, tgt_vocab_size=9, d_model=16, n_heads=4, n_layers=2,
                        n_dec_layers=1, d_ff=32, max_len=12)
    model = _model(cfg, seed=3)
    src, keep = _padded_tokens([12, 4, 9, 2], 12, 20, seed=1)
    g = torch.Generator().manual_seed(2)
    tgt = torch.randint(1, 9, (4, 6), generator=g)
    y = torch.randint(1, 9, (4, 6), generator=g)

    def loss_fn(m):
        logits = m(src, tgt).logits                                       # (B, Tt, V)
        return F.cross_entropy(logits.transpose(1, 2), y), logits

    packed, padded = _grads(model, loss_fn, True), _grads(model, loss_fn, False)
    _assert_same(packed, padded)
    assert torch.allclose(packed[1], padded[1], rtol=1e-10, atol=1e-12)
    memory = model.train()(src, tgt).memory                               # (B, Ts, D), packed
    assert memory[~keep].abs().max() == 0 and memory[keep].abs().min() > 0


def test_a_source_without_any_real_token_keeps_the_gradients_finite():
    cfg = EncoderConfig(vocab_size=8, n_classes=8, d_model=8, n_heads=2, n_layers=2, max_len=6)
    model = _model(cfg)
    idx, keep = _padded_tokens([6, 0, 2], 6, 8)
    y = torch.randint(1, 8, idx.shape, generator=torch.Generator().manual_seed(1))
    y = y.masked_fill(~keep, IGNORE)

    def loss_fn(m):
        logits = m(idx).logits
        return F.cross_entropy(logits.transpose(1, 2), y, ignore_index=IGNORE), logits

    packed, padded = _grads(model, loss_fn, True), _grads(model, loss_fn, False)
    assert all(torch.isfinite(g).all() for g in packed[2].values())
    _assert_same(packed, padded)


def test_only_training_of_padded_unrecorded_encoder_stacks_packs():
    cfg = EncoderConfig(vocab_size=8, n_classes=8, d_model=8, n_heads=2, n_layers=1, max_len=6)
    model = _model(cfg).train()
    stack = model.encoder
    x = torch.randn(2, 6, 8, dtype=torch.float64)
    pad = torch.tensor([[True] * 6, [True] * 3 + [False] * 3])[:, None, None, :]  # (2, 1, 1, 6)

    def ok(mask=pad, **kw):
        args = dict(memory=None, rope=None, caches=None, head_mask=None, records=None, offset=0)
        return can_pack(stack, x, mask, **{**args, **kw})

    assert ok()
    assert not ok(records={}) and not ok(head_mask={"encoder.blocks.0.self_attn": [1, 0]})
    assert not ok(mask=None)                                              # nothing to skip
    assert not can_pack(stack, x.to("meta"), pad.to("meta"), None, None, None, None, None, 0)
    assert not ok(mask=torch.ones(2, 1, 6, 6, dtype=torch.bool))         # causal-shaped
    with torch.no_grad():
        assert not ok()                                                   # evaluation
    model.eval()
    assert not ok()
    # attention asked for while training: the padded layout, with its records
    model.train()
    idx, keep = _padded_tokens([6, 3], 6, 8)
    out = model(idx, return_attention=True)
    assert out.attention and out.hidden[~keep].abs().min() > 0
    assert not can_pack(build_model(cfg.replace(norm="post")).train().encoder, x, pad,
                        None, None, None, None, None, 0)


def test_dropout_trains_through_the_packed_stack():
    cfg = EncoderConfig(vocab_size=8, n_classes=8, d_model=8, n_heads=2, n_layers=2, max_len=6,
                        dropout=0.3)
    model = _model(cfg).train()
    idx, _ = _padded_tokens([6, 2, 4], 6, 8)
    torch.manual_seed(0)
    a = model(idx).logits
    torch.manual_seed(1)
    b = model(idx).logits
    a.sum().backward()
    assert torch.isfinite(a).all() and not torch.allclose(a, b)
