"""Unit tests of the attention figure builders (viz/attention.py)."""
import csv
import io
import json

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from viz.attention import (attention_heatmap, head_grid, head_view, stages_figure,
                           weights_to_csv)
from viz.common import PRESENTER_SCALE


def rows(rng, *shape):
    """Random attention weights: last axis sums to 1."""
    w = rng.random(shape)
    return w / w.sum(-1, keepdims=True)


@pytest.fixture
def rng():
    return np.random.default_rng()


def heatmaps(fig):
    return [t for t in fig.data if isinstance(t, go.Heatmap)]


def strict_json(fig):
    """fig.to_json() parsed as standard JSON: NaN / Infinity literals are an error."""
    def reject(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(fig.to_json(), parse_constant=reject)


def digits(n):
    return [str(i % 10) for i in range(n)]


# --- attention_heatmap ---------------------------------------------------------------------

def test_heatmap_one_trace_at_256_tokens_with_thinned_labels(rng):
    w = rows(rng, 256, 256)
    fig = attention_heatmap(w, digits(256), digits(256), max_labels=48)
    assert len(heatmaps(fig)) == 1 and len(fig.data) == 1
    np.testing.assert_array_equal(fig.data[0].z, w)
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        assert 1 <= len(axis.ticktext) <= 48
        assert axis.ticktext[0] == "0" and axis.tickvals[0] == "0 @0"
        assert len(axis.tickvals) == len(axis.ticktext)
    assert fig.layout.yaxis.autorange == "reversed"       # first query on top
    # big maps name every cell by category ("token @pos") instead of per-cell hover strings:
    # repeated tokens stay distinct, and the hover still shows both tokens and positions
    labels = digits(256)
    assert list(fig.data[0].x) == [f"{t} @{j}" for j, t in enumerate(labels)]
    assert len(set(fig.data[0].y)) == 256 and fig.data[0].customdata is None
    assert "%{x}" in fig.data[0].hovertemplate and "%{y}" in fig.data[0].hovertemplate
    strict_json(fig)


def test_heatmap_repeated_tokens_stay_distinct_columns(rng):
    labels = ["1", "1", "1", "2"]
    fig = attention_heatmap(rows(rng, 4, 4), labels, labels)
    np.testing.assert_array_equal(fig.data[0].x, np.arange(4))
    np.testing.assert_array_equal(fig.data[0].y, np.arange(4))
    assert list(fig.layout.xaxis.ticktext) == labels
    assert list(fig.layout.xaxis.tickvals) == [0, 1, 2, 3]


def test_heatmap_hover_names_the_cell_tokens(rng):
    q, k = ["the", "cat", "sat"], ["A", "B", "C", "D"]
    fig = attention_heatmap(rows(rng, 3, 4), q, k)
    cd = fig.data[0].customdata
    assert cd.shape == (3, 4, 2)
    assert tuple(cd[1, 2]) == ("cat", "C")
    assert tuple(cd[2, 0]) == ("sat", "A")
    ht = fig.data[0].hovertemplate
    assert "%{customdata[0]}" in ht and "%{customdata[1]}" in ht
    assert "pos %{y}" in ht and "pos %{x}" in ht and "%{z:.3f}" in ht


def test_heatmap_colour_range_fixed_and_tensor_input(rng):
    w = torch.tensor(rows(rng, 5, 5), dtype=torch.float32, requires_grad=True)
    fig = attention_heatmap(w, digits(5), digits(5), title="L0 H0")
    assert (fig.data[0].zmin, fig.data[0].zmax) == (0.0, 1.0)
    np.testing.assert_allclose(fig.data[0].z, w.detach().numpy(), rtol=1e-6)
    assert fig.layout.title.text == "L0 H0"
    fig = attention_heatmap(w, digits(5), digits(5), zmin=0.0, zmax=0.5, presenter=True)
    assert fig.data[0].zmax == 0.5
    assert fig.layout.font.size > 12
    assert fig.data[0].colorscale == go.Heatmap(colorscale=PRESENTER_SCALE).colorscale


def test_heatmap_mask_cells_are_nan_and_marked(rng):
    T = 6
    mask = np.tril(np.ones((T, T), dtype=bool))
    w = rows(rng, T, T) * mask
    w /= w.sum(-1, keepdims=True)
    fig = attention_heatmap(w, digits(T), digits(T), mask=torch.tensor(mask))
    assert len(heatmaps(fig)) == 1
    z = fig.data[0].z
    assert np.isnan(z[~mask]).all()
    np.testing.assert_array_equal(z[mask], w[mask])
    marks = [t for t in fig.data if isinstance(t, go.Scatter)]
    assert len(marks) == 1 and len(marks[0].x) == int((~mask).sum())
    assert fig.layout.plot_bgcolor not in (None, "white", "#fff", "#ffffff")
    strict_json(fig)


def test_heatmap_rejects_wrong_label_count(rng):
    with pytest.raises(ValueError):
        attention_heatmap(rows(rng, 3, 3), digits(2), digits(3))


# --- head_grid -----------------------------------------------------------------------------

def test_head_grid_one_heatmap_per_head_shared_scale(rng):
    L, H, T = 3, 4, 7
    w = rows(rng, L, H, T, T)
    names = [f"encoder.blocks.{l}.self_attn" for l in range(L)]
    fig = head_grid(w, names, digits(T), digits(T), selected=(1, 2))
    hm = heatmaps(fig)
    assert len(hm) == L * H
    assert all(t.coloraxis == "coloraxis" for t in hm)
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 1.0)
    np.testing.assert_array_equal(hm[1 * H + 2].z, w[1, 2])
    titles = {a.text for a in fig.layout.annotations}
    assert {f"H{h}" for h in range(H)} <= titles            # column headers
    assert set(names) <= titles                              # row labels
    assert all(f"L{l} H{h}: " in hm[l * H + h].hovertemplate for l in range(L) for h in range(H))
    assert fig.layout.xaxis.showticklabels is False
    (shape,) = fig.layout.shapes
    n = 1 * H + 2 + 1
    assert shape.xref == f"x{n} domain" and shape.yref == f"y{n} domain"
    strict_json(fig)


