"""Every Learn page in headless Chromium at 1280×720 with ?presenter=true, as a projector shows
it: every drawn chart is read back (tests/e2e/figure_checks.py) for type sizes, overlapping
labels, cut-off text and square cells, section by section (each tab opened in turn, the cost
measured, a model block traced), and no traceback appears. Screenshots of every section go to
tests/e2e/screenshots/presenter_learn_<page>_<section>.png."""
from __future__ import annotations

import pytest

from .conftest import PLOT, SHOTS, App
from .figure_checks import overlapping, problems, read_figures

PROJECTOR = {"width": 1280, "height": 720}


@pytest.fixture
def projector(app: App) -> App:
    app.page.set_viewport_size(PROJECTOR)
    return app


def drawn(app: App, root: str = "") -> int | None:
    """How many charts are inside `root`, once plotly has drawn every one of them."""
    charts = app.page.locator(f"{root} [data-testid='stPlotlyChart']").count()
    plots = app.page.locator(f"{root} {PLOT} .main-svg").count()
    return charts if charts and plots >= charts else None


def screens(app: App, name: str) -> None:
    """Screenshots of the whole page, one per screenful (Streamlit scrolls an inner element,
    so a full-page screenshot would show the first screen only)."""
    SHOTS.mkdir(exist_ok=True)
    scroller = "[data-testid='stMain']"
    total = app.page.evaluate(f"document.querySelector(\"{scroller}\").scrollHeight")
    step = PROJECTOR["height"] - 200          # overlap: the top bar covers ~80 px
    for i, top in enumerate(range(0, max(int(total), 1), step)):
        app.page.evaluate(f"document.querySelector(\"{scroller}\").scrollTo(0, {top})")
        app.page.wait_for_timeout(150)
        app.page.screenshot(path=SHOTS / f"presenter_learn_{name}_{i}.png")
    app.page.evaluate(f"document.querySelector(\"{scroller}\").scrollTo(0, 0)")


def titled(seen: dict, text: str) -> bool:
    return any(text in t["t"] for t in seen["text"]["title"])


def check(app: App, name: str, root: str | None = None, least: int = 1,
          square: bool | str = True) -> list[dict]:
    """Wait for the charts under `root`, read them, screenshot the page, assert no problem."""
    scope = root or ""
    count = app.until(lambda: (n := drawn(app, scope)) and n >= least and n,
                      f"{least}+ charts drawn in {name}")
    app.page.wait_for_timeout(300)                # plotly's own relayout after the first draw
    seen = read_figures(app.page, root)
    screens(app, name)
    assert len(seen) >= min(count, least)
    if isinstance(square, str):          # only maps with this in the title must be square
        found = (problems([s for s in seen if titled(s, square)], True, True, name) +
                 problems([s for s in seen if not titled(s, square)], True, False, name))
    else:
        found = problems(seen, presenter=True, square=square, name=name)
    for i, s in enumerate(seen):         # subplot titles and notes are text too
        clash = overlapping(s["text"]["title"] + s["text"]["axis"] + s["text"]["note"])
        if clash:
            found.append(f"{name} {i}: {clash[0]!r} overlaps {clash[1]!r}")
    assert found == [], found
    return seen


def test_attention_math_reads_from_the_back_row(projector: App):
    from playwright.sync_api import expect
    app = projector
    app.open("/attention_math?presenter=true", PLOT)
    check(app, "math_example", least=9)
    app.page.get_by_test_id("stCheckbox").filter(has_text="causal mask").click()
    expect(app.page.locator(".gtitle", has_text="causal")).to_have_count(1)
    app.idle()
    check(app, "math_causal", least=10)
    app.select("Longest sequence", "256")
    app.page.get_by_role("button", name="Measure on").click()
    title = app.page.locator(".gtitle", has_text="attention cost")
    expect(title).to_have_count(1)
    app.idle()
    seen = check(app, "math_cost", least=11)
    cost = [s for s in seen if titled(s, "attention cost")]
    assert cost and any("grows like N^" in t["t"] for t in cost[0]["text"]["title"])
    notes = " ".join(t["t"] for t in cost[0]["text"]["axis"])
    assert "computed" in notes or "measured" in notes


def test_positional_reads_from_the_back_row(projector: App):
    app = projector
    app.open("/positional?presenter=true", PLOT)
    tabs = app.page.get_by_role("tab")
    # the encoding table and the order demo are tables of values, not attention maps: their
    # cells need not be square; the similarity maps' must be
    for i, (name, square) in enumerate([("values", False), ("similarity", True),
                                        ("models", "similarity"), ("order", False)]):
        tabs.nth(i).click()
        app.idle()
        check(app, f"positional_{name}", "[role='tabpanel']:not([hidden])", square=square)


def test_transformer_page_reads_from_the_back_row(projector: App):
    app = projector
    app.open("/transformer?presenter=true", PLOT)
    check(app, "transformer", least=3, square=False)


def test_rnn_page_reads_from_the_back_row(projector: App):
    app = projector
    app.open("/rnn?presenter=true", PLOT)
    seen = check(app, "rnn", least=3, square="wrote")
    assert sum(titled(s, "wrote") for s in seen) == 2
    assert any(titled(s, "Exact match of the shipped GRUs") for s in seen)
