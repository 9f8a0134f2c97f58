"""The theme in a real browser (issue 12): a link with ?theme=dark opens dark (page and figures)
in a browser that prefers light, and stays dark on a reload and in another browser given the
same link; the sidebar control and Streamlit's own ⋮-menu switch agree with the URL. What the
figures are drawn with (paper, scales against the dark page): tests/test_app_theme.py.
Screenshots: tests/e2e/screenshots/theme_*.png."""
from __future__ import annotations

import re

from .conftest import PLOT, SHOTS, App, offline_page

DARK_BG, LIGHT_BG = "rgb(15, 17, 22)", "rgb(255, 255, 255)"     # .streamlit/config.toml


def page_bg(app: App) -> str:
    return app.page.evaluate("getComputedStyle(document.querySelector("
                             "'[data-testid=\"stApp\"]')).backgroundColor")


def figure_bg(app: App) -> str | None:
    """The paper colour of the first drawn plotly figure, as plotly laid it out."""
    from playwright.sync_api import Error
    try:
        return app.page.locator(PLOT).first.evaluate(
            "el => el._fullLayout ? el._fullLayout.paper_bgcolor : null")
    except Error:                                # replaced by a rerun while being read
        return None


def shows(app: App, bg: str, paper: str) -> None:
    app.until(lambda: page_bg(app) == bg and app.plots().count() and figure_bg(app) == paper,
              f"page {bg} and figures {paper}")


def control(app: App, label: str):
    return app.page.get_by_test_id("stSidebar").locator(".st-key-theme").get_by_role(
        "radio", name=re.compile(f"^{label}$", re.I))       # the text is lower case


def shot(app: App, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    app.page.screenshot(path=SHOTS / f"theme_{name}.png")


def test_a_dark_link_survives_a_reload_and_another_browser(browser, app_url):
    context, page = offline_page(browser, blocked := [])
    try:
        app = App(page, app_url)
        app.open("/attention_math?theme=dark", PLOT)
        shows(app, DARK_BG, "#0f1116")
        assert "theme=dark" in page.url
        shot(app, "dark_link")
        page.reload()
        shows(app, DARK_BG, "#0f1116")
        assert "theme=dark" in page.url
        control(app, "Light").click()                    # the sidebar control: light again
        shows(app, LIGHT_BG, "#ffffff")
        app.until(lambda: re.search(r"theme=light", page.url), "?theme=light in the URL")
        shot(app, "light_chosen")
    finally:
        context.close()
    other, page2 = offline_page(browser, blocked)         # a second browser, the shared link
    try:
        app2 = App(page2, app_url)
        app2.open("/positional?theme=dark&presenter=true", PLOT)
        shows(app2, DARK_BG, "#0f1116")
        shot(app2, "dark_shared_positional")
    finally:
        other.close()
    assert blocked == []


def test_a_light_link_wins_over_a_dark_browser(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, color_scheme="dark")
    try:
        page = context.new_page()
        app = App(page, app_url)
        app.open("/attention_math", PLOT)
        shows(app, DARK_BG, "#0f1116")                   # no choice: the browser's own theme
        app.open("/attention_math?theme=light", PLOT)
        shows(app, LIGHT_BG, "#ffffff")
    finally:
        context.close()


def test_the_menu_switch_becomes_the_choice(app: App):
    """Dark picked in Streamlit's ⋮ menu: the sidebar control and the URL follow it."""
    app.open("/attention_math", PLOT)
    shows(app, LIGHT_BG, "#ffffff")
    app.page.get_by_test_id("stMainMenu").locator("button").click()
    app.page.get_by_test_id("stMainMenuItem-theme-Dark").click()
    shows(app, DARK_BG, "#0f1116")
    app.until(lambda: "theme=dark" in app.page.url, "?theme=dark in the URL")
