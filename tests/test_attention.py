"""Attention numerics against independent references: float64 NumPy and torch.nn.MultiheadAttention."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from conftest import randn
from core import (KVCache, MultiHeadAttention, RotaryEmbedding, attention_stages, causal_mask,
                  scaled_dot_product_attention)
from core.attention import stages_from_scores


# ----------------------------------------------------------------------------- reference
def np_attention(q, k, v, mask=None):
    """softmax(q kᵀ / √d) v in float64 NumPy; masked cells 0, rows with no allowed key all 0."""
    q, k, v = (np.asarray(t.detach().cpu(), dtype=np.float64) for t in (q, k, v))
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    allowed = np.ones(scores.shape, bool)
    if mask is not None:
        allowed = np.broadcast_to(np.asarray(mask.cpu()), scores.shape)
    w = np.zeros_like(scores)
    for idx in np.ndindex(*scores.shape[:-1]):
        row, ok = scores[idx], allowed[idx]
        if ok.any():
            e = np.exp(row[ok] - row[ok].max())
            w[idx][ok] = e / e.sum()
    return w @ v, w


def rel_err(a, b):
    a = np.asarray(a.detach().cpu(), dtype=np.float64) if torch.is_tensor(a) else a
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


B, H, TQ, TK, D = 2, 3, 5, 7, 8


def _mask(kind, device, g):
    if kind is None:
        return None
    if kind == "random":           # (Tq, Tk), every row keeps at least one key
        m = torch.rand(TQ, TK, generator=g) < 0.5
        m[torch.arange(TQ), torch.randint(0, TK, (TQ,), generator=g)] = True
        return m.to(device)
    if kind == "padding":          # (B, 1, 1, Tk)
        m = torch.ones(B, 1, 1, TK, dtype=torch.bool)
        m[0, ..., -3:] = False
        m[1, ..., :2] = False
        return m.to(device)
    if kind == "causal":
        return causal_mask(TQ, device=device, Tk=TK)
    raise KeyError(kind)


# ----------------------------------------------------------------------------- SDPA
@pytest.mark.parametrize("mask_kind", [None, "random", "padding", "causal"])
def test_sdpa_matches_float64_numpy(device, mask_kind):
    g = torch.Generator().manual_seed(7)
    q, k, v = (randn(B, H, t, D, device=device, seed=s) for s, t in ((1, TQ), (2, TK), (3, TK)))
    mask = _mask(mask_kind, device, g)
    out, w = scaled_dot_product_attention(q, k, v, mask)
    ref_out, ref_w = np_attention(q, k, v, mask)
    assert w.shape == (B, H, TQ, TK) and out.shape == (B, H, TQ, D)
    assert rel_err(w, ref_w) < 1e-5
    assert rel_err(out, ref_out) < 1e-5
    torch.testing.assert_close(w.sum(-1), torch.ones(B, H, TQ, device=device))
    if mask is not None:
        blocked = ~mask.expand(B, H, TQ, TK)
        assert blocked.any()
        assert (w[blocked] == 0).all()          # exactly 0, not merely small


@pytest.mark.parametrize("shape", ["row", "batch"])
def test_sdpa_fully_masked_rows_are_zero_not_nan(device, shape):
    q, k, v = (randn(B, H, t, D, device=device, seed=s) for s, t in ((4, TQ), (5, TK), (6, TK)))
    if shape == "row":                       # (Tq, Tk): query 2 may attend nothing
        mask = torch.ones(TQ, TK, dtype=torch.bool, device=device)
        mask[2] = False
        empty = (slice(None), slice(None), 2)
    else:                                    # (B, 1, 1, Tk): every key of batch 1 is padding
        mask = torch.ones(B, 1, 1, TK, dtype=torch.bool, device=device)
        mask[1] = False
        empty = (1,)
    out, w = scaled_dot_product_attention(q, k, v, mask)
    assert not torch.isnan(w).any() and not torch.isnan(out).any()
    assert (w[empty] == 0).all() and (out[empty] == 0).all()
    ref_out, ref_w = np_attention(q, k, v, mask)
    assert rel_err(w, ref_w) < 1e-5 and rel_err(out, ref_out) < 1e-5


def test_sdpa_mask_false_everywhere_but_one_key_puts_all_weight_there(device):
    q, k, v = (randn(1, 1, 3, 4, device=device, seed=s) for s in (1, 2, 3))
    mask = torch.zeros(3, 3, dtype=torch.bool, device=device)
    mask[:, 1] = True
    out, w = scaled_dot_product_attention(q, k, v, mask)
    expected = torch.zeros(3, 3, device=device)
    expected[:, 1] = 1
    torch.testing.assert_close(w[0, 0], expected)
    torch.testing.assert_close(out[0, 0], v[0, 0, 1].expand(3, 4))


# ----------------------------------------------------------------------------- causal mask
@pytest.mark.parametrize("T,Tk", [(1, None), (5, None), (3, 7), (4, 4)])
def test_causal_mask(device, T, Tk):
    m = causal_mask(T, device=device, Tk=Tk)
    Tk_ = T if Tk is None else Tk
    assert m.dtype == torch.bool and m.shape == (T, Tk_) and m.device.type == device.type
    i, j = np.meshgrid(np.arange(T), np.arange(Tk_), indexing="ij")
    expected = j <= i + (Tk_ - T)          # query i sits at key position i + Tk - T
    assert np.array_equal(m.cpu().numpy(), expected)
    # the shifted mask is the bottom rows of the full one
    assert torch.equal(m, causal_mask(Tk_, device=device)[Tk_ - T:])


def test_causal_mask_square_is_lower_triangle():
    m = causal_mask(4)
    assert m.tolist() == [[True, False, False, False], [True, True, False, False],
                          [True, True, True, False], [True, True, True, True]]


# ----------------------------------------------------------------------------- stages
@pytest.mark.parametrize("mask_kind", [None, "random", "causal"])
def test_attention_stages(device, mask_kind):
    q, k, v = (randn(B, H, t, D, device=device, seed=s) for s, t in ((8, TQ), (9, TK), (10, TK)))
    mask = _mask(mask_kind, device, torch.Generator().manual_seed(3))
    st = attention_stages(q, k, mask)
    qn, kn = q.double().cpu().numpy(), k.double().cpu().numpy()
    raw = qn @ np.swapaxes(kn, -1, -2)
    assert rel_err(st["raw"], raw) < 1e-5
    assert rel_err(st["scaled"], raw / math.sqrt(D)) < 1e-5
    if mask is None:
        assert torch.equal(st["masked"], st["scaled"])
    else:
        blocked = ~mask.expand(B, H, TQ, TK)
        assert torch.isneginf(st["masked"][blocked]).all()
        assert torch.isfinite(st["masked"][~blocked]).all()
        assert torch.equal(st["masked"][~blocked], st["scaled"][~blocked])
    _, w = scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(st["softmax"], w)
    _, ref_w = np_attention(q, k, v, mask)
    assert rel_err(st["softmax"], ref_w) < 1e-5
    # rebuilding the stages from the recorded scaled scores gives the same four tensors
    again = stages_from_scores(st["scaled"], mask, D)
    for name in ("raw", "scaled", "masked", "softmax"):
        torch.testing.assert_close(again[name], st[name], rtol=1e-5, atol=1e-5)


def test_stages_fully_masked_row(device):
    q, k = randn(1, 2, 3, 4, device=device, seed=1), randn(1, 2, 3, 4, device=device, seed=2)
    mask = torch.tensor([[True, True, False], [False, False, False], [True, True, True]],
                        device=device)
    st = attention_stages(q, k, mask)
    assert torch.isneginf(st["masked"][:, :, 1]).all()
    assert (st["softmax"][:, :, 1] == 0).all() and not torch.isnan(st["softmax"]).any()


# ----------------------------------------------------------------------------- MHA vs torch
D_MODEL, N_HEADS = 16, 4


def _pair(device, bias=True, seed=0):
    """Our MultiHeadAttention and torch's, with the same weights."""
    torch.manual_seed(seed)
    ours = MultiHeadAttention(D_MODEL, N_HEADS, bias=bias).to(device).eval()
    ref = torch.nn.MultiheadAttention(D_MODEL, N_HEADS, bias=bias, batch_first=True)
    ref = ref.to(device).eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight,
                                            ours.v_proj.weight]))
        ref.out_proj.weight.copy_(ours.out_proj.weight)
        if bias:
            ref.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias,
                                              ours.v_proj.bias]))
            ref.out_proj.bias.copy_(ours.out_proj.bias)
    return ours, ref


