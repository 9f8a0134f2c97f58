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

from viz import sizing
from viz.attention import attention_heatmap
from viz.decoding import causal_mask_figure, forecast_figure
from viz.mathview import cost_figure, matrix_figure
from viz.positional import dimension_curves, similarity_heatmap, wavelength_plot

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
READ = """() => {
  const svg = document.querySelector('.main-svg').getBoundingClientRect();
  const sel = {tick: '.xtick text, .ytick text', title: '.gtitle', axis: '.xtitle, .ytitle',
               colorbar: '.cbaxis text', legend: '.legendtext', note: '.annotation-text'};
  const out = {svg: [svg.left, svg.top, svg.right, svg.bottom], text: {}};
  for (const [k, s] of Object.entries(sel)) {
    out.text[k] = [...document.querySelectorAll(s)].filter(e => e.textContent.trim())
      .map(e => { const b = e.getBoundingClientRect();
                  return {t: e.textContent, size: parseFloat(getComputedStyle(e).fontSize),
                          box: [b.left, b.top, b.right, b.bottom]}; })
      .filter(e => e.box[2] > e.box[0]);
  }
  const plot = document.querySelector('.nsewdrag');
  out.plot = plot ? [plot.getAttribute('width'), plot.getAttribute('height')].map(Number) : null;
  return out;
}"""


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


def overlapping(items):
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            A, B = a["box"], b["box"]
            if A[0] < B[2] - 1 and B[0] < A[2] - 1 and A[1] < B[3] - 1 and B[1] < A[3] - 1:
                return a["t"], b["t"]
    return None


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
        out[name] = (page.evaluate(READ), fig, square)
    page.close()
    return out


@pytest.mark.parametrize("name", list(figures()))
def test_presenter_figure_reads_from_the_back_row(rendered, name):
    seen, fig, square = rendered[name]
    text = seen["text"]
    for kind in ("tick", "axis", "colorbar", "legend"):
        sizes = [e["size"] for e in text[kind]]
        assert not sizes or min(sizes) >= 18, f"{name}: {kind} text at {min(sizes)} px"
    assert all(e["size"] >= 22 for e in text["title"]), name
    ticks = text["tick"]
    clash = overlapping(ticks) or overlapping(text["title"] + text["axis"] + ticks)
    assert clash is None, f"{name}: {clash} overlap"
    x0, y0, x1, y1 = seen["svg"]
    for kind, items in text.items():
        for e in items:
            b = e["box"]
            assert b[0] >= x0 - 1 and b[2] <= x1 + 1 and b[1] >= y0 - 1 and b[3] <= y1 + 1, \
                f"{name}: {kind} '{e['t']}' is cut off"
    if square:
        w, h = seen["plot"]
        Tq = len(np.asarray(fig.data[0].z))
        Tk = len(np.asarray(fig.data[0].z)[0])
        assert (w / Tk) == pytest.approx(h / Tq, rel=0.03), f"{name}: cells not square"
