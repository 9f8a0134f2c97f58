"""The Train page in a real browser: start a run, watch the progress and the loss curve grow, stop
it, save the model under a unique name and find it in the model picker of the explorer.

The saved checkpoint is deleted in a finally block, so the repository stays clean.
"""
from __future__ import annotations

import re
import uuid

from .conftest import CHECKPOINTS, App

STEP = re.compile(r"step ([\d,]+) / ([\d,]+)")


def progress(app: App) -> int | None:
    """The step the progress bar shows, or None while there is no progress bar."""
    bar = app.page.get_by_test_id("stProgress")
    if bar.count() != 1:
        return None
    m = STEP.search(bar.inner_text())
    return int(m.group(1).replace(",", "")) if m else None


def curve_points(app: App) -> int:
    """Points on the loss curve (0 while it is not drawn, or drawn twice during a rerun)."""
    plot = app.chart("train_curves")
    if plot.count() != 1:
        return 0
    return plot.evaluate("el => el._fullData.length ? el._fullData[0].x.length : 0")


def test_train_stop_save_and_pick(app: App):
    from playwright.sync_api import expect
    name = f"e2e_{uuid.uuid4().hex[:10]}"
    path = CHECKPOINTS / f"{name}.safetensors"
    try:
        app.open("/train", "h1:has-text('Train a model')")
        expect(app.combobox("Task")).to_have_value(re.compile(r"\(sort\)$"))
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

        # save under a unique name, then find it selected in the explorer's model picker
        app.page.get_by_role("textbox", name="Name").fill(name)
        app.page.get_by_role("button", name="Save", exact=True).click()
        expect(app.page.get_by_text(f"Saved as {name}.safetensors")).to_be_visible()
        app.idle()
        assert path.exists()
        app.page.get_by_test_id("stSidebarNav").locator("a").filter(
            has_text="Attention explorer").click()
        expect(app.page.locator("h1", has_text="Attention explorer")).to_be_visible()
        app.idle()
        picker = app.page.get_by_test_id("stSidebar").get_by_role("combobox", name="Model")
        expect(picker).to_have_value(re.compile(rf"^{name}( · |$)"))
        expect(app.chart("one_head_map")).to_have_count(1)
    finally:
        path.unlink(missing_ok=True)
