"""The Explore pages in a real browser: the attention explorer, masked decoding, ViT patches.

Each test opens its page on a checkpoint from the `models` fixture, checks the main chart is drawn,
then does the page's main interaction and waits for Streamlit's run to end before reading the
redrawn chart.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from .conftest import PLOT, App, need
from .explorer_reads import shown

ONE_HEAD = "one_head_map"
# (x, y) pixels, inside the chart, of the centre of patch `n` (a clickable marker, customdata n)
PATCH_CENTRE = """(el, n) => {
    const t = el._fullData.find(t => t.type === "scatter" && t.customdata !== undefined);
    const i = Array.from(t.customdata).indexOf(n);
    const xa = el._fullLayout.xaxis, ya = el._fullLayout.yaxis;
    return [xa._offset + xa.l2p(t.x[i]), ya._offset + ya.l2p(t.y[i])]; }"""


def test_explorer_input_and_head_change_the_heatmap(app: App, models):
    from playwright.sync_api import expect
    name = need(models, "encoder")
    app.open("/explorer", "h1:has-text('Attention explorer')")
    app.pick_model(name)
    heat = app.chart(ONE_HEAD)
    expect(heat).to_have_count(1)
    app.idle()
    before = app.until(lambda: shown(heat), "the one-head map")

    # type an input: the heatmap becomes 6x6 and the prediction is the sorted digits
    box = app.page.get_by_label(re.compile(r"^Input for"))
    app.type_into(box, "9 1 8 2 7 3")
    z = app.until(lambda: (z := shown(heat)) and len(z) == 6 and z, "a 6x6 heatmap")
    assert z != before
    prediction = app.page.get_by_test_id("stMarkdownContainer").locator(
        "p", has_text="Prediction:")
    expect(prediction).to_be_visible()
    if name == "sort":                                  # the shipped model sorts it
        expect(prediction).to_contain_text("1 2 3 7 8 9")
    assert all(abs(sum(row) - 1) < 1e-3 for row in z), z  # each query row is a distribution

    # another head: the same input, other weights, and the title names the head (switched in
    # the browser: the map's own head button, then the server's selectbox and URL follow)
    app.select("Head", "1")
    app.redrawn(app.page.locator(f".st-key-{ONE_HEAD} .gtitle"), "head 1")
    app.until(lambda: (o := shown(heat)) and len(o) == 6 and o != z, "head 1's weights")
    app.page.locator(f".st-key-{ONE_HEAD} .updatemenu-button").nth(0).click()
    app.redrawn(app.page.locator(f".st-key-{ONE_HEAD} .gtitle"), "head 0")
    app.until(lambda: app.combobox("Head").input_value() == "0"            # the default head
              and parse_qs(urlparse(app.page.url).query).get("head") in (None, ["0"]),
              "the Head box and the URL to follow the map's button")
    assert shown(heat) == z

    # bad input: a message under the box, never a traceback
    app.type_into(box, "1 2 x")
    expect(app.page.get_by_text("Cannot use this input")).to_be_visible()
    app.idle()


def test_decoding_steps_forward_and_back(app: App, models):
    from playwright.sync_api import expect
    name = need(models, "decoder")
    app.open("/decoding", "h1:has-text('Masked decoding')")
    app.pick_model(name)
    expect(app.chart("dec_row")).to_have_count(1)
    app.idle()
    step = app.page.get_by_text("Step 1 of")
    expect(step).to_be_visible()
    heads = app.chart("dec_heads")                      # every head's row for the new query
    keys = len(app.drawn_z(heads)[0])                   # the keys it may see

    app.page.locator(".st-key-dec_next").get_by_role("button").click()
    expect(app.page.get_by_text("Step 2 of")).to_be_visible()
    app.idle()
    app.until(lambda: (z := app.z(heads)) and len(z[0]) == keys + 1, "one key more")

    app.page.locator(".st-key-dec_back").get_by_role("button").click()
    expect(app.page.get_by_text("Step 1 of")).to_be_visible()
    app.idle()
    app.until(lambda: (z := app.z(heads)) and len(z[0]) == keys, "one key less")

    # the lecturer's clicker: the right arrow key steps forward too
    app.page.locator("h1").first.click()                 # focus on the page, not a widget
    app.page.keyboard.press("ArrowRight")
    expect(app.page.get_by_text("Step 2 of")).to_be_visible()
    app.idle()


def test_vit_query_patch_moves_the_overlay(app: App, models):
    from playwright.sync_api import expect
    need(models, "vit")
    app.open("/vit", "h1:has-text('ViT patch attention')")
    app.pick_model(models["vit"])
    title = app.page.locator(".gtitle", has_text="query CLS")
    expect(title).to_have_count(1)
    app.idle()
    app.select("Query token (or click a patch)", "patch 5")
    titles = app.page.locator(".gtitle", has_text="query ")
    app.redrawn(titles, "query patch 5")

    # a click on a patch of the overlay makes it the query
    overlay = app.page.locator(PLOT).filter(has=titles)
    x, y = overlay.evaluate(PATCH_CENTRE, 2)
    box = overlay.bounding_box()
    app.page.mouse.click(box["x"] + x, box["y"] + y)
    app.redrawn(titles, "query patch 2")
    expect(app.combobox("Query token (or click a patch)")).to_have_value("patch 2")
    # the link says it too: a reload or a shared URL reopens patch 2
    app.until(lambda: parse_qs(urlparse(app.page.url).query).get("query") == ["patch 2"],
              "query=patch 2 in the URL")
