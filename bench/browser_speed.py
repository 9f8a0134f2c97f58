"""What a user waits for, measured in headless Chromium against a real `streamlit run` server.

    python bench/browser_speed.py [--cold 3] [--repeats 5] [--only cold|explorer]

Prints a table of medians (not a test; nothing is asserted):
  * cold start: from Popen to GET /_stcore/health == ok, from Popen to the home page's title
    drawn, and from "server healthy" to that title (target: 2 s, issue 14), beside the same
    measure of a bare Streamlit app drawing the same title with the same config (same run,
    interleaved), whose ratio says what the app adds on a busy machine;
  * explorer, head change: from the click on another head in the "Head" selectbox to the frame
    in which the new heatmap is drawn (its title names the new head and it has T rows), at 32
    and 256 tokens (target: under 1 s at 256); and the same on the map's own head buttons,
    switched in the page by ui.head_switch (issue 14's target: under 100 ms at 256), the
    selectbox's server round trip being the same-run baseline;
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
import statistics
import sys
import tempfile
import time
from pathlib import Path

from browser_harness import CHROMIUM_ARGS, ROOT, WAIT_MS, Server, idle, new_page, timed_click

# ----------------------------------------------------------------------------- measurements
# The same-run baseline for the cold start: Streamlit itself, with the app's config, serving a
# page that draws the same title and nothing else.
BARE_APP = 'import streamlit as st\nst.title("Attention Visualizer")\n'


def bare_app(folder: Path) -> Path:
    (folder / ".streamlit").mkdir()
    shutil.copy(ROOT / ".streamlit" / "config.toml", folder / ".streamlit" / "config.toml")
    (folder / "app.py").write_text(BARE_APP)
    return folder


def cold_start(browser, blocked: list, cwd: Path = ROOT) -> tuple[dict, Server]:
    """One cold start; the server is left running for the next measurement."""
    page = new_page(browser, blocked)
    server = Server(cwd=cwd)
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


def head_change(browser, url: str, tokens: int, repeats: int, blocked: list):
    """Explorer, one-head view, `tokens` tokens: seconds from a click to the first frame that
    shows the other head, (a) picking it in the Head selectbox (a server rerun; the map is
    told by the head switch's component) and (b) on the map's own head buttons (in the page,
    ui.head_switch). -> (selectbox times, button times)."""
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
           f"document.querySelector('{plot}')._fullData.some(t => t.visible === true && " \
           f"t.z && t.z.length === {tokens})"      # the head shown (hidden heads have no z)
    page.wait_for_function(rows, timeout=WAIT_MS)
    idle(page)
    combo = page.get_by_role("combobox", name="Head", exact=True)
    shows = ("(() => {{ const t = [...document.querySelectorAll('.st-key-one_head_map .gtitle')];"
             " return t.length === 1 && t[0].textContent.endsWith('head {head}') && {rows}; }})()")
    picks, buttons = [], []
    for i in range(repeats + 1):                 # the first change warms the caches: not kept
        head = str((i + 1) % 2)
        combo.click()
        option = page.get_by_role("option", name=head, exact=True)
        option.wait_for()
        seconds = timed_click(page, option, shows.format(head=head, rows=rows))
        idle(page)
        if i:
            picks.append(seconds)
    for i in range(repeats + 1):
        head = i % 2                             # the selectbox loop ended on head 1
        button = page.locator(".st-key-one_head_map .updatemenu-button").nth(head)
        seconds = timed_click(page, button, shows.format(head=head, rows=rows))
        idle(page)                               # the server's sync of the pick, then the next
        if i:
            buttons.append(seconds)
    page.context.close()
    return picks, buttons


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


def head_changes(browser, repeats: int, blocked: list) -> tuple[dict, dict]:
    """Head changes at 32 and 256 tokens on a server of its own holding the 256-token sort
    encoder -> ({tokens: [seconds]} by the Head selectbox, {tokens: [seconds]} by the map's own
    head buttons, switched in the page)."""
    with tempfile.TemporaryDirectory(prefix="attnviz-bench-") as folder:
        untrained_sort(Path(folder))
        server = Server(patched_dir=Path(folder))
        try:
            server.wait_healthy()
            heads, buttons = {}, {}
            for tokens in (32, 256):
                heads[tokens], buttons[tokens] = head_change(browser, server.url, tokens,
                                                             repeats, blocked)
                print(f"head change at {tokens} tokens: selectbox",
                      " ".join(f"{t:.2f}" for t in heads[tokens]), "· map button",
                      " ".join(f"{t:.3f}" for t in buttons[tokens]), flush=True)
        finally:
            server.stop()
    return heads, buttons


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cold", type=int, default=3, help="cold starts (default 3)")
    ap.add_argument("--repeats", type=int, default=5, help="runs per interaction (default 5)")
    ap.add_argument("--only", choices=["all", "cold", "explorer"], default="all",
                    help="cold: the cold starts alone; explorer: the head changes alone")
    args = ap.parse_args(argv)
    if shutil.which("chromium") is None:
        print("no Chromium (shutil.which('chromium') is None)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    load0 = os.getloadavg()
    blocked: list[str] = []
    cold, bare, server = [], [], None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                    args=CHROMIUM_ARGS)
        try:
            bare_dir = bare_app(Path(tempfile.mkdtemp(prefix="attnviz-bare-")))
            for i in range(args.cold if args.only != "explorer" else 0):   # interleaved
                result, bare_server = cold_start(browser, blocked, bare_dir)
                bare_server.stop()
                bare.append(result)
                if server is not None:
                    server.stop()
                result, server = cold_start(browser, blocked)
                cold.append(result)
                print(f"cold start {i + 1}: " + ", ".join(f"{k} {v:.2f} s"
                                                         for k, v in result.items())
                      + f"; bare Streamlit: healthy_drawn {bare[-1]['healthy_drawn']:.2f} s",
                      flush=True)
            shutil.rmtree(bare_dir, ignore_errors=True)
            if args.only == "all":
                train = train_start(browser, server.url, args.repeats, blocked)
                print("train:", " ".join(f"{t:.2f}" for t in train), flush=True)
            if server is not None:
                server.stop()
            server = None
            if args.only in ("all", "explorer"):
                heads, buttons = head_changes(browser, args.repeats, blocked)
        finally:
            if server is not None:
                server.stop()
            browser.close()
    load1 = os.getloadavg()

    print()
    print(f"{'measure (median of runs)':48s} {'median':>10s}  {'min-max':>12s}  runs  target")
    print("-" * 96)
    if cold:
        print(row("cold start: Popen -> server healthy", [c["popen_healthy"] for c in cold]))
        print(row("cold start: Popen -> home page drawn", [c["popen_drawn"] for c in cold]))
        print(row("cold start: server healthy -> home page drawn",
                  [c["healthy_drawn"] for c in cold], 2))
        print(row("  baseline: a one-title Streamlit app, same",
                  [c["healthy_drawn"] for c in bare]))
        ratio = statistics.median(c["healthy_drawn"] for c in cold) / statistics.median(
            c["healthy_drawn"] for c in bare)
        print(f"{'  app / baseline (medians)':48s} {ratio:8.2f} x")
    if args.only in ("all", "explorer"):
        print(row("explorer: Head selectbox -> heatmap drawn, 32 tok", heads[32]))
        print(row("explorer: Head selectbox -> heatmap drawn, 256 tok", heads[256], 1))
        print(row("explorer: map's head button -> drawn, 32 tok", buttons[32]))
        print(row("explorer: map's head button -> drawn, 256 tok", buttons[256], 0.1))
    if args.only == "all":
        print(row("train: Start -> first progress, 1st run", train[:1]))
        if len(train) > 1:
            print(row("train: Start -> first progress, later runs", train[1:]))
    print("-" * 96)
    print(f"machine: {os.cpu_count()} CPU cores, load average {load0[0]:.1f} before and "
          f"{load1[0]:.1f} after (1 min); Chromium headless, no GPU.")
    if args.only == "all":
        print("256-token case: untrained sort encoder (max_len 256) with the sort task's "
              "input limit raised to 256 in the benchmark's own server process only.")
    if blocked:
        print(f"WARNING: {len(blocked)} request(s) to other hosts were aborted: "
              f"{sorted(set(blocked))[:5]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
