"""Inputs the attention explorer accepts are not refused by the masked-decoding page for the same
model (issue 13: the sine decoding page refused 100 values the explorer accepted, because its
box allowed only 4 × 100 + 16 characters).

For every decoding model (each shipped decoder and the encoder-decoder, and a small GPT-2) the
explorer page is fed the task's examples, its numbered held-out examples and, for the sine task,
those samples' 100 values pasted as people paste them (commas, spaces, newlines, many digits);
every input the explorer accepts must then decode on the decoding page.
"""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import ui.pretrained
from core.tasks import TASKS

from app_helpers import APP, ok
from decoding_helpers import errors, row, step_shown
from pretrained_helpers import gpt2_folder

OLD_SINE_LIMIT = 4 * 100 + 16          # the decoding box's former limit for the sine task


def pasted(values, sep: str, fmt: str) -> str:
    return sep.join(format(v, fmt) for v in values)


def inputs_of(task) -> list[str]:
    """The task's examples, numbered examples and (for a real-valued task) pasted values."""
    found = list(task.examples)
    fixed = task.fixed_examples()
    if fixed is not None:
        numbers = sorted({0, 1, len(fixed) // 2, len(fixed) - 1})
        found += [fixed.input(i) for i in numbers]
        sample = getattr(task, "sample", None)
        if sample is not None:
            for i, (sep, fmt) in zip(numbers, [(", ", ".12g"), (" ", ".4f"), ("\n", ".6f"),
                                               (",", ".17g")]):
                found.append(pasted(sample(i)[0], sep, fmt))
    return list(dict.fromkeys(found))


def page(name: str, session: dict, model: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=90)
    for key, value in session.items():
        at.session_state[key] = value
    at.query_params["model"] = model
    at.switch_page(f"pages/{name}.py").run()
    ok(at)
    assert at.selectbox(key="model").value == model
    return at


def accepted(at, text: str) -> bool:
    at.text_input(key="input").input(text).run()
    ok(at)
    return not errors(at)


@pytest.mark.parametrize("name", ["reverse", "addition", "dates", "sine"])
def test_what_the_explorer_accepts_decodes(name):
    row(name)
    check(name, {}, TASKS[name])


def test_what_the_explorer_accepts_decodes_on_gpt2(tmp_path):
    from core.pretrained import load_pretrained
    from core.pretrained.tasks import task_for
    folder = gpt2_folder(tmp_path / "same-gpt2")
    ui.pretrained._listed.clear()
    task = task_for(load_pretrained(str(folder)))
    check(folder.name, {"pretrained_folders": [str(folder)]}, task,
          extra=["a", " leading space", "tabs\tand\nnewlines", "word " * 20])
    ui.pretrained._listed.clear()


def check(model: str, session: dict, task, extra=()) -> None:
    texts = inputs_of(task) + list(extra)
    explorer = page("explorer", session, model)
    ok_there = [t for t in texts if accepted(explorer, t)]
    assert ok_there == texts, [t[:40] for t in texts if t not in ok_there]   # all are valid
    if task.fixed_examples() is not None and getattr(task, "sample", None) is not None:
        assert max(len(t) for t in ok_there) > OLD_SINE_LIMIT      # the case of the issue
    decoding = page("decoding", session, model)
    for text in ok_there:
        assert accepted(decoding, text), (text[:60], errors(decoding))
        assert step_shown(decoding) is not None
