"""The ViT and masked-decoding pages in headless Chromium at 1280×720 with ?presenter=true, as a
projector shows them: each tab opened in turn (the tabs are lazy: only the open one runs), every
chart on the page read back (tests/e2e/figure_checks.py: type sizes, overlapping labels, cut-off text,
square cells) and no traceback on the page. Screenshots of every screenful go to
tests/e2e/screenshots/presenter_learn_<page>_<tab>_<i>.png (the Learn pages' helper names them)."""
from __future__ import annotations

import pytest

from .conftest import PLOT, App, need
from .test_presenter_learn import PROJECTOR, check

PAGES = {
    "vit": ("vit", "ViT patch attention",
            [("One head", 3, True), ("All heads", 3, True), ("Rollout", 4, True),
             ("Soft vs hard", 3, True), ("Positions", 3, True)]),
    # every head's row for the new query is heads × keys, a table of rows (one per head), not a
    # position × position map: only the causal mask and teacher forcing's map need square cells
    "decoding": ("decoder", "Masked decoding", [("Step by step", 3, "causal mask"),
                                                ("Teacher forcing", 1, "teacher forcing")]),
}


@pytest.mark.parametrize("where", list(PAGES))
def test_page_reads_from_the_back_row(app: App, models, where):
    from playwright.sync_api import expect
    kind, heading, tabs = PAGES[where]
    name = need(models, kind)
    app.page.set_viewport_size(PROJECTOR)
    app.open(f"/{where}?presenter=true", f"h1:has-text('{heading}')")
    box = app.page.get_by_test_id("stSidebar").get_by_role("combobox", name="Model")
    if box.input_value() != name:                 # the page opens on the first model of its kind
        app.pick_model(name)
    for label, least, square in tabs:
        tab = app.page.get_by_role("tab", name=label, exact=True)
        tab.click()
        expect(tab).to_have_attribute("aria-selected", "true")
        app.idle()
        # the whole page: the charts above the tabs and the open tab's (only it is drawn)
        seen = check(app, f"{where}_{label.lower().replace(' ', '_')}", least=least,
                     square=square)
        assert seen
        app.no_exception()
    assert app.page.locator(PLOT).count() >= 1
