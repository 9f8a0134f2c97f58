"""The quadratic-cost demo: attention_cost's warm-up and minimum (core/costs.py), the log-log
power-law fit and the figure title that states the measured exponent (viz/mathview.py)."""
import numpy as np
import pytest
import torch

import core.costs as costs
from core.attention import MultiHeadAttention
from viz.mathview import cost_figure, fit_power_law, growth_title


@pytest.fixture
def rng():
    return np.random.default_rng(3)


@pytest.mark.parametrize("p", [1.0, 1.7, 2.0, 2.4])
def test_fit_recovers_a_known_exponent_through_noise(rng, p):
    N = np.array([64, 128, 256, 512, 1024, 2048, 4096], dtype=float)
    y = 3e-9 * N ** p * rng.uniform(0.9, 1.1, N.size)             # ±10 % multiplicative noise
    fit = fit_power_law(N, y)
    assert fit.exponent == pytest.approx(p, abs=0.06)
    assert fit.points == N.size and (fit.n_min, fit.n_max) == (64, 4096)
    # the same least squares by hand: slope of log y on log N
    A = np.stack([np.log(N), np.ones_like(N)], 1)
    slope, icpt = np.linalg.lstsq(A, np.log(y), rcond=None)[0]
    assert fit.exponent == pytest.approx(slope, rel=1e-9)
    assert fit.coefficient == pytest.approx(np.exp(icpt), rel=1e-9)


def test_fit_over_the_longest_lengths_sees_past_a_fixed_overhead():
    N = np.array([16, 32, 64, 128, 256, 512, 1024, 2048], dtype=float)
    y = 2e-5 + 1e-9 * N ** 2                 # 20 µs of overhead hides N² at small N
    assert fit_power_law(N, y).exponent < 1.2                      # all points: flattened
    assert fit_power_law(N, y, last=3).exponent == pytest.approx(2.0, abs=0.15)


def test_fit_skips_bad_points_and_needs_two_lengths():
    N = [8, 16, 32, 64]
    assert fit_power_law(N, [1.0, 4.0, np.nan, 64.0]).exponent == pytest.approx(2.0)
    assert fit_power_law(N, [1.0, 0.0, -1.0, np.inf]) is None     # one usable point
    assert fit_power_law([8, 8], [1.0, 2.0]) is None               # one distinct length


def test_title_states_the_measured_exponent_not_two(rng):
    N = np.array([128, 256, 512, 1024, 2048])
    secs = 5e-10 * N ** 1.6 * rng.uniform(0.97, 1.03, N.size)
    mb = 4 * 4 * N ** 2 / 1e6                                     # computed: exactly N²
    fig = cost_figure(N, secs, mb)
    title = fig.layout.title.text.replace("<br>", " ").replace("\u00a0", " ")
    assert "time grows like N^1.6 here" in title and "memory grows like N^2.0" in title
    assert "N = 256–2,048" in title                               # the 4 longest lengths
    fitted = [t for t in fig.data if t.name.startswith("fit (time)")]
    assert len(fitted) == 1 and "N^1.6" in fitted[0].name
    x, y = np.asarray(fitted[0].x), np.asarray(fitted[0].y)
    slope = np.polyfit(np.log(x), np.log(y), 1)[0]               # a straight line in log-log
    assert slope == pytest.approx(fit_power_law(N, secs, last=4).exponent, rel=1e-9)
    assert "computed (not measured)" in fig.layout.yaxis2.title.text
    fig = cost_figure(N, secs, mb, memory_measured=True)
    assert "measured (CUDA peak)" in fig.layout.yaxis2.title.text
    assert "too few lengths" in growth_title({"time": None})


class _ScriptedClock:
    """perf_counter that only moves when attention runs, by scripted durations."""

    def __init__(self, durations):
        self.now, self.durations = 0.0, list(durations)

    def perf_counter(self):
        return self.now


def test_warm_up_is_untimed_and_the_minimum_is_reported(monkeypatch):
    durations = [9.0, 8.0, 0.5, 0.2, 0.4]           # 2 warm-ups, then 3 timed runs
    clock = _ScriptedClock(durations)
    calls = []

    class Scripted(MultiHeadAttention):
        def forward(self, *a, **kw):
            calls.append(1)
            clock.now += clock.durations.pop(0)
            return super().forward(*a, **kw)

    monkeypatch.setattr(costs, "MultiHeadAttention", Scripted)
    monkeypatch.setattr(costs.time, "perf_counter", clock.perf_counter)
    (row,) = costs.attention_cost([8], d_model=8, n_heads=2, device="cpu", repeats=3,
                                  warmup=2, max_seconds=100.0)
    assert len(calls) == 5 and row["repeats"] == 3
    assert row["seconds"] == pytest.approx(0.2)                    # min of the timed runs
    assert row["median_seconds"] == pytest.approx(0.4)
    assert row["memory_measured"] is False and row["peak_bytes"] is None
    assert row["memory_bytes"] == row["weights_bytes"] == 2 * 8 * 8 * 4
    with pytest.raises(ValueError):
        costs.attention_cost([8], device="cpu", warmup=-1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA to measure memory")
def test_cuda_peak_memory_is_measured_and_covers_the_weights():
    rows = costs.attention_cost([256, 1024], d_model=64, n_heads=4, device="cuda", repeats=3)
    for r in rows:
        assert r["memory_measured"] is True and r["memory_bytes"] == r["peak_bytes"]
        assert r["peak_bytes"] >= r["weights_bytes"] == 4 * r["n"] ** 2 * 4
    # the weights dominate at N = 1024: the peak grows about like N² between the two lengths
    ratio = rows[1]["peak_bytes"] / rows[0]["peak_bytes"]
    assert 8 < ratio < 20
