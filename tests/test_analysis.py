"""core.analysis against independent references: float64 NumPy loops, hand-built attention
patterns whose statistics are known, and a real tiny model. (core.similarity: test_similarity.py,
core.costs: test_costs.py.)"""
from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

from core import Decoder, DecoderConfig, causal_mask, scaled_dot_product_attention
from core.analysis import attention_rollout, head_mask, head_statistics, stack_layers


def random_weights(H, Tq, Tk, mask=None, seed=0):
    """Post-softmax weights (H, Tq, Tk) from random q, k through core's attention."""
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(H, t, 4, generator=g) * 2 for t in (Tq, Tk, Tk))
    return scaled_dot_product_attention(q, k, v, mask)[1]


def stats_by_head(attention, **kw):
    return {(r["module"], r["head"]): r for r in head_statistics(attention, **kw)}


def one_hot(T, cols):
    """(1, T, T) with row i one-hot on cols[i] (None = an all-zero row)."""
    w = torch.zeros(1, T, T)
    for i, j in enumerate(cols):
        if j is not None:
            w[0, i, j] = 1.0
    return w


# ----------------------------------------------------------------------------- entropy
def np_entropy(w):
    """(per-head mean entropy, per-head mean normalised entropy) in float64 NumPy loops."""
    w = np.asarray(w, dtype=np.float64)
    ents, norms = [], []
    for h in range(w.shape[0]):
        e_rows, n_rows = [], []
        for row in w[h]:
            if row.sum() == 0:
                continue
            p = row[row > 0]
            e = float(-(p * np.log(p)).sum())
            e_rows.append(e)
            if len(p) > 1:
                n_rows.append(e / math.log(len(p)))
        ents.append(np.mean(e_rows))
        norms.append(np.mean(n_rows))
    return ents, norms


@pytest.mark.parametrize("causal", [False, True])
def test_entropy_matches_numpy(causal):
    T = 7
    mask = causal_mask(T) if causal else None
    w = random_weights(3, T, T, mask, seed=5)
    ents, norms = np_entropy(w.numpy())
    rows = head_statistics({"encoder.blocks.0.self_attn": w})
    assert [r["head"] for r in rows] == [0, 1, 2]
    for r, e, n in zip(rows, ents, norms):
        assert r["entropy"] == pytest.approx(e, rel=1e-6, abs=1e-9)
        assert r["entropy_norm"] == pytest.approx(n, rel=1e-6, abs=1e-9)
    if causal:  # an explicit mask gives the same allowed-key counts
        with_mask = head_statistics({"m": w}, masks={"m": mask})
        for a, b in zip(rows, with_mask):
            assert a["entropy_norm"] == pytest.approx(b["entropy_norm"], rel=1e-9)


def test_entropy_uniform_and_one_hot():
    Tk = 9
    uniform = torch.full((2, 4, Tk), 1.0 / Tk)
    for r in head_statistics({"u": uniform}):
        assert r["entropy"] == pytest.approx(math.log(Tk), rel=1e-6)
        assert r["entropy_norm"] == pytest.approx(1.0, rel=1e-6)
        assert r["max_weight"] == pytest.approx(1.0 / Tk, rel=1e-6)
    hot = one_hot(5, [3, 0, 4, 1, 2])
    (r,) = head_statistics({"h": hot})
    assert r["entropy"] == 0.0 and r["max_weight"] == 1.0


# ----------------------------------------------------------------------------- patterns
def test_mean_distance_on_hand_built_patterns():
    T = 7
    ident = one_hot(T, range(T))
    prev = one_hot(T, [None] + list(range(T - 1)))      # row 0 all zero (skipped)
    rev = one_hot(T, [T - 1 - i for i in range(T)])
    s = stats_by_head({"id": ident, "prev": prev, "rev": rev})
    assert s[("id", 0)]["mean_distance"] == 0.0
    assert s[("prev", 0)]["mean_distance"] == pytest.approx(1.0, abs=1e-12)
    expected = sum(abs(i - (T - 1 - i)) for i in range(T)) / T     # 24 / 7
    assert s[("rev", 0)]["mean_distance"] == pytest.approx(expected, abs=1e-12)


