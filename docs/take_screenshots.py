"""Retake the README's screenshots: every page in headless Chromium at 1280x720 with presenter
mode on, from the shipped models, offline (only the loopback address may be reached).

    python docs/take_screenshots.py [--out docs/screenshots] [--width 1280 --height 720]

Needs Debian's `chromium` on PATH and the `playwright` package (never `playwright install`).
A page that shows an exception stops the script with the page's message.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.browser_harness import CHROMIUM_ARGS, Server, idle  # noqa: E402

# (file name, URL path and query, scroll to the first chart): what a lecturer would project
SHOTS = [
    ("home", "/?presenter=true", False),
    ("attention_math", "/attention_math?presenter=true", True),
    ("positional", "/positional?presenter=true", True),
    ("transformer", "/transformer?presenter=true", True),
    ("rnn", "/rnn?presenter=true", False),
    ("explorer", "/explorer?presenter=true&model=sort&input=7+3+9+1+5+2+8+4&layer=1", False),
    ("explorer_dates", "/explorer?presenter=true&model=dates", False),
    ("decoding", "/decoding?presenter=true&step=3", True),
    ("vit", "/vit?presenter=true", False),
    ("train", "/train?presenter=true", True),
]

# the chart's top a little below the page's header, with its title (drawn above the plot area)
SCROLL_TO = """e => {
    e.scrollIntoView({block: 'start'});
    let box = e.parentElement;
    while (box && box.scrollHeight <= box.clientHeight) box = box.parentElement;
    (box || document.scrollingElement).scrollBy(0, -140);
}"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "screenshots")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--only", default="", help="comma-separated names from the list")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    wanted = {s for s in args.only.split(",") if s}
    args.out.mkdir(parents=True, exist_ok=True)
    server = Server()
    try:
        server.wait_healthy()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=shutil.which("chromium"),
                                         args=CHROMIUM_ARGS)
            ctx = browser.new_context(viewport={"width": args.width, "height": args.height})
            ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server.url)
                      else r.abort())
            page = ctx.new_page()
            page.set_default_timeout(120_000)
            for name, path, scroll in SHOTS:
                if wanted and name not in wanted:
                    continue
                page.goto(server.url + path)
                idle(page)
                page.wait_for_timeout(1500)            # plotly's last layout pass
                idle(page)
                charts = page.locator(".js-plotly-plot")
                if scroll and charts.count():          # the figure, as the class sees it
                    charts.first.evaluate(SCROLL_TO)
                    page.wait_for_timeout(300)
                target = args.out / f"{name}.png"
                page.screenshot(path=str(target))
                print(f"{target}  ({path})")
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
