"""Unit tests of the causal-decoding figures (viz/decoding.py)."""
import json

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from viz.decoding import (HIGHLIGHT, attention_row, causal_mask_figure, heads_row, topk_bars)


@pytest.fixture
def rng():
    return np.random.default_rng()


def rows(rng, *shape):
    w = rng.random(shape)
    return w / w.sum(-1, keepdims=True)


def test_causal_mask_blocks_exactly_above_diagonal():
    labels = ["<s>", "1", "1", "+", "2"]
    T = len(labels)
    fig = causal_mask_figure(labels, step=3)
    (hm,) = fig.data
    assert isinstance(hm, go.Heatmap)
    z = np.asarray(hm.z)
    assert z.shape == (T, T)
    blocked = z == 0
    np.testing.assert_array_equal(blocked, np.triu(np.ones((T, T), dtype=bool), k=1))
    assert (z[~blocked] == 1).all()
    text = np.asarray(hm.text)
    assert (text[blocked] == "×").all() and (text[~blocked] == "").all()
    assert tuple(hm.customdata[1, 4]) == ("1", "2", "blocked (future)")
    assert list(fig.layout.xaxis.ticktext) == labels          # repeated "1" kept as 2 columns
    assert fig.layout.yaxis.autorange == "reversed"
    (rect,) = fig.layout.shapes
    assert rect.type == "rect" and rect.y0 < 3 < rect.y1 and rect.y1 - rect.y0 == 1
    assert rect.x0 < 0 and rect.x1 > T - 1
    json.loads(fig.to_json())


def test_causal_mask_rejects_step_out_of_range():
    with pytest.raises(ValueError):
        causal_mask_figure(list("abc"), step=3)


def test_attention_row_bars_over_positions(rng):
    w = rows(rng, 6)
    labels = ["7", "7", "+", "1", "=", "8"]
    fig = attention_row(torch.tensor(w), labels, title="query 5", presenter=True)
    (bar,) = fig.data
    assert isinstance(bar, go.Bar)
    np.testing.assert_array_equal(bar.x, np.arange(6))
    np.testing.assert_allclose(bar.y, w, rtol=1e-6)
    assert list(fig.layout.xaxis.ticktext) == labels
    assert tuple(fig.layout.yaxis.range) == (0, 1)
    assert bar.customdata[1] == "7" and fig.layout.title.text == "query 5"
    json.loads(fig.to_json())


def test_heads_row_one_heatmap_with_head_rows(rng):
    w = rows(rng, 4, 7)
    fig = heads_row(w, list("abcdefg"))
    (hm,) = fig.data
    np.testing.assert_array_equal(hm.z, w)
    assert list(fig.layout.yaxis.ticktext) == ["H0", "H1", "H2", "H3"]
    assert (hm.zmin, hm.zmax) == (0.0, 1.0)
    assert tuple(hm.customdata[2, 5]) == ("H2", "f")
    json.loads(fig.to_json())


def test_topk_picks_most_likely_in_order_and_highlights_chosen(rng):
    V = 20
    p = rows(rng, V)
    vocab = [f"t{i}" for i in range(V)]
    order = np.argsort(-p)
    chosen = int(order[2])
    fig = topk_bars(p, vocab, k=5, chosen=chosen)
    (bar,) = fig.data
    np.testing.assert_array_equal(bar.customdata, order[:5])
    np.testing.assert_array_equal(bar.x, p[order[:5]])
    assert list(bar.text) == [f"{v:.3f}" for v in p[order[:5]]]
    names = [vocab[i] for i in order[:5]]
    assert [t.replace("<b>", "").replace("</b>", "").replace(" (chosen)", "")
            for t in fig.layout.yaxis.ticktext] == names
    assert fig.layout.yaxis.autorange == "reversed"          # most likely on top
    colours = list(bar.marker.color)
    assert colours[2] == HIGHLIGHT
    assert all(c != HIGHLIGHT for i, c in enumerate(colours) if i != 2)
    json.loads(fig.to_json())


def test_topk_chosen_outside_top_k_is_appended(rng):
    p = np.array([0.5, 0.3, 0.15, 0.05])
    fig = topk_bars(torch.tensor(p), list("abcd"), k=2, chosen=3)
    (bar,) = fig.data
    np.testing.assert_array_equal(bar.customdata, [0, 1, 3])
    assert list(bar.marker.color)[-1] == HIGHLIGHT
    fig = topk_bars(p, list("abcd"), k=10)
    assert len(fig.data[0].x) == 4 and HIGHLIGHT not in list(fig.data[0].marker.color)
