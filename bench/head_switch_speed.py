"""A head change on the switchable map (ui.head_switch), measured in headless Chromium.

    python bench/head_switch_speed.py [--tokens 32 256 512] [--heads 12] [--clicks 9]

Serves tests/e2e/apps/head_switch_app.py (random causal weights, a "Head" selectbox bound to
?head=, the map under it) and, per size, clicks head buttons one after another, then picks
heads in the selectbox. Prints medians (not a test; nothing is asserted):
  * button / selectbox / round trip: from the click event's timestamp (on a head button; on a
    "Head" option, the head then reaching the map from the server without a new figure; round
    trip: the same selectbox on the app's mode=rerun, a new one-head figure per run as the
    explorer drew it, in the same run; ratio = round trip / button) to the end of the first
    frame that shows the head (a requestAnimationFrame callback sees the new heatmap image
    under a title naming the head, then a message posted from it runs once that frame's
    rendering work is done);
  * CPU ms: main-thread CPU time of one switch (Chrome's ThreadTime over 10 switches made with
    the buttons' own args, less the idle frames): what the click -> frame time comes to on a
    quiet machine, where the wall-clock figures above grow with the load of a shared one;
  * sync: from the click until the server's rerun has set the head (the URL has ?head=h and the
    caption shows "server head h"), which happens in the background;
  * payload: the figure's JSON (what st.plotly_chart sends once per layer) and the largest
    websocket message the browser received during the sync rerun (a reference, not the figure);
  * flicker: whether the plot element was replaced, its image redrawn, or its container faded
    (Streamlit's stale-element opacity) at any frame between the click and the end of the sync.
Every non-loopback request is aborted. The machine's load average is printed alongside.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "tests" / "e2e" / "apps" / "head_switch_app.py"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
IDLE = ("[data-testid='stApp'][data-test-connection-state='CONNECTED']"
        "[data-test-script-state='notRunning']")
READY = ".st-key-map[data-head-switch='ready']"
WAIT_MS = 120_000
# Installed in the page before it loads: window.__hs.arm(h) / disarm() (see the file).
PROBE = (Path(__file__).with_name("head_switch_probe.js")).read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(app: Path = APP, seconds: float = 60):
    """`streamlit run app` on a free loopback port -> its URL; stopped (by PID) afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port),
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + seconds
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with status {proc.returncode}")
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"no 'ok' from {url}/_stcore/health in {seconds:.0f} s")
            time.sleep(0.2)                          # polling the health URL
        yield url
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def offline(context) -> list[str]:
    """Abort every request to a host other than the loopback; returns the list of those."""
    blocked: list[str] = []

    def route(r):
        host = r.request.url.split("/")[2].split(":")[0]
        if host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return blocked


class Tab:
    """One browser tab on the test app, with the probe installed and websocket traffic logged."""

    def __init__(self, page, url: str, switch: bool = True):
        self.page, self.frames, self.switch = page, [], switch
        page.on("websocket", lambda ws: (
            ws.on("framesent", lambda f: self.frames.append(("sent", time.monotonic(), len(f)))),
            ws.on("framereceived",
                  lambda f: self.frames.append(("received", time.monotonic(), len(f))))))
        page.add_init_script(PROBE)
        page.goto(url)
        self.ready()

    def ready(self) -> None:
        """The chart is drawn (and bound by the component) and no script is running."""
        self.page.wait_for_selector(READY if self.switch else ".st-key-map .js-plotly-plot",
                                    state="attached", timeout=WAIT_MS)
        self.page.wait_for_selector(IDLE, state="attached", timeout=WAIT_MS)

    def server_head(self) -> int | None:
        text = self.page.locator("[data-testid='stCaptionContainer']").inner_text()
        parts = text.split()
        return int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None

    def url_head(self) -> int | None:
        from urllib.parse import parse_qs, urlparse
        got = parse_qs(urlparse(self.page.url).query).get("head")
        return int(got[0]) if got else None

    def click(self, h: int) -> dict:
        """Click button h; wait for its frame and for the server's sync. -> timings, traffic."""
        return self._timed(h, lambda: self.page.locator(".st-key-map .updatemenu-button")
                           .nth(h).click())

    def pick(self, h: int) -> dict:
        """Choose h in the "Head" selectbox (the clock starts at the click on the option)."""
        box = self.page.get_by_role("combobox", name="Head", exact=True)
        box.click()
        box.fill(str(h))
        option = self.page.get_by_role("option", name=str(h), exact=True)
        option.wait_for()
        return self._timed(h, option.click)

    def _timed(self, h: int, act) -> dict:
        pg = self.page
        pg.evaluate("h => window.__hs.arm(h)", h)
        start = len(self.frames)
        t = time.monotonic()
        act()
        pg.wait_for_function("() => window.__hs.s.frame !== null", timeout=WAIT_MS)
        deadline = time.monotonic() + WAIT_MS / 1000
        while not (self.url_head() == h and self.server_head() == h
                   and pg.locator(IDLE).count() == 1):
            if time.monotonic() > deadline:
                raise AssertionError(f"the server never caught up with head {h}")
            pg.wait_for_timeout(20)
        sync = time.monotonic() - t
        pg.wait_for_timeout(300)                  # frames after the sync's last message
        s = pg.evaluate("() => window.__hs.disarm()")
        traffic = self.frames[start:]
        return dict(frame_ms=s["frame"], sync_s=sync, replaced=s["replaced"],
                    redrawn=s["redrawn"], min_opacity=s["minOpacity"],
                    sent_before_frame=sum(m["ms"] <= s["frame"] for m in s["sent"]),
                    sent=[m["bytes"] for m in s["sent"]],
                    received=[n for d, _, n in traffic if d == "received"])


