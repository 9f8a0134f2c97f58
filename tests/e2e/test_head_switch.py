"""The switchable map (ui.head_switch) in a real browser, on tests/e2e/apps/head_switch_app.py:
a head button changes the map in the page, with no request before the frame that shows it; the
server's head, the "Head" selectbox and ?head= follow in the background without the chart being
sent again, replaced or redrawn; the selectbox, the arrow keys, a direct link and a layer change
keep all three in agreement. Timings are printed, not asserted (bench/head_switch_speed.py)."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from bench.head_switch_speed import APP, Tab, serve
from tests.e2e.conftest import offline_page

sys.path.insert(0, str(APP.parent))
from head_switch_app import layer  # noqa: E402

BIG_MESSAGE = 100_000          # bytes: the figure is megabytes; a cached reference is tiny


@pytest.fixture(scope="module")
def switch_url():
    with serve() as url:
        yield url


@pytest.fixture
def tab(browser, switch_url, blocked_requests):
    def open_(query: str) -> Tab:
        context, page = offline_page(browser, blocked_requests)
        opened.append(context)
        return Tab(page, f"{switch_url}/?{query}")
    opened: list = []
    yield open_
    for context in opened:
        context.close()
    assert not blocked_requests, blocked_requests


def on_screen(t: Tab) -> dict:
    """The head the map shows, its weights as the page holds them, and the hover template."""
    return t.page.evaluate("""() => {
      const gd = document.querySelector('.st-key-map .js-plotly-plot');
      const H = gd.layout.meta.heads;
      const h = gd.data.findIndex((t, i) => i < H && t.visible === true);
      const rows = Array.from(gd.data[h].z, (r) => Array.from(r, (v) => v === null ||
                                                              Number.isNaN(v) ? null : v));
      return {head: h, visible: gd.data.slice(0, H).filter((t) => t.visible === true).length,
              z: rows, step: gd.data[h].meta.step, hover: gd.data[h].hovertemplate,
              title: gd.layout.title.text}; }""")


def assert_agree(t: Tab, h: int, weights: np.ndarray, mask) -> None:
    """Map, server state, selectbox and URL all on head h; the map holds head h's weights."""
    got = on_screen(t)
    assert got["head"] == h and got["visible"] == 1 and f"head {h}" in got["title"]
    z = np.array([[np.nan if v is None else v for v in row] for row in got["z"]])
    allowed = np.ones(z.shape, bool) if mask is None else mask
    assert np.array_equal(np.isnan(z), ~allowed)                    # masked cells are gaps
    assert np.abs(z - weights[h])[allowed].max() <= got["step"] / 2 + 1e-6  # float32 in page
    decimals = 3 if got["step"] / 2 <= 0.0005 else 2                 # the precision sent
    assert f"weight %{{z:.{decimals}f}}" in got["hover"]
    assert t.url_head() in ((None, 0) if h == 0 else (h,))       # a default is left out
    assert t.server_head() == h
    assert t.page.get_by_role("combobox", name="Head", exact=True).input_value() == str(h)


def hover_text(t: Tab, i: int, j: int, T: int) -> str:
    """The hover label plotly shows over cell (query i, key j) of a T x T map."""
    box = t.page.locator(".st-key-map .nsewdrag").first.bounding_box()
    t.page.mouse.move(box["x"] + (j + 0.5) * box["width"] / T,
                      box["y"] + (i + 0.5) * box["height"] / T)
    label = t.page.locator(".st-key-map .hoverlayer .hovertext")
    label.first.wait_for()
    return label.first.text_content()


def choose(t: Tab, label: str, option: str) -> None:
    """Pick `option` in the st.selectbox labelled `label` (typed, as a user filters a list)."""
    box = t.page.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.fill(option)
    t.page.get_by_role("option", name=option, exact=True).click()


def report(tokens: int, rows: list[dict]) -> None:
    frames = sorted(r["frame_ms"] for r in rows)
    print(f"\n{tokens} tokens: click -> frame {frames} ms (median "
          f"{frames[len(frames) // 2]:.0f}), sync {[round(r['sync_s'], 2) for r in rows]} s, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


@pytest.mark.parametrize("tokens", [256, 512])
def test_a_head_button_switches_in_the_page_and_the_server_follows(tab, tokens):
    w, mask = layer(tokens, 12, 0, causal=True)
    t = tab(f"tokens={tokens}&heads=12&mask=causal")
    assert_agree(t, 0, w, mask)
    rows = []
    for h in (3, 10, 4):
        r = t.click(h)
        rows.append(r)
        assert r["sent_before_frame"] == 0, r        # the switch itself asked nothing
        assert len(r["sent"]) >= 1                   # ...then the head was reported
        assert not r["replaced"] and r["redrawn"] == 0, r          # no redraw by the sync
        assert max(r["received"]) < BIG_MESSAGE, r["received"]    # the figure was not resent
        assert r["min_opacity"] == 1, r              # no stale fade while the server syncs
        assert_agree(t, h, w, mask)
    report(tokens, rows)


def test_selectbox_arrow_keys_link_and_layer_keep_map_widget_and_url_agreed(tab):
    w, mask = layer(48, 12, 0, causal=True)
    t = tab("tokens=48&heads=12&mask=causal&head=5")              # a direct link
    assert_agree(t, 5, w, mask)
    received = len(t.frames)
    choose(t, "Head", "9")                                        # the selectbox
    # the chart may be re-mounted while the page reruns: no chart yet is "not yet", not an error
    t.page.wait_for_function("() => { const gd = document.querySelector("
                             "'.st-key-map .js-plotly-plot'); return !!(gd && gd.data && gd.data[9]"
                             " && gd.data[9].visible === true && gd.data[5].visible === false); }")
    t.ready()
    assert_agree(t, 9, w, mask)
    big = [n for d, _, n in t.frames[received:] if d == "received" and n > BIG_MESSAGE]
    assert not big, big                                           # shown without a new figure
    t.page.locator(".st-key-map").focus()                         # the arrow keys
    t.page.keyboard.press("ArrowRight")
    t.page.wait_for_function("() => new URLSearchParams(location.search).get('head') === '10'")
    t.ready()
    assert_agree(t, 10, w, mask)
    i, j = 40, 17                                                 # hover: the weight itself
    assert f"weight {w[10][i, j]:.3f}" in hover_text(t, i, j, 48)
    assert f"t{i} @{i}" in hover_text(t, i, j, 48)
    choose(t, "Layer", "2")                                       # another layer: new weights
    t.page.wait_for_function("() => !!document.querySelector('.st-key-map .js-plotly-plot')"
                             "?.layout?.title?.text?.includes('layer 2')")
    t.ready()
    w2, _ = layer(48, 12, 2, causal=True)
    assert_agree(t, 10, w2, mask)
    t.page.reload()                                               # the URL reopens the head
    t.ready()
    assert_agree(t, 10, w, mask)                                  # layer is not in the URL
