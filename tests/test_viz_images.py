"""Figure builders of the ViT page: viz/images.py."""
import json

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from viz.images import (attention_overlay, class_probs, image_with_grid, overlay_grid,
                        patch_rectangle, position_similarity_grid)


def _strict_json(fig) -> dict:
    """fig.to_json() parsed as strict JSON: Infinity / NaN literals are an error."""
    def refuse(name):
        raise ValueError(f"non-JSON constant {name}")
    return json.loads(fig.to_json(), parse_constant=refuse)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def _heat(fig):
    return [t for t in fig.data if t.name == "attention"]


@pytest.mark.parametrize("H,W,p", [(28, 28, 7), (32, 32, 4), (24, 36, 6)])
def test_grid_lines_at_patch_boundaries(rng, H, W, p):
    fig = image_with_grid(rng.random((H, W)), p)
    gh, gw = H // p, W // p
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == (gh - 1) + (gw - 1)
    vertical = sorted(s.x0 for s in lines if s.x0 == s.x1)
    horizontal = sorted(s.y0 for s in lines if s.y0 == s.y1)
    assert vertical == [k * p - 0.5 for k in range(1, gw)]
    assert horizontal == [k * p - 0.5 for k in range(1, gh)]


def test_image_upright_square_and_patch_numbers_in_hover(rng):
    img = rng.random((12, 8))
    fig = image_with_grid(img, 4)
    (trace,) = fig.data
    assert isinstance(trace, go.Heatmap)
    np.testing.assert_allclose(trace.z, img)
    assert fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.yaxis.scaleanchor == "x"
    # row-major numbering: pixel (row 5, col 6) is in patch row 1, col 1 of a 3x2 grid -> 3
    assert trace.customdata[5, 6] == 3
    assert trace.customdata[11, 7] == 5 and trace.customdata[0, 0] == 0
    assert "customdata" in trace.hovertemplate


def test_colour_image_and_torch_input(rng):
    img = torch.from_numpy(rng.random((3, 16, 16)).astype(np.float32))   # channels first
    fig = image_with_grid(img, 4)
    assert isinstance(fig.data[0], go.Image)
    assert fig.data[0].z.shape == (16, 16, 3)
    _strict_json(fig)


def test_indivisible_image_is_rejected(rng):
    with pytest.raises(ValueError):
        image_with_grid(rng.random((10, 10)), 4)


def test_overlay_upsamples_attention_to_pixels(rng):
    p, gh, gw = 7, 4, 4
    img, att = rng.random((gh * p, gw * p)), rng.random((gh, gw))
    fig = attention_overlay(img, att, p, alpha=0.45)
    (heat,) = _heat(fig)
    assert heat.z.shape == img.shape
    np.testing.assert_allclose(heat.z, np.kron(att, np.ones((p, p))))
    assert heat.opacity == 0.45
    np.testing.assert_allclose(fig.data[0].z, img)          # the image is drawn underneath
    assert fig.data.index(heat) == 1
    assert heat.colorscale[0][1].endswith(",0)")            # transparent low end


def test_overlay_accepts_flat_attention_and_tensors(rng):
    att = rng.random(9)
    fig = attention_overlay(torch.tensor(rng.random((12, 12))), torch.tensor(att), 4)
    np.testing.assert_allclose(_heat(fig)[0].z, np.kron(att.reshape(3, 3), np.ones((4, 4))))
    with pytest.raises(ValueError):
        attention_overlay(rng.random((12, 12)), rng.random(10), 4)     # CLS not dropped


@pytest.mark.parametrize("q,expected", [(0, (-0.5, -0.5, 4.5, 4.5)), (6, (4.5, 4.5, 9.5, 9.5)),
                                        (14, (19.5, 9.5, 24.5, 14.5))])
def test_query_patch_rectangle(rng, q, expected):
    p, gh, gw = 5, 3, 5                                      # 15 x 25 image
    fig = attention_overlay(rng.random((gh * p, gw * p)), rng.random((gh, gw)), p, query_patch=q)
    (rect,) = [s for s in fig.layout.shapes if s.type == "rect"]
    assert (rect.x0, rect.y0, rect.x1, rect.y1) == expected
    assert patch_rectangle(q, gw, p) == expected
    with pytest.raises(ValueError):
        attention_overlay(rng.random((15, 25)), rng.random((3, 5)), 5, query_patch=15)


def test_overlay_without_query_has_no_rectangle(rng):
    fig = attention_overlay(rng.random((8, 8)), rng.random((2, 2)), 4)
    assert not fig.layout.shapes


@pytest.mark.parametrize("n,cols", [(6, 4), (8, 4), (3, 4), (1, 2)])
def test_overlay_grid_has_one_panel_per_map(rng, n, cols):
    p = 4
    img, maps = rng.random((16, 16)), rng.random((n, 4, 4))
    titles = [f"head {h}" for h in range(n)]
    fig = overlay_grid(img, maps, p, titles, cols=cols)
    heats = _heat(fig)
    assert len(heats) == n
    assert [a.text for a in fig.layout.annotations] == titles
    for k, heat in enumerate(heats):
        np.testing.assert_allclose(heat.z, np.kron(maps[k], np.ones((p, p))))
    # every panel has its own axes, each upright with square pixels anchored to its own x axis
    xaxes = {h.xaxis for h in heats}
    assert len(xaxes) == n
    for heat in heats:
        yaxis = fig.layout[heat.yaxis.replace("y", "yaxis")]
        assert yaxis.autorange == "reversed"
        assert yaxis.scaleanchor == heat.xaxis
    _strict_json(fig)


