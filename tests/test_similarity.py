"""core.similarity against independent references: NumPy loops, the symmetry and the known
values of the encodings, and RoPE's rotation angle from the paper's formula."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core import ViT, ViTConfig
from core.similarity import (cosine_similarity, dot_similarity, permutation_demo,
                             position_similarity, rope_pair_track)


def test_cosine_and_dot_similarity_vs_numpy():
    x = torch.randn(5, 6)
    x[2] = 0.0
    xn = x.numpy().astype(np.float64)
    ref = np.zeros((5, 5))
    for i in range(5):
        for j in range(5):
            ni, nj = np.linalg.norm(xn[i]), np.linalg.norm(xn[j])
            ref[i, j] = 0.0 if ni == 0 or nj == 0 else xn[i] @ xn[j] / (ni * nj)
    c = cosine_similarity(x)
    assert not torch.isnan(c).any()
    assert np.allclose(c.numpy(), ref, atol=1e-6)
    assert np.allclose(dot_similarity(x).numpy(), xn @ xn.T, atol=1e-5)


def test_position_similarity_of_a_vit():
    torch.manual_seed(0)
    cfg = dict(image_size=8, patch_size=2, d_model=16, n_heads=2, n_layers=1)
    sim = position_similarity(ViT(ViTConfig(pos="sincos2d", **cfg)))
    assert sim.shape == (16, 16)
    assert torch.allclose(sim, sim.T) and torch.allclose(sim.diagonal(), torch.ones(16))
    assert torch.equal(position_similarity(ViT(ViTConfig(pos="none", **cfg))), torch.zeros(16, 16))


# ----------------------------------------------------------------------------- demos
@pytest.mark.parametrize("seed", [0, 3])
def test_permutation_demo(seed):
    plain = permutation_demo(6, 8, seed=seed, positional=False)
    assert not torch.equal(plain["perm"], torch.arange(6))
    assert plain["max_diff"] < 1e-5
    assert torch.allclose(plain["out_shuffled"], plain["out"][plain["perm"]], atol=1e-5)
    with_pe = permutation_demo(6, 8, seed=seed, positional=True)
    assert with_pe["max_diff"] > 1e-3
    assert with_pe["max_diff"] == pytest.approx(
        float((with_pe["out"] - with_pe["out_unshuffled"]).abs().max()))
    assert with_pe["weights"].shape == (6, 6) and with_pe["out"].shape == (6, 8)


@pytest.mark.parametrize("pair", [0, 1, 3])
def test_rope_pair_track(pair):
    d, base, P = 8, 10000.0, 16
    vec = torch.randn(d)
    track = rope_pair_track(P, d, pair, vec, base).double()
    assert track.shape == (P, 2)
    norms = track.norm(dim=-1)
    assert torch.allclose(norms, torch.full((P,), float(vec[2 * pair: 2 * pair + 2].norm()),
                                            dtype=torch.float64), atol=1e-5)
    theta = base ** (-2 * pair / d)
    angle = torch.atan2(track[:, 1], track[:, 0])
    step = torch.remainder(angle[1:] - angle[:-1], 2 * math.pi)
    assert torch.allclose(step, torch.full_like(step, theta % (2 * math.pi)), atol=1e-4)
    default = rope_pair_track(P, d, pair)
    assert torch.allclose(default[0], torch.tensor([1.0, 0.0]))
    with pytest.raises(ValueError):
        rope_pair_track(P, d, d // 2)
