"""Real-browser fixtures: the app served by `streamlit run`, a headless Chromium that may only
reach the loopback address, and an `App` helper that waits on Streamlit's own run state.

Every test here skips (with the reason) where no Chromium or no playwright exists; CI has both.
Never `playwright install`: the Debian chromium at shutil.which("chromium") is used.
Screenshots of each test's final page go to tests/e2e/screenshots/<test name>.png (git-ignored).
"""
from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
APP = REPO / "app.py"
SHOTS = HERE / "screenshots"
CHECKPOINTS = REPO / "checkpoints"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
VIEWPORT = {"width": 1280, "height": 800}
HEALTH_S = 60           # the server must answer /_stcore/health within this
WAIT_MS = 90_000        # one wait in a test (a cold page imports torch; the machine is shared)
RUN_IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
EXCEPTION = "[data-testid='stException']"
PLOT = ".js-plotly-plot"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if shutil.which("chromium") is None:
        return "no Chromium: shutil.which('chromium') is None (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as e:
        return f"playwright is not importable ({e}); pip install -r requirements-dev.txt"
    return None


def pytest_collection_modifyitems(config, items):
    reason = browser_missing()
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


# ----------------------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
            "--server.address", "127.0.0.1", "--server.port", str(port),
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]


def wait_healthy(url: str, proc: subprocess.Popen, seconds: float = HEALTH_S) -> None:
    """Poll GET /_stcore/health until it answers 'ok'; fail if the server dies or is late."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)                      # polling the health URL, not waiting on the app
    raise RuntimeError(f"no 'ok' from {url}/_stcore/health within {seconds:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    """Terminate the server by its PID; kill it if it does not exit."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("server") / "streamlit.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(server_command(port), cwd=REPO, stdout=log,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
    except RuntimeError as e:
        stop(proc)
        pytest.fail(f"{e}\n--- server log ---\n{log_path.read_text(errors='replace')[-3000:]}")
    yield url
    stop(proc)


# ----------------------------------------------------------------------------- checkpoints
@pytest.fixture(scope="session")
def models():
    """{kind: checkpoint name} for "encoder" (the sort task), "decoder" (one the decoding page can
    step through) and "vit": a shipped checkpoint where one exists, else an untrained one saved
    as checkpoints/e2e_<random>_<task>.safetensors and deleted at the end of the session."""
    from core.checkpoints import list_checkpoints, save_checkpoint
    from core.tasks import TASKS
    rows = [r for r in list_checkpoints(CHECKPOINTS)
            if r["error"] is None and r["name"] in TASKS and r["task"] in TASKS]
    wanted = {"encoder": lambda t: t.name == "sort",
              "decoder": lambda t: t.kind in ("decoder", "seq2seq") and t.decodes,
              "vit": lambda t: t.kind == "vit"}
    made, chosen = [], {}
    try:
        for kind, fits in wanted.items():
            shipped = [r["name"] for r in rows if fits(TASKS[r["task"]])]
            if shipped:
                chosen[kind] = shipped[0]
                continue
            task = next((t for t in TASKS.values() if fits(t)), None)
            if task is None:
                continue
            name = f"e2e_{uuid.uuid4().hex[:8]}_{task.name}"
            made.append(save_checkpoint(task.build_model(), CHECKPOINTS / f"{name}.safetensors",
                                        info={"task": task.name}))
            chosen[kind] = name
        yield chosen
    finally:
        for path in made:
            path.unlink(missing_ok=True)


def need(models: dict, kind: str) -> str:
    if kind not in models:
        what = {"decoder": "task has decoding_setup (Task.decodes)"}.get(kind, "task fits")
        pytest.skip(f"no {kind} checkpoint to use, and no {what} to build one")
    return models[kind]


# ----------------------------------------------------------------------------- the browser
@pytest.fixture(scope="session")
def blocked_requests() -> list[str]:
    """Every request a page made to a host other than the loopback (each one was aborted)."""
    return []


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        yield b
        b.close()


def offline_page(browser, blocked: list):
    """A fresh browser context (so a fresh Streamlit session) that can reach only the loopback
    address; every other request is aborted and appended to `blocked`. -> (context, page)."""
    context = browser.new_context(viewport=VIEWPORT)

    def offline(route):
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", offline)
    pg = context.new_page()
    pg.set_default_timeout(WAIT_MS)
    return context, pg


@pytest.fixture
def page(browser, app_url, blocked_requests, request):
    """A fresh browser context (so a fresh Streamlit session) that can reach only 127.0.0.1."""
    context, pg = offline_page(browser, blocked_requests)
    yield pg
    try:
        SHOTS.mkdir(exist_ok=True)
        pg.screenshot(path=SHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', request.node.name)}.png")
    finally:
        context.close()


class App:
    """One user's browser tab on the app, with waits on Streamlit's run state."""

    def __init__(self, page, url: str):
        self.page, self.url = page, url

    # -- waiting
    def idle(self) -> None:
        """Connected and no script running; no traceback on the page."""
        from playwright.sync_api import expect
        expect(self.page.locator(CONNECTED)).to_have_count(1)
        expect(self.page.locator(RUN_IDLE)).to_have_count(1)
        self.no_exception()

    def no_exception(self) -> None:
        from playwright.sync_api import expect
        exc = self.page.locator(EXCEPTION)
        if exc.count():
            raise AssertionError("a traceback on the page:\n" + exc.first.inner_text())
        expect(exc).to_have_count(0)

    def until(self, condition, what: str, seconds: float = WAIT_MS / 1000):
        """Poll `condition()` (a truthy result ends it) until the deadline; then idle()."""
        deadline = time.monotonic() + seconds
        while True:
            value = condition()
            if value:
                self.idle()
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            self.page.wait_for_timeout(100)      # let the browser work between polls

    def redrawn(self, locator, text: str) -> None:
        """Wait until `locator` shows `text` and is the only one left (the stale copy of a chart
        stays on the page until the rerun ends)."""
        from playwright.sync_api import expect
        expect(locator.filter(has_text=text)).to_have_count(1)
        self.idle()
        expect(locator).to_have_count(1)

    # -- moving around
    def open(self, path: str, ready: str) -> None:
        """Load a page by its URL path and wait for `ready` (a selector) and an idle script."""
        from playwright.sync_api import expect
        self.page.goto(self.url + path)
        expect(self.page.locator(ready).first).to_be_visible()
        self.idle()

    def plots(self):
        return self.page.locator(PLOT)

    def chart(self, key: str):
        """The plotly chart drawn with st.plotly_chart(..., key=key)."""
        return self.page.locator(f".st-key-{key} {PLOT}")

    # -- widgets
    def combobox(self, label: str):
        """The input of the st.selectbox labelled `label` (a react-aria combobox)."""
        return self.page.get_by_role("combobox", name=label, exact=True)

    def select(self, label: str, option: str) -> None:
        """Choose `option` in the st.selectbox labelled `label`."""
        from playwright.sync_api import expect
        box = self.combobox(label)
        box.click()
        box.fill(option)                          # filters a long (virtualised) option list
        self.page.get_by_role("option", name=option, exact=True).click()
        expect(box).to_have_value(option)

    def type_into(self, textbox, text: str) -> None:
        textbox.fill(text)
        textbox.press("Enter")

    def pick_model(self, name: str) -> None:
        """Choose the checkpoint `name` in the sidebar model picker (if it is not chosen)."""
        from playwright.sync_api import expect
        box = self.page.get_by_test_id("stSidebar").get_by_role("combobox", name="Model")
        expect(box).to_be_visible()
        if box.input_value().startswith(f"{name} · "):
            return
        box.click()
        box.fill(name)
        self.page.get_by_role("option").filter(
            has_text=re.compile(rf"^{re.escape(name)}( · |$)")).first.click()
        expect(box).to_have_value(re.compile(rf"^{re.escape(name)}( · |$)"))
        box.blur()
        self.idle()

    # -- reading charts
    def z(self, plot) -> list | None:
        """The first heatmap trace's z of a plotly chart, as nested lists of numbers; None while
        the locator matches no chart or two (a rerun briefly keeps the stale one) or plotly has
        not drawn it yet."""
        from playwright.sync_api import Error
        if plot.count() != 1:
            return None
        try:
            return plot.evaluate("""el => {
                const t = (el._fullData || []).find(t => t.z !== undefined);
                return t ? Array.from(t.z, r => Array.from(r, v => v === null ? null : Number(v)))
                         : null; }""")
        except Error:                            # replaced by the rerun while being read
            return None

    def drawn_z(self, plot) -> list:
        """z of the chart once plotly has drawn it (and the run is idle)."""
        return self.until(lambda: self.z(plot), "the heatmap to be drawn")


@pytest.fixture
def app(page, app_url) -> App:
    return App(page, app_url)
