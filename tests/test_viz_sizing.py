"""Figure sizing (viz/sizing.py) and the theme's numbers (viz/theme.py): square cells, maps
that fill the column, labels that cannot overlap, type sizes, low weights visible on both
backgrounds."""
import numpy as np
import pytest
from plotly.colors import sample_colorscale

from viz import sizing, theme
from viz.attention import attention_heatmap, head_grid
from viz.decoding import causal_mask_figure


def plot_box(fig):
    m = fig.layout.margin
    return fig.layout.width - m.l - m.r, fig.layout.height - m.t - m.b


@pytest.mark.parametrize("presenter", [False, True])
@pytest.mark.parametrize("window", [(1280, 720), (1920, 1080)])
@pytest.mark.parametrize("T", [3, 10, 13, 25, 40, 120, 300])
def test_cells_are_square_and_the_map_uses_the_column(presenter, window, T):
    W = sizing.content_width(window[0], presenter)
    H = sizing.height_limit(window[1], presenter)
    labels = [f"tok{i}" for i in range(T)]
    size = sizing.heatmap_size(T, T, labels, labels, presenter=presenter, width=W, max_height=H)
    m = size.margin
    cw, ch = (size.width - m["l"] - m["r"]) / T, (size.height - m["t"] - m["b"]) / T
    assert cw == pytest.approx(ch, abs=1.0 / T + 1e-9)             # square, to a pixel
    assert cw == pytest.approx(size.cell, abs=1.0 / T + 1e-9)
    if size.cell > 1:
        assert size.width <= W + 1 and size.height <= H + 1        # fits what it was given
    if 10 <= T <= 40:                         # fills most of the column, unless too tall
        assert size.width >= 0.75 * W or size.height >= H - T
    # the shown labels cannot overlap: centre distance >= label extent + gap
    s = theme.sizes(presenter)
    line = sizing.line_px(s.tick)
    assert size.y_step * size.cell >= line + sizing.GAP_PX - 1e-9
    need_x = line if size.x_angle else max(sizing.text_px(t, s.tick) for t in labels)
    assert size.x_step * size.cell >= need_x + sizing.GAP_PX - 1e-9
    assert size.x_step == sizing.label_step(size.cell, need_x)     # and no sparser than that


def test_label_step_is_the_smallest_that_clears():
    for cell in (0.7, 3.0, 4.0, 9.5, 26.0, 80.0):
        for need in (5.0, 26.0, 60.0):
            k = sizing.label_step(cell, need)
            assert k * cell >= need + sizing.GAP_PX
            assert k == 1 or (k - 1) * cell < need + sizing.GAP_PX
    with pytest.raises(ValueError):
        sizing.label_step(0, 10)


def test_content_widths_are_the_measured_ones():
    assert sizing.content_width(1280, presenter=True) == 780
    assert sizing.content_width(1920, presenter=False) == 1460
    assert sizing.content_width(1280, presenter=False) == 820
    assert sizing.content_width(1920, presenter=True) == 1420
    assert sizing.height_limit(720) == 640 and sizing.height_limit(1080) == 1000


def test_sine_mask_of_120_tokens_thins_its_labels_by_pixels():
    labels = [f"{v:.2f}" for v in np.sin(np.arange(120) / 5)]
    fig = causal_mask_figure(labels, 30, presenter=True)
    w, h = plot_box(fig)
    cell = w / 120
    assert cell == pytest.approx(h / 120, rel=0.02)
    s = theme.sizes(True)
    for axis, need in (("xaxis", sizing.line_px(s.tick)), ("yaxis", sizing.line_px(s.tick))):
        vals = np.asarray(getattr(fig.layout, axis).tickvals)
        assert 5 <= vals.size < 40
        assert np.diff(vals).min() * cell >= need                     # vertical x labels
    assert fig.layout.xaxis.tickangle == -90


def test_heatmap_axis_titles_say_which_way_is_query_and_key():
    fig = attention_heatmap(np.eye(4), list("abcd"), list("wxyz"))
    assert "query (row)" in fig.layout.yaxis.title.text
    assert "key (column)" in fig.layout.xaxis.title.text
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1


def _every_font(fig):
    """(what, size) for every text element a reader sees."""
    L = fig.layout
    out = [("title", L.title.font.size), ("hover", L.hoverlabel.font.size),
           ("legend", L.legend.font.size)]
    for ax in [k for k in L if k.startswith(("xaxis", "yaxis"))]:
        out += [("tick", L[ax].tickfont.size), ("axis title", L[ax].title.font.size)]
    for t in fig.data:
        if "colorbar" in t and t.showscale is not False:
            out += [("colorbar", t.colorbar.tickfont.size)]
    for ca in [k for k in L if k.startswith("coloraxis")]:
        out += [("colorbar", L[ca].colorbar.tickfont.size)]
    out += [("annotation", a.font.size) for a in L.annotations]
    return out


@pytest.mark.parametrize("presenter, floor, title_floor", [(True, 18, 22), (False, 12, 12)])
def test_type_sizes_meet_the_floors(presenter, floor, title_floor):
    w = np.random.default_rng(0).random((2, 3, 6, 6))
    for fig in (attention_heatmap(w[0, 0], list("abcdef"), list("abcdef"), title="t",
                                  presenter=presenter),
                head_grid(w, ["L0", "L1"], presenter=presenter),
                causal_mask_figure(list("abcdef"), 2, presenter=presenter)):
        for what, size in _every_font(fig):
            assert size is not None and size >= floor, what
        assert fig.layout.title.font.size >= title_floor


@pytest.mark.parametrize("presenter", [False, True])
def test_lowest_weight_stays_visible_on_its_background(presenter):
    for dark in (False, True):
        scale = theme.weight_scale(presenter, dark)
        low = sample_colorscale(scale, [0.0])[0]
        bg = theme.palette(dark)["bg"]
        assert theme.contrast_ratio(low, bg) >= theme.MIN_CONTRAST
    # the reason for the dark variant: the full scale's lowest colour vanishes on dark
    low = sample_colorscale(theme.weight_scale(presenter, False), [0.0])[0]
    assert theme.contrast_ratio(low, theme.DARK["bg"]) < 2.0
    # the dark variant is the same scale, trimmed: its top colour is the original's
    assert sample_colorscale(theme.weight_scale(presenter, True), [1.0]) == \
        sample_colorscale(theme.weight_scale(presenter, False), [1.0])


def test_diverging_ends_and_line_colours_visible_on_dark():
    bg = theme.DARK["bg"]
    d = theme.diverging_scale(True)
    assert theme.contrast_ratio(d[0][1], bg) >= 3 and theme.contrast_ratio(d[-1][1], bg) >= 3
    assert d[len(d) // 2][1] == sample_colorscale(theme.DIVERGING_SCALE, [0.5])[0]   # 0 centred
    for dark in (False, True):
        for c in theme.line_colours(dark):
            assert theme.contrast_ratio(c, theme.palette(dark)["bg"]) >= 3


def test_contrast_ratio_matches_wcag_reference_values():
    assert theme.contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert theme.contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert theme.contrast_ratio("rgb(255, 255, 255)", "rgba(255,255,255,0.5)") == 1.0
