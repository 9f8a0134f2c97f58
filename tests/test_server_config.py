"""The server's defaults (.streamlit/config.toml): every setting, then the real server started
from the repo root with no command-line override but its port, checked from the outside:
it listens on 127.0.0.1 only, attempts no connection off this machine, and logs no inotify
flood and no address lookup. (Page loads in a browser: tests/e2e/test_server_offline.py.)"""
from __future__ import annotations

import base64
import os
import socket
import sys
import tomllib
import urllib.request

import pytest

from core.images import MAX_BYTES as IMAGE_BYTES
from server_audit import REPO, audited_server, outbound, process_sockets

CONFIG = REPO / ".streamlit" / "config.toml"
LINUX = sys.platform.startswith("linux")


@pytest.fixture(scope="module")
def config() -> dict:
    with open(CONFIG, "rb") as f:
        return tomllib.load(f)


def test_every_setting_is_a_real_streamlit_option(config):
    """A misspelt key would be ignored by Streamlit without a word: check each against 1.67."""
    from streamlit import config as st_config
    st_config.get_config_options()                      # builds the option table
    known = set(st_config._config_options_template)
    flat = {f"{section}.{key}" for section, table in config.items() if section != "theme"
            for key in table}
    assert flat <= known, sorted(flat - known)


def test_server_settings(config):
    server = config["server"]
    assert server["address"] == "127.0.0.1"
    assert server["headless"] is True and server["showEmailPrompt"] is False
    assert server["fileWatcherType"] == "none" and server["runOnSave"] is False
    assert server["enableStaticServing"] is False and server["enableAgentApi"] is False
    assert server["enableCORS"] is True and server["enableXsrfProtection"] is True
    # the upload cap fits the ViT page's limit and stays a few MB (Streamlit counts MiB)
    assert IMAGE_BYTES <= server["maxUploadSize"] * 2 ** 20 <= 8 * 2 ** 20
    assert server["maxUploadSize"] < server["maxMessageSize"] <= 64


def test_browser_and_client_settings(config):
    assert config["browser"]["gatherUsageStats"] is False
    assert config["browser"]["serverAddress"] == "localhost"   # no address lookups at start
    client = config["client"]
    assert client["showErrorDetails"] == "none" and client["showErrorLinks"] is False
    assert config["logger"]["enableRich"] is False     # plain tracebacks in the server log
    assert client["toolbarMode"] == "viewer" and client["showSidebarNavigation"] is False
    assert config["theme"]["font"] == "sans-serif"             # bundled: nothing fetched


def test_none_hides_every_error_detail_in_streamlit_1_67():
    """What "none" means in this Streamlit: no message, no trace, no type in the browser."""
    from streamlit import config as st_config
    from streamlit.elements.exception import _error_detail_visibility
    st_config.set_option("client.showErrorDetails", "none")
    try:
        shown = _error_detail_visibility(True)
    finally:
        st_config.set_option("client.showErrorDetails", "full")
    assert not (shown.show_message or shown.show_trace or shown.show_type)


# ----------------------------------------------------------------------------- real server
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not LINUX:
        pytest.skip("sockets are read from /proc (Linux only)")
    with audited_server(REPO, tmp_path_factory.mktemp("srv")) as srv:
        for path in ("/", "/_stcore/health", "/_stcore/host-config", "/explorer"):
            with urllib.request.urlopen(srv.url + path, timeout=20) as r:
                assert r.status == 200
        srv.start_events = srv.events()
        yield srv


def test_listens_on_loopback_only(server):
    sockets = process_sockets(server.proc.pid)
    listening = [s["local"] for s in sockets if s["state"] == "LISTEN"]
    port = int(server.url.rsplit(":", 1)[1])
    assert listening == [("127.0.0.1", port)], sockets
    assert all(s["remote"][0] in ("0.0.0.0", "::", "127.0.0.1") for s in sockets), sockets


def test_no_connection_off_this_machine_at_start(server):
    events = server.start_events
    binds = [e for e in events if e[1] == "socket.bind" and e[0] == server.proc.pid]
    assert any(args[0][0] == "127.0.0.1" for _, _, args in binds), events   # the hook works
    assert outbound(events) == []


def test_log_has_no_inotify_flood_and_no_address_lookup(server):
    log = server.log()
    assert "Inotify" not in log and "inotify" not in log
    for lookup in ("External URL", "Network URL", "checkip", "Did not auto detect external IP",
                   "Collecting usage statistics"):
        assert lookup not in log, log
    assert "URL: http://localhost:" in log


def test_outbound_filter_sees_what_streamlit_would_do():
    """The filter itself: Streamlit's external-IP lookup and its internal-IP trick (a UDP
    connect to 8.8.8.8) are caught; loopback and Unix sockets are not."""
    events = [(1, "socket.getaddrinfo", ("checkip.amazonaws.com", 80, 0, 1, 0, 0)),
              (1, "socket.connect", (("8.8.8.8", 1),)),
              (1, "urllib.Request", ("https://data.streamlit.io/metrics.json", None, {}, "GET")),
              (1, "socket.connect", (("127.0.0.1", 8501),)),
              (1, "socket.connect", (("::1", 8501, 0, 0),)),
              (1, "socket.connect", ("/run/x.sock",)),
              (1, "socket.getaddrinfo", ("localhost", 8501, 0, 1, 0, 0))]
    assert [e[2] for e in outbound(events)] == [e[2] for e in events[:3]]


def _websocket_handshake(url: str, origin: str) -> bytes:
    """The first bytes of the answer to a websocket upgrade sent with this Origin header."""
    host = url.split("//", 1)[1]
    with socket.create_connection(tuple(host.rsplit(":", 1)), timeout=20) as s:
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                  f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n".encode())
        return s.recv(64)


def test_a_cross_origin_websocket_makes_no_outbound_lookup(server):
    """Streamlit 1.67 checks a cross-origin websocket's Origin against this machine's internal
    and external IP (a UDP connect to 8.8.8.8, a request to checkip.amazonaws.com); app.py's
    start-up import (ui.server.start) replaces both lookups. No browser session has run the app
    yet here (the fixture made plain HTTP requests only): the fix is in place from the start."""
    before = len(server.events())
    for origin in ("http://evil.example", "http://203.0.113.7:8501", "null"):
        assert _websocket_handshake(server.url, origin).startswith(b"HTTP/1.1 403"), origin
    assert outbound(server.events()[before:]) == []
    assert "Did not auto detect external IP" not in server.log()


def test_a_same_origin_websocket_is_still_accepted(server):
    host = server.url.split("//", 1)[1]
    assert _websocket_handshake(server.url, f"http://{host}").startswith(b"HTTP/1.1 101")