def test_cached_decoder_rows_sit_at_the_end():
    # 2 queries over 5 keys: query i is position i + 3; each attends to itself.
    w = torch.zeros(1, 2, 5)
    w[0, 0, 3] = w[0, 1, 4] = 1.0
    (r,) = head_statistics({"decoder.blocks.0.self_attn": w})
    assert r["mean_distance"] == 0.0 and r["diagonal"] == 1.0 and r["previous"] == 0.0


@pytest.mark.parametrize("pattern,cols,key", [
    ("first", lambda T: [0] * T, "first_token"),
    ("diag", lambda T: list(range(T)), "diagonal"),
    ("prev", lambda T: [0] + list(range(T - 1)), "previous"),
])
def test_shares_on_one_hot_patterns(pattern, cols, key):
    T = 6
    (r,) = head_statistics({pattern: one_hot(T, cols(T))})
    assert r[key] == 1.0
    expected = {"first_token": sum(c == 0 for c in cols(T)) / T,
                "diagonal": sum(c == i for i, c in enumerate(cols(T))) / T,
                "previous": sum(c == i - 1 for i, c in enumerate(cols(T)) if i >= 1) / (T - 1)}
    for k, v in expected.items():
        assert r[k] == pytest.approx(v, abs=1e-12), k


def test_padding_rows_and_keys_are_skipped():
    real = random_weights(2, 4, 4, seed=3)
    padded = torch.zeros(2, 7, 7)
    padded[:, :4, :4] = real                             # queries/keys 4..6 are padding
    a, b = head_statistics({"p": padded}), head_statistics({"p": real})
    for ra, rb in zip(a, b):
        for k in ("entropy", "entropy_norm", "mean_distance", "max_weight", "first_token",
                  "diagonal", "previous"):
            assert ra[k] == pytest.approx(rb[k], rel=1e-9, abs=1e-12), k


def test_row_metadata_order_and_validation():
    att = {"decoder.blocks.1.cross_attn": random_weights(2, 3, 5, seed=1),
           "encoder.blocks.0.self_attn": random_weights(2, 5, 5, seed=2)[None]}   # batch of 1
    rows = head_statistics(att)
    assert [(r["module"], r["head"]) for r in rows] == [
        ("decoder.blocks.1.cross_attn", 0), ("decoder.blocks.1.cross_attn", 1),
        ("encoder.blocks.0.self_attn", 0), ("encoder.blocks.0.self_attn", 1)]
    assert (rows[0]["layer"], rows[0]["kind"], rows[0]["side"]) == (1, "cross_attn", "decoder")
    assert (rows[2]["layer"], rows[2]["kind"], rows[2]["side"]) == (0, "self_attn", "encoder")
    picked = head_statistics(att, names=["encoder.blocks.0.self_attn"])
    assert {r["module"] for r in picked} == {"encoder.blocks.0.self_attn"}
    with pytest.raises(ValueError):
        head_statistics(att, names=["nope"])
    with pytest.raises(ValueError):
        head_statistics({"x": torch.rand(2, 2, 3, 3)})


# ----------------------------------------------------------------------------- stack_layers
def test_stack_layers_orders_by_layer():
    items = [(f"encoder.blocks.{i}.self_attn", random_weights(2, 4, 4, seed=i)) for i in range(4)]
    items += [(f"decoder.blocks.{i}.cross_attn", random_weights(2, 3, 4, seed=10 + i))
              for i in range(2)]
    random.Random(7).shuffle(items)
    att = dict(items)
    names, grid = stack_layers(att)
    assert names == [f"encoder.blocks.{i}.self_attn" for i in range(4)]
    assert grid.shape == (4, 2, 4, 4)
    for n, g in zip(names, grid):
        assert torch.equal(g, att[n])
    names, grid = stack_layers(att, kind="cross_attn", side="decoder")
    assert names == ["decoder.blocks.0.cross_attn", "decoder.blocks.1.cross_attn"]
    assert grid.shape == (2, 2, 3, 4)
    with pytest.raises(ValueError):
        stack_layers(att, side="decoder")                # no decoder self-attention
    att["encoder.blocks.9.self_attn"] = torch.rand(2, 5, 5)
    with pytest.raises(ValueError):
        stack_layers(att)                                # shapes differ


