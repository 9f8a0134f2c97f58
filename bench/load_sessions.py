"""The browser sessions of bench/load.py: explorers and trainers, each in its own Chromium
context (so its own Streamlit session), all waiting at one start line. Selectors go by role and
label ("Head", "Model", "Start training"), not by file layout."""
from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path
from urllib.parse import urlparse

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
EXCEPTION = "[data-testid='stException']"
STEP_MS = 60_000                     # one wait inside a session
MODEL = "sort"                       # the explorers' model and inputs (digits 1-9)
INPUTS = ["3 1 2", "9 8 7 6 5 4 3 2 1", "5 5 1 2 9 4", "1 2 3 4 5 6 7 8 9 1 2 3 4 5 6 7"]
# Arm a stopwatch: the next click starts it; the first frame where a plot titled "... head H"
# (and only one) is drawn stops it. window.__load = {t0, t1} in ms.
ARM = """head => {
    const b = window.__load = {t0: null, t1: null};
    const re = new RegExp("head " + head + "\\\\b");
    const done = () => [...document.querySelectorAll(".js-plotly-plot")].filter(
        p => [...p.querySelectorAll(".gtitle")].some(t => re.test(t.textContent))).length === 1;
    document.addEventListener("click", () => {
        b.t0 = performance.now();
        const tick = () => { if (done()) b.t1 = performance.now(); else requestAnimationFrame(tick); };
        requestAnimationFrame(tick);
    }, {capture: true, once: true});
}"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (/proc/<pid>/stat fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Run:
    """What the sessions of one N report, and the start line they wait at: the load lasts
    `seconds` from the moment every session has its page open."""

    def __init__(self, sessions: int, seconds: float, pid: int):
        self.waiting, self.seconds, self.pid = sessions, seconds, pid
        self.cpu = [0.0, 0.0]                     # server CPU seconds at the start and the end
        self.started = asyncio.Event()
        self.until = 0.0
        self.latencies: list[float] = []
        self.first_progress: list[float] = []
        self.errors: list[str] = []
        self.blocked: list[str] = []


async def ready(run: Run) -> None:
    """This session's page is open: wait for the others, then the clock runs."""
    run.waiting -= 1
    if run.waiting == 0:
        run.until = time.monotonic() + run.seconds
        run.cpu[0] = cpu_seconds(run.pid)
        run.started.set()
    await run.started.wait()


async def new_page(browser, run: Run):
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})

    async def offline(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            await route.continue_()
        else:
            run.blocked.append(route.request.url)
            await route.abort()

    await ctx.route("**/*", offline)
    page = await ctx.new_page()
    page.set_default_timeout(STEP_MS)
    return ctx, page


async def idle(page, run: Run) -> None:
    await page.locator(IDLE).wait_for()
    if await page.locator(EXCEPTION).count():
        run.errors.append("traceback: " + (await page.locator(EXCEPTION).first.inner_text())[:200])
        raise RuntimeError("traceback on the page")


async def pick_model(page, name: str) -> None:
    """Choose checkpoint `name` in the sidebar's "Model" picker (an option reads "name" or
    "name · ...")."""
    label = re.compile(rf"^{re.escape(name)}( · |$)")
    box = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Model")
    if label.match(await box.input_value()):
        return
    await box.click()
    await box.fill(name)
    await page.get_by_role("option").filter(has_text=label).first.click()
    await box.blur()


async def explorer(browser, url: str, run: Run, seed: int) -> None:
    ctx, page = await new_page(browser, run)
    try:
        try:
            await page.goto(url + "/explorer")
            await page.get_by_role("heading", name="Attention explorer").wait_for()
            await idle(page, run)
            await pick_model(page, MODEL)
            await page.locator(".js-plotly-plot").first.wait_for()
            await idle(page, run)
        finally:
            await ready(run)
        head_box = page.get_by_role("combobox", name="Head", exact=True)
        i = seed
        while time.monotonic() < run.until:
            i += 1
            if i % 4 == 0:
                box = page.get_by_role("textbox", name=re.compile("^Input"))
                await box.fill(INPUTS[i % len(INPUTS)])
                await box.press("Enter")
                await idle(page, run)
            await head_box.click()
            options = page.get_by_role("option")
            await options.first.wait_for()
            names = [n.strip() for n in await options.all_inner_texts()]
            current = await head_box.input_value()
            head = next(n for n in names[(i % len(names)):] + names if n != current)
            await page.evaluate(ARM, head)
            await page.get_by_role("option", name=head, exact=True).click()
            await page.wait_for_function("window.__load.t1 !== null", polling=20)
            t0, t1 = await page.evaluate("[window.__load.t0, window.__load.t1]")
            run.latencies.append((t1 - t0) / 1000)
            await idle(page, run)
    except Exception as e:                       # a timeout or a traceback ends this session
        if not str(e).startswith("traceback"):
            run.errors.append(f"{type(e).__name__}: {str(e).splitlines()[0][:160]}")
    finally:
        await ctx.close()


async def trainer(browser, url: str, run: Run) -> None:
    ctx, page = await new_page(browser, run)
    try:
        try:
            await page.goto(url + "/train")
            await page.get_by_role("heading", name="Train a model").wait_for()
            await idle(page, run)
        finally:
            await ready(run)
        t0 = time.monotonic()
        await page.get_by_role("button", name="Start training").click()
        await page.locator("[data-testid='stProgress']").filter(
            has_text=re.compile(r"step [1-9]")).first.wait_for()
        run.first_progress.append(time.monotonic() - t0)
        while time.monotonic() < run.until:
            await asyncio.sleep(1)               # the page polls the job by itself
            if await page.locator(EXCEPTION).count():
                await idle(page, run)
        stop = page.get_by_role("button", name="Stop")
        if await stop.count():
            await stop.first.click()
    except Exception as e:
        if not str(e).startswith("traceback"):
            run.errors.append(f"{type(e).__name__}: {str(e).splitlines()[0][:160]}")
    finally:
        await ctx.close()
