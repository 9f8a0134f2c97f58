"""Positional encodings against the papers' formulas, computed independently in float64 NumPy."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from conftest import randn
from core import RotaryEmbedding, apply_rope, rope_angles, sincos_2d, sinusoidal_encoding
from core import sinusoidal_wavelengths
from core.positional import PositionalEmbedding


def np_sinusoidal(n, d):
    """Vaswani et al. 2017, written out element by element."""
    pe = np.zeros((n, d))
    for p in range(n):
        for j in range(d):
            i2 = j - j % 2                      # the "2i" of both dimension 2i and 2i+1
            angle = p / 10000 ** (i2 / d)
            pe[p, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
    return pe


@pytest.mark.parametrize("n,d", [(50, 16), (40, 7), (10, 1), (64, 32), (0, 4)])
def test_sinusoidal_encoding_matches_formula(n, d):
    pe = sinusoidal_encoding(n, d)
    assert pe.shape == (n, d) and pe.dtype == torch.float32
    np.testing.assert_allclose(pe.numpy(), np_sinusoidal(n, d), atol=1e-6, rtol=0)


def test_sinusoidal_encoding_rejects_bad_sizes():
    with pytest.raises(ValueError):
        sinusoidal_encoding(-1, 8)
    with pytest.raises(ValueError):
        sinusoidal_encoding(4, 0)


@pytest.mark.parametrize("d", [16, 7, 2, 64])
def test_wavelengths_formula(d):
    lam = sinusoidal_wavelengths(d).double().numpy()
    expected = np.array([2 * math.pi * 10000 ** ((j - j % 2) / d) for j in range(d)])
    assert lam.shape == (d,)
    np.testing.assert_allclose(lam, expected, rtol=1e-6)
    assert lam[0] == pytest.approx(2 * math.pi, rel=1e-7)
    pairs = lam[0::2][: d // 2]
    np.testing.assert_array_equal(lam[1::2], pairs)         # 2i and 2i+1 share a wavelength
    if len(lam[0::2]) > 1:                                    # geometric: constant ratio
        ratios = lam[0::2][1:] / lam[0::2][:-1]
        np.testing.assert_allclose(ratios, 10000 ** (2 / d), rtol=1e-6)


def test_wavelengths_equal_empirical_period_of_each_column():
    """Measure each sin/cos pair's period from the table itself: the angle atan2(sin, cos)
    grows by ω per position, so the period is 2π/ω (sin(p·ω) repeats after 2π/ω positions)."""
    d, n = 16, 4096
    pe = sinusoidal_encoding(n, d).double().numpy()
    lam = sinusoidal_wavelengths(d).double().numpy()
    p = np.arange(n)
    for i in range(d // 2):
        angle = np.unwrap(np.arctan2(pe[:, 2 * i], pe[:, 2 * i + 1]))
        omega = np.polyfit(p, angle, 1)[0]
        period = 2 * math.pi / omega
        assert period == pytest.approx(lam[2 * i], rel=1e-4)
        assert period == pytest.approx(lam[2 * i + 1], rel=1e-4)


# ----------------------------------------------------------------------------- RoPE
def np_rope(x, positions, base=10000.0):
    """Rotate each pair (x[2i], x[2i+1]) at position p by p·base^(-2i/d) with a 2x2 matrix."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    d = x.shape[-1]
    for t, p in enumerate(positions):
        for i in range(d // 2):
            a = p * base ** (-2 * i / d)
            rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
            out[..., t, 2 * i:2 * i + 2] = x[..., t, 2 * i:2 * i + 2] @ rot.T
    return out


def test_rope_angles_formula():
    a = rope_angles(12, 8).double().numpy()
    expected = np.array([[p * 10000 ** (-2 * i / 8) for i in range(4)] for p in range(12)])
    assert a.shape == (12, 4)
    np.testing.assert_allclose(a, expected, rtol=1e-6, atol=1e-7)


def test_apply_rope_matches_rotation_matrices(device):
    x = randn(2, 3, 10, 8, device=device, seed=1)
    out = apply_rope(x, rope_angles(10, 8).to(device))
    np.testing.assert_allclose(out.double().cpu().numpy(), np_rope(x.cpu().numpy(), range(10)),
                               atol=1e-5)


def test_rope_preserves_norms(device):
    x = randn(2, 3, 20, 16, device=device, seed=2)
    out = RotaryEmbedding(16, 32).to(device)(x)
    torch.testing.assert_close(out.norm(dim=-1), x.norm(dim=-1), rtol=1e-5, atol=1e-5)
    assert (out - x)[..., 1:, :].abs().max() > 1e-2          # it did rotate (all but position 0)
    torch.testing.assert_close(out[..., 0, :], x[..., 0, :])  # position 0 is the identity


@pytest.mark.parametrize("m,n,s", [(3, 1, 5), (0, 7, 9), (10, 10, 3), (2, 12, 17)])
def test_rope_dot_product_depends_only_on_relative_position(device, m, n, s):
    d = 16
    rope = RotaryEmbedding(d, 64).to(device)
    q = randn(4, d, device=device, seed=3)
    k = randn(4, d, device=device, seed=4)

    def score(qpos, kpos):
        qr = rope(q[:, None, :], offset=qpos)[:, 0]           # (4, d) rotated to position qpos
        kr = rope(k[:, None, :], offset=kpos)[:, 0]
        return (qr * kr).sum(-1)

    torch.testing.assert_close(score(m, n), score(m + s, n + s), atol=1e-4, rtol=1e-4)
    if m != n:    # but it does depend on the offset between them
        assert (score(m, n) - score(m, m)).abs().max() > 1e-3
    else:
        torch.testing.assert_close(score(m, n), (q * k).sum(-1), atol=1e-4, rtol=1e-4)


def test_rotary_embedding_offset_and_limits(device):
    rope = RotaryEmbedding(8, 10).to(device)
    x = randn(1, 2, 4, 8, device=device, seed=5)
    torch.testing.assert_close(rope(x, offset=3),
                               apply_rope(x, rope_angles(10, 8).to(device)[3:7]))
    with pytest.raises(ValueError):
        rope(x, offset=7)                                    # 7 + 4 > 10
    with pytest.raises(ValueError):
        RotaryEmbedding(7, 10)


# ----------------------------------------------------------------------------- 2-D sin-cos
@pytest.mark.parametrize("gh,gw,d", [(3, 4, 16), (4, 4, 8), (1, 5, 12)])
def test_sincos_2d_halves_are_row_and_column_encodings(gh, gw, d):
    pe = sincos_2d(gh, gw, d).double().numpy()
    assert pe.shape == (gh * gw, d)
    rows, cols = np_sinusoidal(gh, d // 2), np_sinusoidal(gw, d // 2)
    for r in range(gh):
        for c in range(gw):
            np.testing.assert_allclose(pe[r * gw + c, : d // 2], rows[r], atol=1e-6)
            np.testing.assert_allclose(pe[r * gw + c, d // 2:], cols[c], atol=1e-6)


def test_sincos_2d_needs_d_divisible_by_4():
    with pytest.raises(ValueError):
        sincos_2d(2, 2, 6)


# ----------------------------------------------------------------------------- module
def test_positional_embedding_kinds(device):
    sin = PositionalEmbedding("sinusoidal", 12, 8).to(device)
    torch.testing.assert_close(sin(4, offset=3).cpu(), sinusoidal_encoding(12, 8)[3:7])
    learned = PositionalEmbedding("learned", 12, 8).to(device)
    assert learned(5).shape == (5, 8) and learned.weight.requires_grad
    for kind in ("none", "rope"):
        pe = PositionalEmbedding(kind, 12, 8)
        assert pe(5) is None and (pe.table() == 0).all() and pe.table().shape == (12, 8)
    with pytest.raises(ValueError):
        sin(10, offset=3)
    with pytest.raises(ValueError):
        PositionalEmbedding("alibi", 12, 8)