def _torch_ref(ref, x, ctx, attn_mask=None, key_padding_mask=None):
    return ref(x, ctx, ctx, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
               need_weights=True, average_attn_weights=False)


@pytest.mark.parametrize("bias", [True, False])
def test_mha_self_attention_matches_torch(device, bias):
    ours, ref = _pair(device, bias)
    x = randn(2, 6, D_MODEL, device=device, seed=11)
    with torch.no_grad():
        out, w = ours(x, need_weights=True)
        ref_out, ref_w = _torch_ref(ref, x, x)
        fast, none = ours(x)
    assert w.shape == (2, N_HEADS, 6, 6) and none is None
    torch.testing.assert_close(w, ref_w, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast, out, atol=1e-5, rtol=1e-5)


def test_mha_cross_attention_matches_torch(device):
    ours, ref = _pair(device)
    x, ctx = randn(2, 3, D_MODEL, device=device, seed=12), randn(2, 9, D_MODEL, device=device,
                                                                 seed=13)
    with torch.no_grad():
        out, w = ours(x, context=ctx, need_weights=True)
        ref_out, ref_w = _torch_ref(ref, x, ctx)
    assert w.shape == (2, N_HEADS, 3, 9) and out.shape == (2, 3, D_MODEL)
    torch.testing.assert_close(w, ref_w, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-5)


