"""A link straight to a page, as the first request a freshly started server sees.

Streamlit treats an app folder with a `pages/` directory as an old-style multipage app until the
first st.navigation call of the process: a direct link then ran the page script on its own, with
the raw file names (app, explorer, ...) as the sidebar menu and no shared sidebar, for a second
or two. The page scripts live in `views/`, so the first thing drawn is the app's own menu.
"""
from __future__ import annotations

import subprocess

import pytest

from .conftest import APP, REPO, App, free_port, offline_page, server_command, stop, wait_healthy

# Records the text of every sidebar menu entry the page ever shows, from the first paint on.
RECORD_MENU = """
window.__menuSeen = new Set();
new MutationObserver(() => {
  document.querySelectorAll("[data-testid='stSidebarNavLink']").forEach(a => {
    const icon = a.querySelector("[data-testid='stIconMaterial']");
    window.__menuSeen.add(a.innerText.replace(icon ? icon.innerText : "", "").trim());
  });
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


@pytest.fixture
def fresh_url(tmp_path):
    port = free_port()
    with open(tmp_path / "streamlit.log", "wb") as log:
        proc = subprocess.Popen(server_command(port), cwd=REPO, stdout=log,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        stop(proc)


def test_direct_link_on_a_fresh_server_shows_only_the_apps_menu(browser, fresh_url):
    from playwright.sync_api import expect

    from ui.navigation import PAGES, existing
    titles = {title for entries in PAGES.values() for _, title, _, _ in existing(entries)}
    assert not (REPO / "pages").exists(), "a pages/ folder brings back the raw menu"
    assert APP.exists()
    blocked = []
    context, page = offline_page(browser, blocked)
    try:
        page.add_init_script(RECORD_MENU)
        app = App(page, fresh_url)
        app.open("/explorer", "[data-testid='stSidebarNavLink']")
        expect(page.get_by_test_id("stSidebar").get_by_text("Presenter mode")).to_be_visible()
        seen = set(page.evaluate("Array.from(window.__menuSeen)"))
        assert seen, "the menu was never drawn"
        assert seen <= titles, f"menu entries that are not pages of the app: {seen - titles}"
        assert "Attention explorer" in seen
        assert not blocked, f"requests that left 127.0.0.1: {blocked}"
    finally:
        context.close()
