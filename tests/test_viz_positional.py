"""Figure builders of the positional-encoding page: viz/positional.py."""
import json
import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from viz.positional import (dimension_curves, encoding_heatmap, order_demo, rope_rotation,
                            similarity_heatmap, similarity_line, wavelength_plot)


def _strict_json(fig) -> dict:
    """fig.to_json() parsed as strict JSON: Infinity / NaN literals are an error."""
    def refuse(name):
        raise ValueError(f"non-JSON constant {name}")
    return json.loads(fig.to_json(), parse_constant=refuse)


@pytest.fixture
def rng():
    return np.random.default_rng(99)


def _sinusoid(N, D):
    pos = np.arange(N)[:, None]
    inv = 10000.0 ** (-np.arange(0, D, 2) / D)
    pe = np.zeros((N, D))
    pe[:, 0::2] = np.sin(pos * inv)
    pe[:, 1::2] = np.cos(pos * inv)
    periods = np.repeat(2 * np.pi / inv, 2)
    return pe, periods


def test_encoding_heatmap_values_and_range(rng):
    pe = rng.uniform(-1, 1, (50, 32))
    fig = encoding_heatmap(pe)
    (hm,) = fig.data
    np.testing.assert_allclose(hm.z, pe)
    assert (hm.zmin, hm.zmax) == (-1, 1)
    assert fig.layout.yaxis.autorange == "reversed"
    assert "50×32" in fig.layout.title.text


def test_encoding_heatmap_learned_values_get_symmetric_range(rng):
    pe = rng.standard_normal((10, 8)) * 3
    hm = encoding_heatmap(torch.tensor(pe)).data[0]
    m = np.abs(pe).max()
    assert hm.zmin == pytest.approx(-m) and hm.zmax == pytest.approx(m)


def test_encoding_heatmap_thins_ticks_for_long_sequences(rng):
    fig = encoding_heatmap(rng.uniform(-1, 1, (512, 64)))
    ticks = list(fig.layout.yaxis.tickvals)
    assert len(ticks) <= 24 and ticks[0] == 0
    _strict_json(fig)


def test_dimension_curves_legend_shows_periods():
    pe, periods = _sinusoid(100, 16)
    fig = dimension_curves(pe, [0, 1, 6], wavelengths=periods)
    assert [t.name for t in fig.data] == ["dim 0 (period 6.3)", "dim 1 (period 6.3)",
                                          f"dim 6 (period {periods[6]:.1f})"]
    np.testing.assert_allclose(fig.data[2].y, pe[:, 6])
    np.testing.assert_array_equal(fig.data[0].x, np.arange(100))


def test_dimension_curves_without_wavelengths_and_bad_dim(rng):
    pe = rng.standard_normal((20, 4))
    assert [t.name for t in dimension_curves(pe, [3]).data] == ["dim 3"]
    with pytest.raises(ValueError):
        dimension_curves(pe, [4])


@pytest.mark.parametrize("D", [4, 16, 64, 512])
def test_wavelength_plot_slowest_line_is_the_last_pair_and_ticks_are_decades(D):
    _, periods = _sinusoid(1, D)
    fig = wavelength_plot(periods)
    assert fig.layout.yaxis.type == "log"
    np.testing.assert_allclose(fig.data[0].y, periods)
    refs = {t.name: t for t in fig.data[1:]}
    assert len(refs) == 2
    (fast,) = [t for n, t in refs.items() if n.startswith("fastest")]
    (slow,) = [t for n, t in refs.items() if n.startswith("slowest")]
    np.testing.assert_allclose(fast.y, 2 * math.pi)
    # the paper's formula for the last pair, 2i = d − 2; not 10000·2π, which no finite d reaches
    np.testing.assert_allclose(slow.y, 2 * math.pi * 10000 ** ((D - 2) / D))
    assert slow.y[0] < 10000 * 2 * math.pi
    assert f"10000^({D - 2}/{D})" in slow.name
    ticks = np.asarray(fig.layout.yaxis.tickvals, dtype=float)
    np.testing.assert_allclose(np.log10(ticks), np.round(np.log10(ticks)))   # decades only
    assert np.all(np.diff(np.log10(ticks)) == pytest.approx(1.0))
    assert ticks.min() <= periods.min() and ticks.max() >= periods.max()
    _strict_json(fig)


def test_similarity_heatmap_and_line(rng):
    pe, _ = _sinusoid(40, 16)
    sim = pe @ pe.T
    fig = similarity_heatmap(sim)
    (hm,) = fig.data
    np.testing.assert_allclose(hm.z, sim)
    assert hm.zmin == pytest.approx(-8) and hm.zmax == pytest.approx(8)   # max |sim| = D/2
    line = similarity_line(sim[7], 7)
    np.testing.assert_allclose(line.data[0].y, sim[7])
    marker = line.data[1]
    assert list(marker.x) == [7] and marker.y[0] == pytest.approx(sim[7, 7])
    with pytest.raises(ValueError):
        similarity_line(sim[0], 40)


def test_rope_rotation_points_segments_and_equal_aspect(rng):
    theta = 0.7
    q = rng.standard_normal(2)
    P = 6
    pts = np.array([[q[0] * np.cos(p * theta) - q[1] * np.sin(p * theta),
                     q[0] * np.sin(p * theta) + q[1] * np.cos(p * theta)] for p in range(P)])
    fig = rope_rotation(pts, range(P))
    (scatter,) = [t for t in fig.data if t.name == "positions"]
    np.testing.assert_allclose(np.c_[scatter.x, scatter.y], pts)
    assert list(scatter.text) == [str(p) for p in range(P)]
    (seg,) = [t for t in fig.data if t.name == "rotation"]
    assert len(seg.x) == 3 * P
    np.testing.assert_allclose(seg.x[0::3], 0) and np.testing.assert_allclose(seg.x[1::3], pts[:, 0])
    (circle,) = [t for t in fig.data if t.name == "|q|"]
    np.testing.assert_allclose(np.hypot(circle.x, circle.y), np.linalg.norm(q))
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    _strict_json(fig)