def test_mha_with_mask_matches_torch(device):
    """Our mask is True = may attend; torch's boolean attn_mask is True = NOT allowed."""
    ours, ref = _pair(device)
    x, ctx = randn(2, 5, D_MODEL, device=device, seed=14), randn(2, 7, D_MODEL, device=device,
                                                                 seed=15)
    mask = causal_mask(5, device=device, Tk=7)
    with torch.no_grad():
        out, w = ours(x, context=ctx, mask=mask, need_weights=True)
        ref_out, ref_w = _torch_ref(ref, x, ctx, attn_mask=~mask)
    torch.testing.assert_close(w, ref_w, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-5)
    assert (w[..., ~mask] == 0).all()


def test_mha_key_padding_matches_torch(device):
    ours, ref = _pair(device)
    x = randn(2, 6, D_MODEL, device=device, seed=16)
    keep = torch.ones(2, 6, dtype=torch.bool, device=device)
    keep[0, -2:] = False
    with torch.no_grad():
        out, w = ours(x, mask=keep[:, None, None, :], need_weights=True)
        ref_out, ref_w = _torch_ref(ref, x, x, key_padding_mask=~keep)
    torch.testing.assert_close(w, ref_w, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-5)
    assert (w[0, :, :, -2:] == 0).all()


@pytest.mark.parametrize("mask_kind", [None, "causal", "padding", "empty-row", "empty-batch"])
def test_mha_fast_path_equals_weights_path(device, mask_kind):
    ours, _ = _pair(device, seed=3)
    x, ctx = randn(B, TQ, D_MODEL, device=device, seed=17), randn(B, TK, D_MODEL, device=device,
                                                                  seed=18)
    mask = None
    if mask_kind in ("causal", "padding"):
        mask = _mask(mask_kind, device, None)
    elif mask_kind == "empty-row":
        mask = causal_mask(TQ, device=device, Tk=TK).clone()
        mask[1] = False
    elif mask_kind == "empty-batch":
        mask = torch.ones(B, 1, 1, TK, dtype=torch.bool, device=device)
        mask[0] = False
    with torch.no_grad():
        slow, w = ours(x, context=ctx, mask=mask, need_weights=True)
        fast, none = ours(x, context=ctx, mask=mask, need_weights=False)
    assert none is None
    assert not torch.isnan(fast).any() and not torch.isnan(slow).any()
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)
    if mask_kind == "empty-row":
        # nothing to attend to: the head outputs are 0, so the block returns out_proj's bias
        assert (w[:, :, 1] == 0).all()
        torch.testing.assert_close(fast[:, 1], ours.out_proj.bias.expand(B, D_MODEL))
    if mask_kind == "empty-batch":
        assert (w[0] == 0).all()
        torch.testing.assert_close(fast[0], ours.out_proj.bias.expand(TQ, D_MODEL))


