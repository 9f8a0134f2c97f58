"""A head change on the switchable map (ui.head_switch), measured in headless Chromium.

    python bench/head_switch_speed.py [--tokens 32 256 512] [--heads 12] [--clicks 9]

Serves tests/e2e/apps/head_switch_app.py (random causal weights, a "Head" selectbox bound to
?head=, the map under it) and, per size, clicks head buttons one after another. Prints medians
(not a test; nothing is asserted):
  * click -> frame: from the click event's timestamp to the end of the first frame drawn after
    it that shows the clicked head (a requestAnimationFrame callback sees the new heatmap image,
    then a message posted from it runs once that frame's rendering work is done);
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
# Installed before the page loads. window.__hs.arm(h): the next click starts a clock, the first
# frame showing head h stops it. Until disarm(), every frame also records whether the plot was
# replaced or redrawn and the chart container's opacity (a fading stale element); every message
# the page sends on a websocket is timed, to tell whether one left before the frame.
PROBE = """(() => {
  const sends = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (m) {
    sends.push({t: performance.now(), n: m.byteLength ?? m.size ?? m.length});
    return send.call(this, m);
  };
  const root = () => document.querySelector('.st-key-map');
  const plot = () => root() && root().querySelector('.js-plotly-plot');
  const image = () => { const i = plot() && plot().querySelector('.hm image');
                        return i ? i.getAttribute('href') : null; };
  const shown = (gd) => gd.data.findIndex((t, i) => i < gd.layout.meta.heads && t.visible);
  window.__hs = {
    arm(h) {
      const s = this.s = {h, t0: null, frame: null, gd: plot(), img: image(), replaced: false,
                          redrawn: 0, minOpacity: 1, on: true, after: null, sends: sends.length};
      document.addEventListener('click', (e) => {
        s.t0 = e.timeStamp;
        const tick = () => {
          if (!s.on) return;
          const gd = plot();
          if (gd !== s.gd) s.replaced = true;
          const els = [root(), root() && root().parentElement].filter(Boolean);
          s.minOpacity = Math.min(s.minOpacity,
                                  ...els.map((el) => Number(getComputedStyle(el).opacity)));
          const img = image();
          if (s.frame === null && s.after === null && gd && shown(gd) === h && img !== s.img) {
            s.after = img;
            const ch = new MessageChannel();
            ch.port1.onmessage = () => { s.frame = performance.now() - s.t0; };
            ch.port2.postMessage(0);
          } else if (s.after !== null && img !== s.after) { s.redrawn += 1; s.after = img; }
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }, {capture: true, once: true});
    },
    disarm() {
      const s = this.s;
      s.on = false;
      s.sent = sends.slice(s.sends).map((m) => ({ms: m.t - s.t0, bytes: m.n}));
      return s;
    },
  };
})()"""


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

    def __init__(self, page, url: str):
        self.page, self.frames = page, []
        page.on("websocket", lambda ws: (
            ws.on("framesent", lambda f: self.frames.append(("sent", time.monotonic(), len(f)))),
            ws.on("framereceived",
                  lambda f: self.frames.append(("received", time.monotonic(), len(f))))))
        page.add_init_script(PROBE)
        page.goto(url)
        self.ready()

    def ready(self) -> None:
        """The component has bound the chart and no script is running."""
        self.page.wait_for_selector(READY, state="attached", timeout=WAIT_MS)
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
        pg = self.page
        pg.evaluate("h => window.__hs.arm(h)", h)
        start = len(self.frames)
        t = time.monotonic()
        pg.locator(".st-key-map .updatemenu-button").nth(h).click()
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


def run(browser, url: str, tokens: int, heads: int, clicks: int) -> list[dict]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    blocked = offline(context)
    try:
        tab = Tab(context.new_page(), f"{url}/?tokens={tokens}&heads={heads}&mask=causal")
        order = [(3 + 5 * i) % heads for i in range(clicks)]     # never the head shown
        order = [h if h != 0 else 1 for h in order]
        out = []
        for i, h in enumerate(order):
            if i and order[i - 1] == h:
                continue
            out.append(tab.click(h))
        if blocked:
            raise AssertionError(f"requests left the machine: {blocked[:3]}")
        out[0]["cpu_ms"] = switch_cpu_ms(tab.page)
        return out
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
    print(f"{'tokens':>6} {'payload MB':>10} {'click->frame ms':>16} {'CPU ms':>7} "
          f"{'sync s':>7} {'max msg KB':>10} {'replaced':>8} {'redrawn':>7} "
          f"{'min opacity':>11}")
    with serve() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        for T in args.tokens:
            rows = run(browser, url, T, args.heads, args.clicks)
            frame = statistics.median(r["frame_ms"] for r in rows)
            sync = statistics.median(r["sync_s"] for r in rows)
            biggest = max(max(r["received"], default=0) for r in rows) / 1e3
            print(f"{T:>6} {payload_bytes(T, args.heads) / 1e6:>10.2f} {frame:>16.1f} "
                  f"{rows[0]['cpu_ms']:>7.1f} "
                  f"{sync:>7.2f} {biggest:>10.1f} {sum(r['replaced'] for r in rows):>8} "
                  f"{sum(r['redrawn'] for r in rows):>7} "
                  f"{min(r['min_opacity'] for r in rows):>11.2f}")
        browser.close()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