# ----------------------------------------------------------------------------- head_mask
def test_head_mask_values_and_validation():
    names = ["decoder.blocks.0.self_attn", "decoder.blocks.1.self_attn"]
    m = head_mask(names, 3, [("decoder.blocks.1.self_attn", 2), ("decoder.blocks.1.self_attn", 0)])
    assert list(m) == ["decoder.blocks.1.self_attn"]
    assert m["decoder.blocks.1.self_attn"].tolist() == [0.0, 1.0, 0.0]
    assert head_mask(names, 3, []) == {}
    for bad in ([("nope", 0)], [(names[0], 3)], [(names[0], -1)], [(names[0], True)], [names[0]]):
        with pytest.raises(ValueError):
            head_mask(names, 3, bad)
    with pytest.raises(ValueError):
        head_mask(names, 0, [])


def test_head_mask_changes_logits_only_when_a_head_is_off():
    torch.manual_seed(0)
    model = Decoder(DecoderConfig(d_model=16, n_heads=2, n_layers=2)).eval()
    idx = torch.randint(0, 16, (2, 6))
    base = model(idx).logits
    assert torch.equal(model(idx, head_mask=head_mask(model, 2, [])).logits, base)
    ones = {n: torch.ones(2) for n in model.attention_names()}
    assert torch.allclose(model(idx, head_mask=ones).logits, base, atol=1e-6)
    off = head_mask(model, None, [("decoder.blocks.1.self_attn", 1)])
    assert (model(idx, head_mask=off).logits - base).abs().max() > 1e-4
    with pytest.raises(ValueError):
        head_mask(model, 4, [])                          # disagrees with the model


# ----------------------------------------------------------------------------- rollout
def np_rollout(layers, fuse=np.mean, residual=True, discard=0.0):
    R = None
    for a in layers:
        A = fuse(np.asarray(a, dtype=np.float64), axis=0)
        T = A.shape[0]
        if discard:
            cells = sorted((A[i, j], i, j) for i in range(T) for j in range(T) if i != j)
            for _, i, j in cells[: int(discard * T * (T - 1))]:
                A[i, j] = 0.0
        if residual:
            A = (A + np.eye(T)) / 2
        A = A / A.sum(-1, keepdims=True)
        R = A if R is None else A @ R
    return R


def test_rollout_matches_numpy_reference():
    layers = [random_weights(3, 5, 5, seed=s) for s in (1, 2)]
    R = attention_rollout(layers)
    # hand-written: A_l = (mean_h W + I) / 2 (rows already sum to 1), R = A_2 A_1
    A1, A2 = ((w.double().mean(0) + torch.eye(5, dtype=torch.float64)) / 2 for w in layers)
    assert torch.allclose(R.double(), A2 @ A1, atol=1e-6)
    assert np.allclose(R.numpy(), np_rollout([w.numpy() for w in layers]), atol=1e-6)
    assert torch.allclose(R.sum(-1), torch.ones(5), atol=1e-6)
    assert torch.equal(attention_rollout(layers, discard_ratio=0.0), R)
    d = attention_rollout(layers, discard_ratio=0.5)
    assert np.allclose(d.numpy(), np_rollout([w.numpy() for w in layers], discard=0.5), atol=1e-6)
    assert torch.allclose(d.sum(-1), torch.ones(5), atol=1e-6)


def test_rollout_head_fusion_picks_the_right_heads():
    T = 4
    first = one_hot(T, [0] * T)[0]                       # every query on key 0
    diag = one_hot(T, range(T))[0]
    layer = torch.stack([first, diag])                   # (2, T, T)
    mx = attention_rollout([layer], head_fusion="max", residual=False)
    expected = torch.maximum(first, diag)
    assert torch.allclose(mx, expected / expected.sum(-1, keepdim=True))
    layer = torch.stack([random_weights(1, T, T, seed=4)[0], diag])
    mn = attention_rollout([layer], head_fusion="min", residual=False)
    ref = np_rollout([layer.numpy()], fuse=np.min, residual=False)
    assert np.allclose(mn.numpy(), ref, atol=1e-6)
    for kw in (dict(head_fusion="sum"), dict(discard_ratio=1.0), dict(discard_ratio=-0.1)):
        with pytest.raises(ValueError):
            attention_rollout([layer], **kw)
    with pytest.raises(ValueError):
        attention_rollout([])
    with pytest.raises(ValueError):
        attention_rollout([torch.rand(2, 3, 4)])