def test_mha_record_receives_weights_scores_mask(device):
    ours, _ = _pair(device, seed=4)
    x = randn(2, 5, D_MODEL, device=device, seed=19)
    mask = causal_mask(5, device=device)
    rec = {}
    with torch.no_grad():
        out, w = ours(x, mask=mask, record=rec)
        full, w_full = ours(x, mask=mask, need_weights=True)
    assert w is None                            # record alone does not change the return value
    assert set(rec) == {"weights", "scores", "mask", "concat"}
    torch.testing.assert_close(rec["weights"], w_full)
    # concat is the heads' outputs side by side: head h's slice is its weights times its values
    with torch.no_grad():
        v = ours.v_proj(x).view(2, 5, N_HEADS, -1).transpose(1, 2)      # (B, H, T, d)
        heads = (w_full @ v).transpose(1, 2).reshape(2, 5, D_MODEL)      # (B, T, D)
        torch.testing.assert_close(rec["concat"], heads)
        torch.testing.assert_close(ours.out_proj(rec["concat"]), out)
    torch.testing.assert_close(out, full)
    assert torch.equal(rec["mask"], mask)
    # scores are q kᵀ/√d per head, before masking, computed here from the projections
    with torch.no_grad():
        q = ours.q_proj(x).view(2, 5, N_HEADS, -1).transpose(1, 2).double()
        k = ours.k_proj(x).view(2, 5, N_HEADS, -1).transpose(1, 2).double()
        expected = q @ k.transpose(-1, -2) / math.sqrt(D_MODEL // N_HEADS)
    assert torch.isfinite(rec["scores"]).all()
    torch.testing.assert_close(rec["scores"].double(), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("head", [0, 2])
def test_head_mask_switches_a_head_off(device, need_weights, head):
    ours, _ = _pair(device, seed=5)
    x = randn(2, 5, D_MODEL, device=device, seed=20)
    mask = causal_mask(5, device=device)
    hm = torch.ones(N_HEADS, device=device)
    hm[head] = 0
    ablated = copy.deepcopy(ours)
    d = D_MODEL // N_HEADS
    with torch.no_grad():
        ablated.v_proj.weight[head * d:(head + 1) * d] = 0
        ablated.v_proj.bias[head * d:(head + 1) * d] = 0
        out, _ = ours(x, mask=mask, need_weights=need_weights, head_mask=hm)
        expected, _ = ablated(x, mask=mask, need_weights=need_weights)
        plain, _ = ours(x, mask=mask, need_weights=need_weights)
        ones, _ = ours(x, mask=mask, need_weights=need_weights,
                       head_mask=torch.ones(N_HEADS, device=device))
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=1e-5)
    assert (out - plain).abs().max() > 1e-3       # the head did contribute before
    torch.testing.assert_close(ones, plain)


def test_head_mask_on_cpu_or_as_a_list_and_wrong_length(device):
    ours, _ = _pair(device, seed=5)
    x = randn(1, 3, D_MODEL, device=device, seed=22)
    with torch.no_grad():
        on_device, _ = ours(x, head_mask=torch.tensor([1.0, 0.0, 1.0, 1.0], device=device))
        on_cpu, _ = ours(x, head_mask=torch.tensor([1.0, 0.0, 1.0, 1.0]))
        as_list, _ = ours(x, head_mask=[1.0, 0.0, 1.0, 1.0])
    torch.testing.assert_close(on_cpu, on_device)
    torch.testing.assert_close(as_list, on_device)
    with pytest.raises(ValueError, match="one value per head"):
        ours(x, head_mask=torch.zeros(1, device=device))     # would silently switch all off


def test_weights_are_pre_dropout(device):
    """In training mode dropout hits the output, never the returned weights."""
    torch.manual_seed(0)
    mha = MultiHeadAttention(D_MODEL, N_HEADS, dropout=0.5).to(device)
    x = randn(2, 6, D_MODEL, device=device, seed=23)
    mask = causal_mask(6, device=device)
    with torch.no_grad():
        mha.eval()
        out_eval, w_eval = mha(x, mask=mask, need_weights=True)
        mha.train()
        out_train, w_train = mha(x, mask=mask, need_weights=True)
    torch.testing.assert_close(w_train, w_eval)
    torch.testing.assert_close(w_train.sum(-1), torch.ones(2, N_HEADS, 6, device=device))
    assert (out_train - out_eval).abs().max() > 1e-3


def test_mha_rejects_indivisible_heads():
    with pytest.raises(ValueError):
        MultiHeadAttention(10, 3)


# ----------------------------------------------------------------------------- KV cache
@pytest.mark.parametrize("use_rope", [False, True])
def test_kv_cache_step_by_step_equals_full_causal(device, use_rope):
    ours, _ = _pair(device, seed=6)
    rope = RotaryEmbedding(D_MODEL // N_HEADS, 16).to(device) if use_rope else None
    T = 6
    x = randn(2, T, D_MODEL, device=device, seed=21)
    with torch.no_grad():
        full, w_full = ours(x, mask=causal_mask(T, device=device), need_weights=True, rope=rope)
        cache = KVCache()
        # a 2-token prompt, then one token at a time
        first, _ = ours(x[:, :2], mask=causal_mask(2, device=device), rope=rope, cache=cache)
        outs = [first]
        for t in range(2, T):
            o, w = ours(x[:, t:t + 1], mask=causal_mask(1, device=device, Tk=t + 1),
                        need_weights=True, rope=rope, offset=t, cache=cache)
            assert w.shape == (2, N_HEADS, 1, t + 1)
            torch.testing.assert_close(w[:, :, 0], w_full[:, :, t, :t + 1], atol=1e-6, rtol=1e-5)
            outs.append(o)
    assert len(cache) == T
    torch.testing.assert_close(torch.cat(outs, 1), full, atol=1e-5, rtol=1e-5)
