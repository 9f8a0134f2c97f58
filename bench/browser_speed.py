"""What a user waits for, measured in headless Chromium against a real `streamlit run` server.

    python bench/browser_speed.py [--cold 3] [--repeats 5]

Prints a table of medians (not a test; nothing is asserted):
  * cold start: from Popen to GET /_stcore/health == ok, from Popen to the home page's title
    drawn, and from "server healthy" to that title (target: under 5 s);
  * explorer, head change: from the click on another head in the "Head" selectbox to the frame
    in which the new heatmap is drawn (its title names the new head and it has T rows), at 32
    and 256 tokens (target: under 1 s at 256);
  * train: from the click on "Start training" to the frame showing the first progress update
    (the first run after the server started, which imports the optimizer's modules, and the
    median of the later ones; the page polls a running job once a second).
Browser-side times use performance.now(): a capture 'click' listener starts the clock and a
requestAnimationFrame loop stops it on the first frame where the page shows the result.

The shipped sort task accepts at most 20 digits, so the head-change runs use a second server
process in which (only there) core.tasks.sort.MAX_LEN is raised to 256 and ui.models'
CHECKPOINT_DIR points at a temporary folder holding one untrained sort encoder built by core
with max_len 256 (the shipped size otherwise: 2 layers, 2 heads, d_model 32). Nothing in the
repository is written; the folder is deleted afterwards. Every non-loopback request is aborted.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
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

    def __init__(self, patched_dir: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if patched_dir is None:
            cmd = [sys.executable, "-m", "streamlit", "run", "app.py"]
        else:
            cmd = [sys.executable, "-c", PATCHED, str(patched_dir), "run", "app.py"]
        self.log = tempfile.TemporaryFile()
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd + ["--server.port", str(self.port)] + FLAGS, cwd=ROOT,
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


# ----------------------------------------------------------------------------- measurements
def cold_start(browser, blocked: list) -> tuple[dict, Server]:
    """One cold start; the server is left running for the next measurement."""
    page = new_page(browser, blocked)
    server = Server()
    healthy = server.wait_healthy()
    page.goto(server.url + "/")
    page.locator("h1", has_text="Attention Visualizer").wait_for()
    drawn = time.perf_counter() - server.t0
    idle(page)
    page.context.close()
    return {"popen_healthy": healthy, "popen_drawn": drawn, "healthy_drawn": drawn - healthy}, \
        server


def train_start(browser, url: str, repeats: int, blocked: list) -> list[float]:
    from playwright.sync_api import expect
    page = new_page(browser, blocked)
    page.goto(url + "/train")
    page.locator("h1", has_text="Train a model").wait_for()
    idle(page)
    steps = page.get_by_role("spinbutton", name="Steps")
    out = []
    for i in range(repeats):
        total = 20000 - 10 * i               # each run's own total tells its progress bar apart
        steps.fill(str(total))
        steps.press("Enter")
        expect(steps).to_have_value(str(total))
        idle(page)
        start = page.get_by_role("button", name="Start training")
        expect(start).to_be_enabled(timeout=WAIT_MS)
        out.append(timed_click(page, start, f"""[...document.querySelectorAll(
            "[data-testid='stProgress']")].some(e => /step [1-9][\\d,]* \\/ {total:,} /
            .test(e.innerText))"""))
        page.locator(".st-key-train_stop").get_by_role("button").click()
        page.get_by_role("heading", name="Stopped: sort", exact=False).wait_for()
        idle(page)
    page.context.close()
    return out


def head_change(browser, url: str, tokens: int, repeats: int, blocked: list) -> list[float]:
    page = new_page(browser, blocked)
    page.goto(url + "/explorer")
    plot = ".st-key-one_head_map .js-plotly-plot"
    page.locator(plot).first.wait_for()
    idle(page)
    text = " ".join(random.Random(tokens).choice("123456789") for _ in range(tokens))
    box = page.locator(".st-key-input input")
    box.fill(text)
    box.press("Enter")
    rows = f"document.querySelectorAll('{plot}').length === 1 && " \
           f"document.querySelector('{plot}')._fullData[0].z.length === {tokens}"
    page.wait_for_function(rows, timeout=WAIT_MS)
    idle(page)
    combo = page.get_by_role("combobox", name="Head", exact=True)
    out = []
    for i in range(repeats + 1):                 # the first change warms the caches: not kept
        head = str((i + 1) % 2)
        combo.click()
        option = page.get_by_role("option", name=head, exact=True)
        option.wait_for()
        seconds = timed_click(page, option, f"""(() => {{
            const t = [...document.querySelectorAll('.st-key-one_head_map .gtitle')];
            return t.length === 1 && t[0].textContent.endsWith('head {head}') && {rows}; }})()""")
        idle(page)
        if i:
            out.append(seconds)
    page.context.close()
    return out


def untrained_sort(folder: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from core.checkpoints import save_checkpoint
    from core.tasks import TASKS
    model = TASKS["sort"].build_model(max_len=256)
    save_checkpoint(model, folder / "sort.safetensors", info={"task": "sort"})


# ----------------------------------------------------------------------------- the table
def row(what: str, values: list[float], target: float | None = None) -> str:
    med = statistics.median(values)
    verdict = "" if target is None else f"< {target:g} s  {'OK' if med < target else 'MISSED'}"
    spread = f"{min(values):.2f}-{max(values):.2f}"
    return f"{what:48s} {med:8.2f} s  {spread:>12s}  {len(values):4d}  {verdict}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cold", type=int, default=3, help="cold starts (default 3)")
    ap.add_argument("--repeats", type=int, default=5, help="runs per interaction (default 5)")
    args = ap.parse_args(argv)
    if shutil.which("chromium") is None:
        print("no Chromium (shutil.which('chromium') is None)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    load0 = os.getloadavg()
    blocked: list[str] = []
    cold, server = [], None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                    args=CHROMIUM_ARGS)
        try:
            for i in range(args.cold):
                if server is not None:
                    server.stop()
                result, server = cold_start(browser, blocked)
                cold.append(result)
                print(f"cold start {i + 1}: " + ", ".join(f"{k} {v:.2f} s"
                                                         for k, v in result.items()), flush=True)
            train = train_start(browser, server.url, args.repeats, blocked)
            print("train:", " ".join(f"{t:.2f}" for t in train), flush=True)
            server.stop()
            server = None
            with tempfile.TemporaryDirectory(prefix="attnviz-bench-") as folder:
                untrained_sort(Path(folder))
                server = Server(patched_dir=Path(folder))
                server.wait_healthy()
                heads = {}
                for tokens in (32, 256):
                    heads[tokens] = head_change(browser, server.url, tokens, args.repeats,
                                                blocked)
                    print(f"head change at {tokens} tokens:",
                          " ".join(f"{t:.2f}" for t in heads[tokens]), flush=True)
                server.stop()
                server = None
        finally:
            if server is not None:
                server.stop()
            browser.close()
    load1 = os.getloadavg()

    print()
    print(f"{'measure (median of runs)':48s} {'median':>10s}  {'min-max':>12s}  runs  target")
    print("-" * 96)
    print(row("cold start: Popen -> server healthy", [c["popen_healthy"] for c in cold]))
    print(row("cold start: Popen -> home page drawn", [c["popen_drawn"] for c in cold]))
    print(row("cold start: server healthy -> home page drawn",
              [c["healthy_drawn"] for c in cold], 5))
    print(row("explorer: head change -> heatmap drawn, 32 tok", heads[32]))
    print(row("explorer: head change -> heatmap drawn, 256 tok", heads[256], 1))
    print(row("train: Start -> first progress, 1st run", train[:1]))
    if len(train) > 1:
        print(row("train: Start -> first progress, later runs", train[1:]))
    print("-" * 96)
    print(f"machine: {os.cpu_count()} CPU cores, load average {load0[0]:.1f} before and "
          f"{load1[0]:.1f} after (1 min); Chromium headless, no GPU.")
    print("256-token case: untrained sort encoder (max_len 256) with the sort task's input "
          "limit raised to 256 in the benchmark's own server process only.")
    if blocked:
        print(f"WARNING: {len(blocked)} request(s) to other hosts were aborted: "
              f"{sorted(set(blocked))[:5]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
