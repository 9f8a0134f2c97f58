"""core.costs: the quadratic cost of attention measured live, within a time budget."""
from __future__ import annotations

import time

import pytest

from core.costs import attention_cost


def test_attention_cost_bytes_and_rows():
    rows = attention_cost([8, 16, 32], d_model=16, n_heads=2, device="cpu", repeats=2)
    assert [r["n"] for r in rows] == [8, 16, 32]
    for r in rows:
        assert r["weights_bytes"] == 2 * r["n"] ** 2 * 4          # (1, H, N, N) float32
        assert r["seconds"] > 0 and r["stopped"] is False and r["peak_bytes"] is None
    for bad in ([], [0], [8193], [True], [4.0]):
        with pytest.raises(ValueError):
            attention_cost(bad, device="cpu")


def test_attention_cost_stops_within_budget():
    budget = 0.3
    attention_cost([16], d_model=16, n_heads=2, device="cpu", repeats=1)  # one-off warm-up
    t0 = time.perf_counter()
    rows = attention_cost([16, 64, 256, 1024, 4096, 8192], d_model=16, n_heads=2,
                          device="cpu", repeats=3, max_seconds=budget)
    took = time.perf_counter() - t0
    # which lengths ran is the behaviour under test; the wall-clock bound only catches a run
    # of the seconds-long 4096 / 8192 lengths (a busy machine took 0.82 s for the small ones)
    assert took < budget + 2.0
    assert rows and rows[-1]["stopped"] is True and rows[-1]["reason"]
    assert len(rows) < 6 and all(not r["stopped"] for r in rows[:-1])


def test_attention_cost_does_not_start_a_length_that_would_overrun():
    # N=8192 after N=16 is predicted (time ∝ N²) to blow the budget, so it is never started.
    t0 = time.perf_counter()
    rows = attention_cost([16, 8192], d_model=16, n_heads=2, device="cpu", repeats=1,
                          max_seconds=0.5)
    assert time.perf_counter() - t0 < 1.0
    assert [r["n"] for r in rows] == [16] and rows[0]["stopped"] is True
    assert "8192" in rows[0]["reason"]
