"""The sine pages in headless Chromium at 1280×720 with ?presenter=true (issue 12): on the
masked-decoding page (stepping on with Next) and in the explorer, the forecast chart is drawn at
least 300 px tall, and the browser console carries no "Infinite extent" warning (Vega's, logged
when a chart is given an empty or all-None series; every chart must be plotly with real values).
"""
from __future__ import annotations

import pytest

from .conftest import PLOT, App
from .test_presenter_learn import PROJECTOR

MIN_HEIGHT = 300
PAGES = {"decoding": ("Masked decoding", "dec_forecast"),
         "explorer": ("Prediction", "forecast")}


def sine_shipped() -> bool:
    from core.checkpoints import list_checkpoints
    from .conftest import CHECKPOINTS
    return any(r["name"] == "sine" and r["error"] is None for r in list_checkpoints(CHECKPOINTS))


def forecast_height(app: App, key: str) -> float:
    """The drawn forecast chart's height in CSS pixels (once plotly has drawn it)."""
    plot = app.chart(key)

    def drawn():
        if plot.count() != 1 or not plot.locator(".main-svg").count():
            return None
        return plot.bounding_box()["height"]
    return app.until(drawn, f"the forecast chart {key} to be drawn")


@pytest.mark.parametrize("where", list(PAGES))
def test_the_sine_forecast_is_tall_and_the_console_clean(app: App, where):
    if not sine_shipped():
        pytest.skip("no shipped sine checkpoint")
    ready, key = PAGES[where]
    console: list[str] = []
    app.page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    app.page.set_viewport_size(PROJECTOR)
    app.open(f"/{where}?model=sine&presenter=true", f"text={ready}")
    assert forecast_height(app, key) >= MIN_HEIGHT
    if where == "decoding":                      # each step redraws the chart
        for step in (2, 3):
            app.page.locator(".st-key-dec_next").get_by_role("button", name="Next ▶").click()
            app.until(lambda: app.page.get_by_text(f"forecast after step {step}:").count(),
                      f"step {step}")
            assert forecast_height(app, key) >= MIN_HEIGHT
    assert app.page.locator(PLOT).count() >= 1
    app.page.wait_for_timeout(500)               # late console messages of the last draw
    assert not [m for m in console if "infinite extent" in m.lower()], console
