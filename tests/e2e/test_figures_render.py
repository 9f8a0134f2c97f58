"""The figure builders rendered by plotly.js in headless Chromium at 1280×720, presenter mode,
in the widths the pages give them: the rendered SVG text is read back to check type sizes, that
no two labels overlap, that nothing is cut off, and that map cells are square.

No app server: each figure is a standalone page with plotly.py's own plotly.js (the page tests
check the same things inside Streamlit).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly
import plotly.io as pio
import pytest

from tests.e2e.figure_checks import problems, read_figures
from viz import sizing
from viz.attention import attention_heatmap
from viz.decoding import causal_mask_figure, forecast_figure
from viz.mathview import cost_figure, matrix_figure
from viz.positional import dimension_curves, similarity_heatmap, wavelength_plot

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
def figures():
    rng = np.random.default_rng(0)
    w = rng.random((13, 13)) ** 4
    w /= w.sum(-1, keepdims=True)
    toks = "The quick brown fox jumps over the lazy dog because it was tired".split()
    sine = [f"{v:.2f}" for v in np.sin(np.arange(120) / 5)]
    E = rng.normal(size=(6, 6))
    t = [f"t{i}" for i in range(6)]
    pe = np.zeros((20, 16))
    inv = 10000.0 ** (-np.arange(0, 16, 2) / 16)
    pe[:, 0::2], pe[:, 1::2] = np.sin(np.arange(20)[:, None] * inv), np.cos(np.arange(20)[:, None] * inv)
    N = np.array([16, 32, 64, 128, 256, 512, 1024.0])
    half = sizing.content_width(1280, True) // 2 - 8
    return {
        "one head, 13 tokens": (attention_heatmap(w, toks, toks, title="Encoder self-attention · "
                                                  "layer 0 · head 0", presenter=True), True),
        "sine mask, 120 tokens": (causal_mask_figure(sine, 30, presenter=True), True),
        "matrix in half a column": (matrix_figure(E, t, t, "E with the causal mask (−∞ above "
                                                  "the diagonal)", presenter=True, width=half),
                                    False),
        "similarity, half column": (similarity_heatmap(pe @ pe.T, presenter=True), True),
        "waves, half column": (dimension_curves(pe, [0, 1, 4, 6], 2 * np.pi / np.repeat(inv, 2),
                                                presenter=True), False),
        "periods, half column": (wavelength_plot(2 * np.pi / np.repeat(inv, 2), presenter=True,
                                                 width=half), False),
        "cost": (cost_figure(N, 1e-5 + 2e-10 * N ** 1.9, 16 * N ** 2 / 1e6, presenter=True),
                 False),
        "forecast": (forecast_figure(np.sin(np.arange(100) / 5), np.sin(np.arange(100, 130) / 5),
                                     presenter=True), False),
    }


@pytest.fixture(scope="module")
def rendered(browser, tmp_path_factory):
    folder = tmp_path_factory.mktemp("figures")
    (folder / "plotly.min.js").write_bytes(PLOTLY_JS.read_bytes())
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    out = {}
    for name, (fig, square) in figures().items():
        html = pio.to_html(fig, include_plotlyjs=False, full_html=True)
        html = html.replace("<head>", "<head><script src='plotly.min.js'></script>", 1)
        width = fig.layout.width or (sizing.content_width(1280, True) // 2 - 8)
        html = html.replace("<body>", f"<body style='margin:0'><div style='width:{width}px'>")
        path = folder / f"{abs(hash(name))}.html"
        path.write_text(html, encoding="utf-8")
        page.goto(path.as_uri())
        page.wait_for_selector(".main-svg .xtick, .main-svg .ytick")
        out[name] = (read_figures(page), square)
    page.close()
    return out


@pytest.mark.parametrize("name", list(figures()))
def test_presenter_figure_reads_from_the_back_row(rendered, name):
    seen, square = rendered[name]
    assert len(seen) == 1, f"{name}: {len(seen)} charts drawn"
    assert problems(seen, presenter=True, square=square, name=name) == []