def test_overlay_grid_title_count_must_match(rng):
    with pytest.raises(ValueError):
        overlay_grid(rng.random((8, 8)), rng.random((3, 2, 2)), 4, ["a", "b"])


def test_class_probs_highlights_argmax(rng):
    probs = rng.dirichlet(np.ones(10))
    names = [f"class {i}" for i in range(10)]
    fig = class_probs(torch.tensor(probs), names)
    (bar,) = fig.data
    np.testing.assert_allclose(bar.y, probs)
    colours = list(bar.marker.color)
    best = int(np.argmax(probs))
    assert colours.count(colours[best]) == 1
    assert len(set(colours)) == 2
    assert names[best] in fig.layout.title.text
    assert list(fig.layout.xaxis.ticktext) == names


@pytest.mark.parametrize("g", [2, 4, 7])
def test_position_similarity_grid_panels(rng, g):
    N = g * g
    emb = rng.standard_normal((N, 16))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    sim = emb @ emb.T
    fig = position_similarity_grid(sim, g)
    [heat] = [t for t in fig.data if isinstance(t, go.Heatmap)]        # one mosaic, g² blocks
    z, who = np.asarray(heat.z), np.asarray(heat.customdata)
    assert z.shape == (N, N) and who.shape == (N, N, 4)
    for k in range(N):                  # block (r, c) is patch k = r·g + c against every patch
        r, c = divmod(k, g)
        np.testing.assert_allclose(z[r * g:(r + 1) * g, c * g:(c + 1) * g],
                                   sim[k].reshape(g, g), atol=1e-6)
        # hover names both patches: (r, c) vs (i, j)
        assert tuple(who[r * g + g - 1, c * g]) == (r, c, g - 1, 0)
    assert heat.coloraxis == "coloraxis"
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (-1, 1)
    # the blocks are parted by lines at every g-th cell edge, both ways
    edges = sorted({sh.x0 for sh in fig.layout.shapes if sh.x0 == sh.x1})
    assert edges == [k * g - 0.5 for k in range(1, g)]
    assert len(fig.layout.shapes) == 2 * (g - 1)
    _strict_json(fig)


def test_position_similarity_grid_is_fast_for_vit_b16(rng):
    """ViT-B/16's 14×14 grid: one trace, built in well under a second (g² subplots took 12 s)."""
    import time
    g = 14
    start = time.process_time()
    fig = position_similarity_grid(rng.uniform(-1, 1, (g * g, g * g)), g, width=780)
    assert time.process_time() - start < 2.0
    assert len(fig.data) == 1 and np.asarray(fig.data[0].z).shape == (196, 196)


def test_position_similarity_grid_rejects_cls_row(rng):
    with pytest.raises(ValueError):
        position_similarity_grid(rng.random((17, 17)), 4)


def test_all_image_figures_serialise_in_presenter_mode(rng):
    img, att = rng.random((8, 8)), rng.random((2, 2))
    figs = [image_with_grid(img, 4, presenter=True),
            attention_overlay(img, att, 4, presenter=True, query_patch=3),
            overlay_grid(img, rng.random((2, 2, 2)), 4, ["a", "b"], presenter=True),
            class_probs([0.2, 0.8], ["x", "y"], presenter=True),
            position_similarity_grid(np.eye(4), 2, presenter=True)]
    for fig in figs:
        assert fig.layout.font.size == 20
        _strict_json(fig)
    assert "rgba" in figs[1].data[1].colorscale[-1][1]


def test_position_similarity_grid_square_panels_on_the_patch_grid(rng):
    g = 5
    sim = rng.uniform(-1, 1, (g * g, g * g))
    fig = position_similarity_grid(sim, g, presenter=True, width=390)
    W = fig.layout.width - fig.layout.margin.l - fig.layout.margin.r
    H = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    assert W == pytest.approx(H, abs=3)                                 # a square plot area
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1
    assert fig.layout.width <= 392
    # panel (r, c) is patch (r, c)'s similarity, laid out at row r, column c of the grid
    r, c = 3, 1
    z = np.asarray(fig.data[0].z)
    np.testing.assert_allclose(z[r * g:(r + 1) * g, c * g:(c + 1) * g],
                               sim[r * g + c].reshape(g, g), atol=1e-6)
    # grid rows on the left, columns below, numbered at the panels' centres
    assert fig.layout.xaxis.title.text == "patch column"
    assert fig.layout.yaxis.title.text == "patch row"
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        shown = list(axis.ticktext)
        assert shown[0] == "0" and all(int(t) < g for t in shown)
        assert list(axis.tickvals)[0] == (g - 1) / 2
        assert list(axis.tickvals) == [int(t) * g + (g - 1) / 2 for t in shown]