def test_head_grid_without_selection_or_labels(rng):
    fig = head_grid(rows(rng, 1, 2, 3, 3), ["dec"])
    assert len(heatmaps(fig)) == 2 and len(fig.layout.shapes) == 0
    assert fig.layout.annotations[0].text in {"L0 H0", "L0 H1", "dec"}


# --- head_view -----------------------------------------------------------------------------

def segments(trace):
    """(query, key) pairs of a line trace: x is [0, 1, nan] * n, y [q, k, nan] * n."""
    y = np.asarray(trace.y, dtype=float).reshape(-1, 3)
    return {(int(a), int(b)) for a, b in y[:, :2]}


def test_head_view_legend_entries_one_per_head(rng):
    H, T = 4, 5
    fig = head_view(rows(rng, H, T, T), digits(T), digits(T))
    legend = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in legend] == [f"H{h}" for h in range(H)]
    for t in fig.data:
        if t.mode == "lines":
            assert t.legendgroup in {f"H{h}" for h in range(H)}
    strict_json(fig)


def test_head_view_strong_weight_is_more_opaque():
    w = np.zeros((2, 2, 3))
    w[0, 0] = [0.9, 0.1, 0.0]
    w[0, 1] = [0.005, 0.005, 0.99]          # below min_weight: not drawn
    w[1] = 1 / 3
    fig = head_view(w, ["a", "b"], ["x", "y", "z"])
    lines = [t for t in fig.data if t.mode == "lines" and t.showlegend is False]
    by_pair = {p: t for t in lines if t.legendgroup == "H0" for p in segments(t)}
    assert by_pair[(0, 0)].opacity > by_pair[(0, 1)].opacity
    assert (1, 0) not in by_pair and (1, 1) not in by_pair
    assert (1, 2) in by_pair
    assert all(t.line.color == by_pair[(0, 0)].line.color for t in by_pair.values())


def test_head_view_only_selected_heads(rng):
    H, T = 3, 4
    w = rows(rng, H, T, T)
    fig = head_view(w, digits(T), digits(T), heads=[1])
    groups = {t.legendgroup for t in fig.data if t.mode == "lines"}
    assert groups == {"H1"}
    assert [t.name for t in fig.data if t.showlegend is not False] == ["H1"]
    drawn = set().union(*(segments(t) for t in fig.data
                          if t.mode == "lines" and t.showlegend is False))
    assert drawn == {(int(i), int(j)) for i, j in zip(*np.nonzero(w[1] >= 0.02))}
    texts = [t for t in fig.data if t.mode == "text"]
    assert [list(t.text) for t in texts] == [digits(T), digits(T)]


# --- stages_figure -------------------------------------------------------------------------

def make_stages(rng, T=6, d=8):
    from core.attention import attention_stages
    q = torch.tensor(rng.standard_normal((T, d)), dtype=torch.float32)
    k = torch.tensor(rng.standard_normal((T, d)), dtype=torch.float32)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    return attention_stages(q, k, mask), mask.numpy()


