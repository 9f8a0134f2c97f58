"""A link straight to a page, as the first request a freshly started server sees, for every page.

Streamlit treats an app folder with a `pages/` directory as an old-style multipage app until the
first st.navigation call of the process: a direct link would run the page script on its own, with
the raw file names (app, explorer, ...) as the sidebar menu and no shared sidebar; page scripts in
subfolders instead bring a "Page not found" dialog. ui/navigation.py explains the guard that
prevents both; this test fails on either, from the first paint on.
"""
from __future__ import annotations

import subprocess

import pytest

from ui.navigation import PAGES, existing

from .conftest import REPO, App, free_port, offline_page, server_command, stop, wait_healthy

# Records, from the first paint on, the text of every sidebar menu entry and of every dialog.
RECORD = """
window.__menuSeen = new Set();
window.__dialogs = new Set();
new MutationObserver(() => {
  document.querySelectorAll("[data-testid='stSidebarNavLink']").forEach(a => {
    const icon = a.querySelector("[data-testid='stIconMaterial']");
    window.__menuSeen.add(a.innerText.replace(icon ? icon.innerText : "", "").trim());
  });
  document.querySelectorAll("[role='dialog'], [data-testid='stDialog']").forEach(d => {
    window.__dialogs.add(d.innerText.trim().slice(0, 200));
  });
}).observe(document, {subtree: true, childList: true, characterData: true});
"""
ENTRIES = [e for entries in PAGES.values() for e in existing(entries)]
TITLES = {title for _, title, _, _ in ENTRIES}
# A fresh server per page costs 10-30 s here, so the browser opens the root and one page of each
# section; every page's guard also runs in tests/test_app_shell.py (AppTest restarts in the
# legacy pages/ mode on every run, and a page without the guard would lack the shared sidebar).
FRESH = ("home.py", "attention_math.py", "train.py", "explorer.py")


def url_path(file: str) -> str:
    """The page's URL path as st.navigation derives it from the file name ('/' for home)."""
    return "/" if file == "home.py" else "/" + file.removesuffix(".py")


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


def test_the_page_scripts_live_in_a_top_level_pages_folder():
    assert ENTRIES and all((REPO / "pages" / file).is_file() for file, *_ in ENTRIES)
    assert not list((REPO / "pages").glob("*/*.py")), "page scripts in subfolders of pages/"


@pytest.mark.parametrize("file, title", [(e[0], e[1]) for e in ENTRIES if e[0] in FRESH],
                         ids=[e[0].removesuffix(".py") for e in ENTRIES if e[0] in FRESH])
def test_a_direct_link_as_a_fresh_servers_first_request(browser, fresh_url, file, title):
    from playwright.sync_api import expect
    blocked = []
    context, page = offline_page(browser, blocked)
    try:
        page.add_init_script(RECORD)
        app = App(page, fresh_url)
        app.open(url_path(file), "[data-testid='stSidebarNavLink']")
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("Presenter mode")).to_be_visible()    # app.py's sidebar
        active = sidebar.locator("[data-testid='stSidebarNavLink'][aria-current='page']")
        expect(active).to_contain_text(title)
        expect(page.locator("h1").first).to_be_visible()
        seen = set(page.evaluate("Array.from(window.__menuSeen)"))
        dialogs = set(page.evaluate("Array.from(window.__dialogs)"))
        assert title in seen, seen
        assert seen <= TITLES, f"menu entries that are not pages of the app: {seen - TITLES}"
        assert not dialogs, f"a dialog was shown: {dialogs}"
        assert not blocked, f"requests that left 127.0.0.1: {blocked}"
    finally:
        context.close()
