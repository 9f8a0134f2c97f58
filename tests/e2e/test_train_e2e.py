"""The Train page in a real browser at 1280×720 with ?presenter=true (a projector): start a run,
watch the progress and the loss curve grow, stop it, read back the curves and the "watch
attention form" map (tests/e2e/figure_checks.py: type sizes, overlaps, cut-off text, square
cells), with keys in input order and by value, save the model under a unique name and find it
in the model picker of the explorer. Screenshots: tests/e2e/screenshots/train_presenter_*.png.

The saved checkpoint is deleted in a finally block, so the repository stays clean.
"""
from __future__ import annotations

import re
import uuid

from .conftest import CHECKPOINTS, PLOT, SHOTS, App
from .figure_checks import problems, read_figures

STEP = re.compile(r"step ([\d,]+) / ([\d,]+)")
PROJECTOR = {"width": 1280, "height": 720}


def progress(app: App) -> int | None:
    """The step the progress bar shows, or None while there is no progress bar."""
    bar = app.page.get_by_test_id("stProgress")
    if bar.count() != 1:
        return None
    m = STEP.search(bar.inner_text())
    return int(m.group(1).replace(",", "")) if m else None


def curve_points(app: App) -> int:
    """Points on the loss curve (0 while it is not drawn, or drawn twice during a rerun)."""
    from playwright.sync_api import Error
    plot = app.chart("train_curves")
    if plot.count() != 1:
        return 0
    try:                                   # a rerun may add a second one in between
        return plot.evaluate("el => el._fullData.length ? el._fullData[0].x.length : 0")
    except Error:
        return 0


def figures_ok(app: App, shot: str) -> list[dict]:
    """The curves and the snapshot map as drawn: no problem a back row would have (the map
    with square cells), and a screenshot of the map's screenful."""
    app.until(lambda: app.page.locator(f"{PLOT} .main-svg").count() >= 2, "both charts drawn")
    app.page.wait_for_timeout(300)                # plotly's own relayout after the first draw
    seen = read_figures(app.page)
    maps = [s for s in seen if any("at step" in t["t"] for t in s["text"]["title"])]
    others = [s for s in seen if s not in maps]
    assert len(maps) == 1 and others, [s["text"]["title"] for s in seen]
    assert problems(maps, True, True, shot) + problems(others, True, False, shot) == []
    app.chart("train_watch_map").scroll_into_view_if_needed()
    SHOTS.mkdir(exist_ok=True)
    app.page.screenshot(path=SHOTS / f"train_presenter_{shot}.png")
    return maps


def test_train_stop_save_and_pick(app: App):
    from playwright.sync_api import expect
    name = f"e2e_{uuid.uuid4().hex[:10]}"
    path = CHECKPOINTS / f"{name}.safetensors"
    app.page.set_viewport_size(PROJECTOR)
    try:
        app.open("/train?presenter=true", "h1:has-text('Train a model')")
        expect(app.combobox("Task")).to_have_value(re.compile(r"\(sort\)$"))
        app.page.get_by_test_id("stExpander").filter(has_text="Schedule").locator(
            "summary").click()                    # folded while presenting
        # a long run that cannot end by itself before Stop is pressed
        app.type_into(app.page.get_by_role("spinbutton", name="Steps"), "20000")
        expect(app.page.get_by_role("spinbutton", name="Steps")).to_have_value("20000")
        app.idle()
        target = app.page.get_by_test_id("stCheckbox").filter(has_text="Stop at target")
        if target.locator("input").is_checked():
            target.click()
            expect(target.locator("input")).not_to_be_checked()
            app.idle()

        app.page.get_by_role("button", name="Start training").click()
        first = app.until(lambda: (progress(app) or 0) > 0 and curve_points(app) >= 2
                          and (progress(app), curve_points(app)), "the first progress")
        app.until(lambda: (progress(app) or 0) > first[0] and curve_points(app) > first[1],
                  "the progress to move and the curve to grow")
        app.page.locator(".st-key-train_stop").get_by_role("button", name="Stop").click()
        expect(app.page.get_by_role("heading", name=re.compile(r"^Stopped: sort"))).to_be_visible()
        expect(app.page.get_by_text(re.compile(r"Final metrics on \d+ fresh examples"))) \
            .to_be_visible()
        app.idle()
        assert (progress(app) or 0) < 20000
        app.page.evaluate("document.querySelector(\"[data-testid='stMain']\").scrollTo(0, 0)")
        SHOTS.mkdir(exist_ok=True)
        app.page.screenshot(path=SHOTS / "train_presenter_top.png")    # settings, estimate
        [shown] = figures_ok(app, "input_order")
        assert any("encoder layer" in t["t"] for t in shown["text"]["title"])
        app.page.get_by_test_id("stCheckbox").filter(has_text="Keys in order of value").click()
        expect(app.page.locator(".xtitle", has_text="sorted by value")).to_have_count(1)
        app.idle()
        figures_ok(app, "by_value")

        # save under a unique name, then find it selected in the explorer's model picker
        app.page.get_by_role("textbox", name="Name").fill(name)
        app.page.get_by_role("button", name="Save", exact=True).click()
        expect(app.page.get_by_text(f"Saved as {name}.safetensors")).to_be_visible()
        app.idle()
        assert path.exists()
        app.page.get_by_test_id("stSidebarNav").locator("a").filter(
            has_text="Attention explorer").click()
        picker = app.page.get_by_test_id("stSidebar").get_by_role("combobox", name="Model")
        expect(picker).to_be_visible()          # presenting: the explorer shows no title
        app.idle()
        expect(picker).to_have_value(re.compile(rf"^{name}( · |$)"))
        expect(app.chart("one_head_map")).to_have_count(1)
    finally:
        path.unlink(missing_ok=True)