def test_order_demo_side_by_side(rng):
    a = rng.standard_normal((5, 8))
    fig = order_demo(a, a.copy(), ["the", "cat", "sat", "the", "mat"])
    hms = [t for t in fig.data if isinstance(t, go.Heatmap)]
    assert len(hms) == 2 and hms[0].xaxis == "x" and hms[1].xaxis == "x2"
    np.testing.assert_allclose(hms[0].z, a)
    np.testing.assert_allclose(hms[1].z, a)
    assert [an.text for an in fig.layout.annotations] == ["original order",
                                                          "shuffled, then un-shuffled"]
    assert "0.00e+00" in fig.layout.title.text
    # duplicate tokens keep their own rows (placed by index, labelled by ticktext)
    assert list(fig.layout.yaxis.ticktext) == ["the", "cat", "sat", "the", "mat"]
    b = a.copy()
    b[2, 3] += 0.5
    assert "5.00e-01" in order_demo(a, b, list("abcde")).layout.title.text
    with pytest.raises(ValueError):
        order_demo(a, a[:4], list("abcde"))


def test_positional_figures_serialise_in_presenter_mode(rng):
    pe, periods = _sinusoid(12, 8)
    figs = [encoding_heatmap(pe, presenter=True), dimension_curves(pe, [0], periods, presenter=True),
            wavelength_plot(periods, presenter=True), similarity_heatmap(pe @ pe.T, presenter=True),
            similarity_line(pe[0] @ pe.T, 0, presenter=True),
            rope_rotation(pe[:, :2], range(12), presenter=True),
            order_demo(pe, pe, range(12), presenter=True)]
    for fig in figs:
        assert fig.layout.font.size == 20
        _strict_json(fig)


def test_draws_core_tensors_directly():
    from core.positional import sinusoidal_encoding, sinusoidal_wavelengths
    pe, w = sinusoidal_encoding(64, 16), sinusoidal_wavelengths(16)
    fig = dimension_curves(pe, [0, 15], wavelengths=w)
    assert fig.data[0].name == "dim 0 (period 6.3)"
    assert fig.data[1].name == f"dim 15 (period {float(w[15]):,.0f})"      # 19,869
    np.testing.assert_allclose(encoding_heatmap(pe).data[0].z, pe.numpy())
    np.testing.assert_allclose(wavelength_plot(w).data[0].y, w.numpy())


def _pe64(N, D):
    """Float64 sinusoidal encoding straight from the paper's formula (independent of core)."""
    return _sinusoid(N, D)[0]


@pytest.mark.parametrize("N, D", [(20, 16), (64, 16), (20, 4), (100, 128)])
def test_similarity_caption_claims_hold_numerically(N, D):
    from viz.pe_text import similarity_caption
    pe = _pe64(N, D)
    for sim in (pe @ pe.T, (pe @ pe.T) / np.outer(*(2 * [np.linalg.norm(pe, axis=1)]))):
        # the claim, checked by brute force: S[i, j] depends on |i − j| only ...
        for d in range(N):
            diag = np.concatenate([np.diagonal(sim, d), np.diagonal(sim, -d)])
            assert np.ptp(diag) < 1e-9 * np.abs(sim).max()
        # ... and it rises somewhere as the distance grows (not monotonic)
        prof = sim[0]
        rises = [d for d in range(N - 1) if prof[d + 1] > prof[d] + 1e-9]
        assert rises
        text = similarity_caption(sim)
        assert "depends only on their distance" in text and "not monotonically" in text
        d = rises[0]
        assert f"{d + 1} away ({prof[d + 1]:.2f})" in text and f"{d} away ({prof[d]:.2f})" in text


def test_similarity_caption_monotonic_and_position_dependent_cases(rng):
    from viz.pe_text import similarity_caption
    pe = _pe64(20, 512)              # 20 positions of d = 512: only slow waves, falls steadily
    prof = (pe @ pe.T)[0]
    assert np.all(np.diff(prof) < 0)
    assert "falls steadily" in similarity_caption(pe @ pe.T)
    learned = rng.standard_normal((12, 8))                       # a learned table: no structure
    text = similarity_caption(learned @ learned.T)
    assert "not a function of the distance alone" in text
    with pytest.raises(ValueError):
        similarity_caption(np.zeros((2, 3)))


def test_period_caption_reads_the_actual_range():
    from core.positional import sinusoidal_wavelengths
    from viz.pe_text import period_caption
    text = period_caption(sinusoidal_wavelengths(16))
    assert f"{2 * math.pi * 10000 ** (14 / 16):,.0f} positions" in text       # 19,869
    assert "10000^(14/16)" in text and "2π ≈ 6.3" in text


def test_dimension_curves_legend_below_grows_the_figure_not_the_plot():
    pe, periods = _sinusoid(40, 16)
    one = dimension_curves(pe, [0], periods, presenter=True, width=380)
    eight = dimension_curves(pe, range(8), periods, presenter=True, width=380)
    for fig in (one, eight):
        assert fig.layout.legend.orientation == "h" and fig.layout.legend.yref == "container"
    plot_h = [f.layout.height - f.layout.margin.t - f.layout.margin.b for f in (one, eight)]
    assert plot_h[0] == plot_h[1]                               # the waves keep their height
    assert eight.layout.height > one.layout.height
