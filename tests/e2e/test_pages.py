"""The Learn pages in a real browser, and the whole app offline.

Each page loads with no traceback, draws its charts, and its main interaction redraws them. The
offline test visits every page with all non-loopback requests aborted and expects none was made.
"""
from __future__ import annotations

import re
from urllib.parse import urlparse

from .conftest import PLOT, App

# URL path (st.navigation derives it from the file name) -> (sidebar link, page title, whether
# it draws a chart as soon as it opens with a model available).
PAGES = {
    "/": ("Home", "Attention Visualizer", False),
    "/attention_math": ("Attention math", "Attention math", True),
    "/positional": ("Positional encodings", "Positional encodings", True),
    "/transformer": ("Inside a transformer", "Inside a transformer", True),
    "/rnn": ("From RNN to attention", "From RNN to attention", True),
    "/train": ("Train a model", "Train a model", False),
    "/explorer": ("Attention explorer", "Attention explorer", True),
    "/decoding": ("Masked decoding", "Masked decoding", False),   # charts: see its own test
    "/vit": ("ViT patch attention", "ViT patch attention", True),
}


def test_home_links_every_page(app: App):
    from playwright.sync_api import expect
    app.open("/", "h1:has-text('Attention Visualizer')")
    links = app.page.get_by_test_id("stPageLink")
    expect(links.first).to_be_visible()
    wanted = {p.strip("/") for p in PAGES if p != "/"}

    def hrefs() -> set:
        return {a.get_attribute("href").rstrip("/").rsplit("/", 1)[-1]
                for a in links.locator("a").all()}
    # once seen mid-draw with only the first two links: wait for the rest, up to the usual limit
    app.until(lambda: wanted <= hrefs(), f"links to every page ({sorted(wanted)})")
    nav = {a.get_attribute("href").rstrip("/").rsplit("/", 1)[-1]
           for a in app.page.get_by_test_id("stSidebarNav").locator("a").all()}
    assert wanted <= hrefs(), hrefs()
    assert nav >= hrefs()


def test_attention_math_causal_mask_adds_the_masked_scores(app: App):
    from playwright.sync_api import expect
    app.open("/attention_math", PLOT)
    # the title is wrapped to the matrix's width: "causal" and "mask" may sit on two lines
    masked = app.page.locator(".gtitle", has_text=re.compile(r"causal\s*mask"))
    expect(masked).to_have_count(0)

    def drawn() -> int | None:
        """How many charts the page shows, once plotly has drawn every one (it draws them
        after the run ends, and later still on a busy machine)."""
        charts = app.page.get_by_test_id("stPlotlyChart").count()
        return charts if charts and app.plots().count() == charts else None

    before = app.until(drawn, "every chart drawn")
    app.page.get_by_test_id("stCheckbox").filter(has_text="causal mask").click()
    expect(masked).to_have_count(1)
    app.idle()
    app.until(lambda: drawn() == before + 1, f"{before + 1} charts drawn")
    # the weights above the diagonal are now exactly 0
    weights = app.page.locator(PLOT).filter(
        has=app.page.locator(".gtitle", has_text="A = softmax(E)")).first
    z = app.drawn_z(weights)
    assert all(z[i][j] == 0 for i in range(len(z)) for j in range(i + 1, len(z)))


def test_positional_more_positions_redraw_the_heatmap(app: App):
    from playwright.sync_api import expect
    app.open("/positional", PLOT)
    title = app.page.locator(".gtitle", has_text="sinusoidal encoding")
    expect(title).to_contain_text("20 positions × 16 dimensions")
    heat = app.page.locator(PLOT).filter(has=title)
    assert len(app.drawn_z(heat)) == 20
    box = app.page.get_by_role("spinbutton", name="Positions N (20: the lecture's figure)")
    app.type_into(box, "48")
    expect(title.filter(has_text="48 positions × 16 dimensions")).to_have_count(1)
    app.idle()
    expect(title).to_have_count(1)                # the stale 20-position chart is gone
    app.until(lambda: (z := app.z(heat)) and len(z) == 48, "48 rows")
    app.type_into(box, "99999")                   # past the bound: refused, no traceback
    app.idle()
    expect(title).to_contain_text("positions × 16 dimensions")


def test_every_page_renders_offline(app: App, blocked_requests, models):
    """Every request to a host other than 127.0.0.1 is aborted: no page may need one (no CDN
    asset, font or favicon). Each page opens from its sidebar link, at its URL path, and draws."""
    from playwright.sync_api import expect
    app.open("/", "h1:has-text('Attention Visualizer')")
    nav = app.page.get_by_test_id("stSidebarNav")
    for path, (link, title, charts) in PAGES.items():
        nav.locator("a").filter(has_text=link).click()
        expect(app.page.locator("h1", has_text=title)).to_be_visible()
        app.idle()
        # the page's own URL parameters (e.g. the Train page's ?task=) may follow the path
        assert urlparse(app.page.url).path.rstrip("/") == path.rstrip("/"), app.page.url
        if charts:
            expect(app.plots().first).to_be_visible()
    app.page.wait_for_load_state("networkidle")
    assert blocked_requests == [], f"requests left the machine: {sorted(set(blocked_requests))}"
