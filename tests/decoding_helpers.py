"""What the masked-decoding page's AppTest suites share: opening the page from a link, reading
the step shown, the charts' titles and data, and an independent trace to compare with."""
from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

import ui.models
from core.checkpoints import load_checkpoint
from core.decode import decode_trace
from core.tasks import TASKS

from app_helpers import APP, decode, figures, ok, title

PAGE = "pages/decoding.py"
KINDS = ("decoder", "seq2seq")


def rows() -> list[dict]:
    return [r for r in ui.models.checkpoints(KINDS) if r["shipped"]]


def row(name: str) -> dict:
    found = [r for r in rows() if r["name"] == name]
    if not found:
        pytest.skip(f"no shipped {name} checkpoint")
    return found[0]


def open_page(session: dict | None = None, **params) -> AppTest:
    """The decoding page opened from a link with these query parameters (and session state set
    before the first run, e.g. pretrained folders); no traceback."""
    at = AppTest.from_file(str(APP), default_timeout=90)
    for key, value in (session or {}).items():
        at.session_state[key] = value
    for key, value in params.items():
        at.query_params[key] = str(value)
    at.switch_page(PAGE).run()
    ok(at)
    return at


def step_shown(at) -> tuple[int, int] | None:
    """(step, steps) from the "Step i of n" line, or None when no step is shown."""
    for m in at.markdown:
        found = re.match(r"\*\*Step (\d+) of (\d+):\*\*", m.value)
        if found:
            return int(found.group(1)), int(found.group(2))
    return None


def slider_step(at) -> int | None:
    found = [s for s in at.get("select_slider") if s.key == "step"]
    return int(found[0].value) if found else None


def chart(at, start: str) -> dict:
    found = [f for f in figures(at) if title(f).startswith(start)]
    assert len(found) == 1, (start, [title(f) for f in figures(at)])
    return found[0]


def titles(at) -> list[str]:
    return [title(f) for f in figures(at)]


def row_weights(at):
    """The one-head bar chart's weights (the new query's attention row)."""
    [fig] = [f for f in figures(at) if "looks" in title(f)]
    return decode(fig["data"][0]["y"]).ravel()


def sequence_text(at) -> str:
    return next(m.value for m in at.markdown if "so far:**" in m.value)


def reference_trace(name: str, text: str, **options):
    """The trace core computes for a shipped checkpoint, outside the app."""
    model, _ = load_checkpoint(row(name)["path"], "cpu")
    task = TASKS[row(name)["task"]]
    setup = task.decoding_setup(task.parse(text))
    if "max_new_tokens" in options:
        import dataclasses
        setup = dataclasses.replace(setup, max_new_tokens=options.pop("max_new_tokens"))
    return decode_trace(model, setup, **options), setup


def errors(at) -> list[str]:
    return [e.value for e in at.error]
