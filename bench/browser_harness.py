"""The real-browser harness of bench/browser_speed.py: a `streamlit run` server on a free
loopback port (optionally the patched explorer server), a headless Chromium page that may only
reach the loopback address, and a stopwatch from a click to the first frame showing its result.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
FLAGS = ["--server.headless", "true", "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
IDLE = ("[data-testid='stApp'][data-test-connection-state='CONNECTED']"
        "[data-test-script-state='notRunning']")
WAIT_MS = 120_000
# The explorer server: the sort task takes up to 256 digits and the checkpoints come from $1.
PATCHED = """import sys
from pathlib import Path
import core.tasks.sort as sort
import ui.models
sort.MAX_LEN = 256
ui.models.CHECKPOINT_DIR = Path(sys.argv.pop(1))
from streamlit.web.cli import main
sys.argv[0] = "streamlit"
sys.exit(main())
"""
# Arm a stopwatch: the next click starts it, the first animation frame where `cond` holds stops
# it. window.__bench = {t0, t1} in milliseconds.
ARM = """cond => {
    const b = window.__bench = {t0: null, t1: null};
    const done = new Function("return (" + cond + ");");
    document.addEventListener("click", () => {
        b.t0 = performance.now();
        const tick = () => {
            if (done()) b.t1 = performance.now(); else requestAnimationFrame(tick); };
        requestAnimationFrame(tick);
    }, {capture: true, once: true});
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run app.py` (or the patched variant) on a free loopback port."""

    def __init__(self, patched_dir: Path | None = None, cwd: Path = ROOT):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if patched_dir is None:
            cmd = [sys.executable, "-m", "streamlit", "run", "app.py"]
        else:
            cmd = [sys.executable, "-c", PATCHED, str(patched_dir), "run", "app.py"]
        self.log = tempfile.TemporaryFile()
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd + ["--server.port", str(self.port)] + FLAGS, cwd=cwd,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def wait_healthy(self, seconds: float = 60) -> float:
        """Seconds from Popen to the first 'ok' from /_stcore/health (polled every 50 ms)."""
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        return time.perf_counter() - self.t0
            except OSError:
                pass
            time.sleep(0.05)
        self.log.seek(0)
        raise RuntimeError("the server did not become healthy:\n"
                           + self.log.read().decode(errors="replace")[-2000:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


def new_page(browser, blocked: list):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})

    def offline(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    ctx.route("**/*", offline)
    page = ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    return page


def idle(page) -> None:
    page.locator(IDLE).wait_for()
    if page.get_by_test_id("stException").count():
        raise RuntimeError(page.get_by_test_id("stException").first.inner_text())


def timed_click(page, locator, cond: str) -> float:
    """Seconds from the click on `locator` to the first frame where JS `cond` is true."""
    page.evaluate(ARM, cond)
    locator.click()
    page.wait_for_function("window.__bench.t1 !== null", timeout=WAIT_MS, polling=50)
    t0, t1 = page.evaluate("[window.__bench.t0, window.__bench.t1]")
    return (t1 - t0) / 1000