def test_stages_four_panels_no_inf_and_softmax_rows_sum_to_one(rng):
    stages, mask = make_stages(rng)
    T = mask.shape[0]
    fig = stages_figure(stages, digits(T), digits(T))
    hm = heatmaps(fig)
    assert len(hm) == 4
    assert [a.text for a in fig.layout.annotations] == ["raw q·kᵀ", "scaled ÷ √d", "masked",
                                                        "softmax"]
    for t in hm:
        assert not np.isinf(np.asarray(t.z, dtype=float)).any()
    np.testing.assert_allclose(hm[0].z, stages["raw"].numpy(), rtol=1e-6)
    assert np.isnan(hm[2].z[~mask]).all() and np.isfinite(hm[2].z[mask]).all()
    soft = hm[3].z
    assert np.isnan(soft[~mask]).all()
    np.testing.assert_allclose(np.nansum(soft, axis=1), 1.0, rtol=1e-5)
    assert (fig.layout.coloraxis4.cmin, fig.layout.coloraxis4.cmax) == (0.0, 1.0)
    raw = fig.layout.coloraxis1
    assert raw.cmin == -raw.cmax and raw.cmax >= np.abs(stages["raw"].numpy()).max() - 1e-6
    strict_json(fig)


def test_stages_explicit_mask_and_numpy_input(rng):
    stages, mask = make_stages(rng, T=4)
    stages = {k: v.numpy() for k, v in stages.items()}
    fig = stages_figure(stages, list("abcd"), list("wxyz"), mask=mask, presenter=True)
    hm = heatmaps(fig)
    assert np.isnan(hm[3].z[~mask]).all()
    assert tuple(hm[0].customdata[2, 1]) == ("c", "x")
    marks = [t for t in fig.data if isinstance(t, go.Scatter)]
    assert len(marks) == 2 and all(len(t.x) == int((~mask).sum()) for t in marks)


# --- weights_to_csv ------------------------------------------------------------------------

def test_csv_round_trips_values_and_labels(rng):
    w = rows(rng, 5, 7)
    text = weights_to_csv(w, list("abcde"), list("ABCDEFG"))
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][1:] == list("ABCDEFG")
    assert [r[0] for r in table[1:]] == list("abcde")
    back = np.array([[float(v) for v in r[1:]] for r in table[1:]])
    np.testing.assert_array_equal(back, w)
    back2 = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1, usecols=range(1, 8))
    np.testing.assert_array_equal(back2, w)


def test_csv_disambiguates_repeated_labels(rng):
    text = weights_to_csv(torch.tensor(rows(rng, 3, 3)), ["1", "1", "2"], ["x", "y", "z"])
    table = list(csv.reader(io.StringIO(text)))
    assert [r[0] for r in table[1:]] == ["1@0", "1@1", "2@2"]
    assert table[0][1:] == ["x", "y", "z"]


def test_stages_inf_in_any_stage_becomes_nan(rng):
    stages, mask = make_stages(rng, T=5)
    masked = stages["masked"]
    fig = stages_figure({"raw": masked, "scaled": masked, "masked": masked,
                         "softmax": stages["softmax"]}, digits(5), digits(5))
    for t in heatmaps(fig):
        z = np.asarray(t.z, dtype=float)
        assert not np.isinf(z).any()
        assert np.isnan(z[~mask]).all()
    assert np.isfinite(fig.layout.coloraxis1.cmax)
    strict_json(fig)


@pytest.mark.parametrize("presenter", [True, False])
def test_axis_titles_fit_beside_the_cells_of_a_small_map(presenter):
    """A 3-token map at half the page: presenting, 'query (row) attends to…' is taller than
    three cells (it was drawn cut off), so the longest name that fits is drawn; a long input
    keeps the full names."""
    from viz.maps import KEY_TITLE, KEY_TITLES, QUERY_TITLE, QUERY_TITLES
    from viz.sizing import text_px
    from viz.theme import sizes
    font = sizes(presenter).axis_title
    small = attention_heatmap(np.full((3, 3), 1 / 3), list("312"), list("312"),
                              presenter=presenter, width=380)
    y, x = small.layout.yaxis.title.text, small.layout.xaxis.title.text
    plot_h = small.layout.height - small.layout.margin.t - small.layout.margin.b
    assert y in QUERY_TITLES and x in KEY_TITLES
    assert text_px(y, font) <= plot_h or y == QUERY_TITLES[-1]
    longer = QUERY_TITLES[:QUERY_TITLES.index(y)]
    assert all(text_px(t, font) > plot_h - 1 for t in longer)     # the longest that fits
    if presenter:
        assert y != QUERY_TITLE
    big = attention_heatmap(np.full((20, 20), 0.05), None, None, presenter=presenter,
                            width=780)
    assert (big.layout.yaxis.title.text, big.layout.xaxis.title.text) == (QUERY_TITLE, KEY_TITLE)