def switch_cpu_ms(page, n: int = 10) -> float:
    """Main-thread CPU time (Chrome's ThreadTime) of one head switch, averaged over n switches
    made as the buttons make them (their args through Plotly.update), a frame apart. CPU time
    hardly grows with the machine's load, where wall-clock time does."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def thread_time() -> float:
        got = cdp.send("Performance.getMetrics")["metrics"]
        return next(m["value"] for m in got if m["name"] == "ThreadTime")

    idle = thread_time()
    page.evaluate("""async (n) => {
      const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      for (let i = 0; i < n; i++) await frame();
    }""", n)
    base = thread_time() - idle                  # n frames with no switch
    start = thread_time()
    page.evaluate("""async (n) => {
      const gd = document.querySelector('.st-key-map .js-plotly-plot');
      const buttons = gd.layout.updatemenus.flatMap((m) => m.buttons);
      const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      for (let i = 0; i < n; i++) {
        const b = buttons[(i * 5 + 3) % buttons.length];
        await frame();
        window.Plotly.update(gd, b.args[0], b.args[1]);
        await frame();
      }
    }""", n)
    spent = thread_time() - start
    cdp.detach()
    return max(0.0, spent - 2 * base) / n * 1000


def payload_bytes(tokens: int, heads: int) -> int:
    """Bytes of the figure's JSON as st.plotly_chart sends it (plotly.io.to_json)."""
    import plotly.io as pio
    sys.path.insert(0, str(APP.parent))
    from head_switch_app import layer

    from viz.head_switch import multi_head_heatmap
    w, mask = layer(tokens, heads, 0, causal=True)
    labels = [f"t{i}" for i in range(tokens)]
    fig = multi_head_heatmap(w, labels, labels, head=0, title="x · head {head}", mask=mask)
    return len(pio.to_json(fig, validate=False))


def run(browser, url: str, tokens: int, heads: int, clicks: int, mode: str = "switch"):
    """One tab at this size: head buttons then the selectbox ("switch"), or only the selectbox
    with a server round trip per head ("rerun", the baseline). -> (button rows, selectbox rows,
    main-thread CPU ms of a button's switch or None)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    blocked = offline(context)
    try:
        query = f"tokens={tokens}&heads={heads}&mask=causal&mode={mode}"
        tab = Tab(context.new_page(), f"{url}/?{query}", switch=mode == "switch")
        order = [1 + (2 + 5 * i) % (heads - 1) for i in range(clicks)]   # 1.., never twice
        order = [h for i, h in enumerate(order) if not i or order[i - 1] != h]
        buttons = [tab.click(h) for h in order] if mode == "switch" else []
        picks = [tab.pick(h) for h in reversed(order[:max(3, clicks // 2)])]
        if blocked:
            raise AssertionError(f"requests left the machine: {blocked[:3]}")
        return buttons, picks, switch_cpu_ms(tab.page) if mode == "switch" else None
    finally:
        context.close()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokens", type=int, nargs="+", default=[32, 256, 512])
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--clicks", type=int, default=9)
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright
    print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    print("button / selectbox: this map; round trip: the selectbox redrawing one head's map "
          "on every run (the baseline)")
    print(f"{'tokens':>6} {'payload MB':>10} {'button ms':>9} {'CPU ms':>7} "
          f"{'selectbox ms':>12} {'round trip ms':>13} {'ratio':>6} {'sync s':>7} "
          f"{'max msg KB':>10} {'replaced':>8} {'redrawn':>7} {'min opacity':>11}")
    with serve() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        for T in args.tokens:
            buttons, picks, cpu = run(browser, url, T, args.heads, args.clicks)
            _, trips, _ = run(browser, url, T, args.heads, args.clicks, mode="rerun")
            med = lambda rows, k: statistics.median(r[k] for r in rows)   # noqa: E731
            button, trip = med(buttons, "frame_ms"), med(trips, "frame_ms")
            biggest = max(max(r["received"], default=0) for r in buttons + picks) / 1e3
            print(f"{T:>6} {payload_bytes(T, args.heads) / 1e6:>10.2f} {button:>9.1f} "
                  f"{cpu:>7.1f} {med(picks, 'frame_ms'):>12.1f} {trip:>13.1f} "
                  f"{trip / button:>6.1f} {med(buttons, 'sync_s'):>7.2f} {biggest:>10.1f} "
                  f"{sum(r['replaced'] for r in buttons + picks):>8} "
                  f"{sum(r['redrawn'] for r in buttons + picks):>7} "
                  f"{min(r['min_opacity'] for r in buttons):>11.2f}")
        browser.close()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
