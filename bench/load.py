"""How many people can use one server at once: N concurrent headless-Chromium sessions.

    python bench/load.py --n 1,2,4            # these N, 40 s each
    python bench/load.py --search --max-n 16  # double N until p95 >= 1 s, then bisect
    python bench/load.py --n 4 --seconds 60 --json out.json

A benchmark, not a test: nothing is asserted. For each N a fresh server is started exactly as a
user would (`python -m streamlit run app.py`, settings from .streamlit/config.toml, only the
port given) and one Chromium drives N browser contexts (N separate Streamlit sessions) at once:
- explorers (most): open the Attention explorer on the shipped sort model, then in a loop
  change the "Head" selectbox
  and, every 4th time, the input; each head change is timed in the page from the click to the
  first frame in which the heatmap titled with the new head is drawn;
- trainers (--train-fraction of N, none when N = 1): open the Train page, press
  "Start training", wait for the first progress update, and let it run (stopped at the end).
The clock starts once every session has its page open (a cold server first imports torch).
Reported per N: head-change latency p50 / p95 (seconds), changes measured, errors (tracebacks
on a page, `[data-testid='stException']`, and timeouts), the server's peak resident memory
(VmHWM, and the highest VmRSS sampled every 0.5 s), and its live threads (/proc/<pid>/task)
2 s and 15 s after every session has closed, the server's CPU seconds during the load, and the
machine's load average (wall-clock latencies mean little on a machine others are using).
Every non-loopback request is aborted.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from load_sessions import Run, cpu_seconds, explorer, trainer  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def status(pid: int, key: str) -> int:
    """A /proc/<pid>/status value in bytes (VmRSS, VmHWM), 0 once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    m = re.search(rf"{key}:\s+(\d+) kB", text)
    return int(m.group(1)) * 1024 if m else 0


def threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


class Server:
    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py",
                                      "--server.port", str(self.port)], cwd=ROOT,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        self.log.close()


async def one_n(n: int, seconds: float, train_fraction: float) -> dict:
    from playwright.async_api import async_playwright
    server, rss = Server(), [0]
    run = Run(n, seconds, server.proc.pid)
    trainers = int(round(n * train_fraction)) if n > 1 else 0
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)

            async def sample():
                while True:
                    rss[0] = max(rss[0], status(server.proc.pid, "VmRSS"))
                    await asyncio.sleep(0.5)

            sampler = asyncio.create_task(sample())
            await asyncio.gather(*[trainer(browser, server.url, run) for _ in range(trainers)],
                                 *[explorer(browser, server.url, run, k)
                                   for k in range(n - trainers)])
            run.cpu[1] = cpu_seconds(server.proc.pid)
            await browser.close()
            await asyncio.sleep(2)
            after = threads(server.proc.pid)
            await asyncio.sleep(13)
            later = threads(server.proc.pid)
            sampler.cancel()
        lat = sorted(run.latencies)
        q = statistics.quantiles(lat, n=20) if len(lat) >= 2 else lat * 19
        return {"n": n, "explorers": n - trainers, "trainers": trainers,
                "changes": len(lat), "p50": statistics.median(lat) if lat else None,
                "p95": q[18] if lat else None, "errors": run.errors, "blocked": run.blocked,
                "first_progress": run.first_progress, "peak_rss_mb": max(
                    rss[0], status(server.proc.pid, "VmHWM")) / 1e6,
                "threads_after_2s": after, "threads_after_15s": later,
                "server_cpu_s": run.cpu[1] - run.cpu[0], "load_avg": os.getloadavg()[0]}
    finally:
        server.stop()


def show(r: dict) -> str:
    fmt = lambda v: "   -  " if v is None else f"{v:6.2f}"             # noqa: E731
    return (f"N={r['n']:3d} ({r['explorers']} explore, {r['trainers']} train)  "
            f"head change p50 {fmt(r['p50'])} s  p95 {fmt(r['p95'])} s  "
            f"({r['changes']} changes)  errors {len(r['errors'])}  "
            f"peak RSS {r['peak_rss_mb']:.0f} MB  threads after 2 s / 15 s "
            f"{r['threads_after_2s']} / {r['threads_after_15s']}  "
            + (f"train start->progress {statistics.median(r['first_progress']):.1f} s  "
               if r["first_progress"] else "") + "server CPU "
            f"{r['server_cpu_s']:.0f} s  load avg {r['load_avg']:.1f}")


def good(r: dict) -> bool:
    return r["p95"] is not None and r["p95"] < 1.0 and not r["errors"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", default="1,2,4", help="comma-separated session counts")
    ap.add_argument("--search", action="store_true",
                    help="double N from 1 until p95 >= 1 s (or errors), then bisect")
    ap.add_argument("--max-n", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=40, help="load duration per N")
    ap.add_argument("--train-fraction", type=float, default=0.25)
    ap.add_argument("--json", default=None, help="write all results here")
    a = ap.parse_args(argv)
    if shutil.which("chromium") is None:
        print("no chromium on PATH", file=sys.stderr)
        return 2
    if not 1 <= a.max_n <= 64 or not 5 <= a.seconds <= 600:
        print("--max-n must be 1..64 and --seconds 5..600", file=sys.stderr)
        return 2
    results = {}

    def measure(n: int) -> dict:
        results[n] = asyncio.run(one_n(n, a.seconds, a.train_fraction))
        print(show(results[n]), flush=True)
        for e in results[n]["errors"][:5]:
            print("    error:", e)
        return results[n]

    if a.search:
        n, last_good, first_bad = 1, 0, None
        while n <= a.max_n:
            if good(measure(n)):
                last_good, n = n, n * 2
            else:
                first_bad = n
                break
        while first_bad is not None and first_bad - last_good > 1:
            mid = (last_good + first_bad) // 2
            if good(measure(mid)):
                last_good = mid
            else:
                first_bad = mid
        print(f"largest N with head-change p95 under 1 s and no errors: {last_good}"
              + ("" if first_bad else f" (not reached by --max-n {a.max_n})"))
    else:
        for n in sorted({int(x) for x in a.n.split(",")}):
            measure(min(max(n, 1), a.max_n))
    if a.json:
        Path(a.json).write_text(json.dumps(list(results.values()), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
