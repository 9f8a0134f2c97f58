"""The real server, as .streamlit/config.toml sets it up, under a browser: pages load with no
connection off this machine (server side: an audit hook that records and blocks; browser side:
every non-loopback request aborted and recorded), and an error in a page shows the user no
detail while the server log keeps the whole traceback. Server-only checks (binding, start-up
traffic, log): tests/test_server_config.py."""
from __future__ import annotations

import shutil
import sys

import pytest

from server_audit import REPO, audited_server, outbound, process_sockets

from .conftest import EXCEPTION, App, offline_page

PAGES = [("/", "Attention Visualizer"), ("/explorer", "Attention explorer"),
         ("/vit", "ViT patch attention"), ("/positional", "Positional encodings"),
         ("/decoding", "Masked decoding"), ("/train", "Train a model")]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with audited_server(REPO, tmp_path_factory.mktemp("srv")) as srv:
        yield srv


def test_pages_load_and_nothing_leaves_the_machine(browser, server):
    from playwright.sync_api import expect
    blocked: list = []
    context, page = offline_page(browser, blocked)
    try:
        app = App(page, server.url)
        for path, title in PAGES:
            app.open(path, f"h1:has-text('{title}')")
        # a head change on the explorer: a rerun with a model run behind it
        app.open("/explorer", "h1:has-text('Attention explorer')")
        box = app.combobox("Head")
        expect(box).to_be_visible()
        box.click()
        page.get_by_role("option").nth(1).click()
        app.idle()
    finally:
        context.close()
    assert blocked == [], blocked                           # the pages asked for nothing outside
    assert outbound(server.events()) == [], outbound(server.events())
    sockets = process_sockets(server.proc.pid)
    assert all(s["local"][0] == "127.0.0.1" for s in sockets), sockets
    assert all(s["remote"][0] in ("0.0.0.0", "127.0.0.1") for s in sockets), sockets
    log = server.log()
    assert "Inotify" not in log and "Uncaught app execution" not in log, log[-3000:]


_FAILING_PAGE = '''
import streamlit as st
st.title("Failing page")
SECRET = "/srv/private/credentials-%d.txt" % 42

def deep_inside():
    return 1 / 0       # ZeroDivisionError with a path in the frame

if st.button("Fail"):
    deep_inside()
'''


def test_an_error_shows_no_details_to_the_user_but_the_log_has_them(browser, tmp_path):
    """The repo's config file beside a page that raises: the browser shows Streamlit's generic
    sentence only; the server log has the type, the traceback and the file."""
    from playwright.sync_api import expect
    (tmp_path / ".streamlit").mkdir()
    shutil.copy(REPO / ".streamlit" / "config.toml", tmp_path / ".streamlit" / "config.toml")
    (tmp_path / "boom.py").write_text(_FAILING_PAGE)
    with audited_server(tmp_path, tmp_path, script="boom.py") as srv:
        context, page = offline_page(browser, [])
        try:
            app = App(page, srv.url)
            app.open("/", "h1:has-text('Failing page')")
            page.get_by_role("button", name="Fail").click()
            box = page.locator(EXCEPTION)
            expect(box).to_have_count(1)
            shown = box.inner_text()
        finally:
            context.close()
        log = srv.log()
    assert "This app has encountered an error" in shown
    for detail in ("ZeroDivisionError", "division by zero", "Traceback", "boom.py",
                   "deep_inside", "/srv/private", str(tmp_path)):
        assert detail not in shown, (detail, shown)
    assert "Uncaught app execution" in log
    for detail in ("ZeroDivisionError: division by zero", "Traceback", "boom.py", "deep_inside"):
        assert detail in log, (detail, log[-3000:])
