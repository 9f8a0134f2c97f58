"""A dates model that writes a day that does not exist is flagged next to its prediction (issue
12): the shipped models translate "30 February 2034" character by character into 2034-02-30,
and the explorer and the masked-decoding page say, beside the prediction, that it is no date
(and why); a real date gets no such warning. Task.answer_problem is the check both pages use.
"""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import ui.models
from core.tasks import TASKS

from app_helpers import APP, ok
from decoding_helpers import open_page, reference_trace, row, step_shown

IMPOSSIBLE, REAL = "30 February 2034", "22 November 2026"


@pytest.mark.parametrize("text, problem", [
    ("2026-11-22", None), ("2024-02-29", None), ("2026-11-22 1999-03-05", None),
    ("2034-02-30", "2034-02-30 is not a valid date (February 2034 has 28 days)"),
    ("2023-02-29", "2023-02-29 is not a valid date (February 2023 has 28 days)"),
    ("2031-13-01", "2031-13-01 is not a valid date (there is no month 13)"),
    ("2031-04-00", "2031-04-00 is not a valid date (there is no day 0)"),
    ("2031-4-1", "2031-4-1 is not a valid date (not written YYYY-MM-DD)"),
    ("2026-11-22 2031-06-31", "2031-06-31 is not a valid date (June 2031 has 30 days)"),
    ("", "no date at all"),
])
def test_answer_problem_names_what_is_wrong(text, problem):
    for name in ("dates", "dates_rnn"):
        got = TASKS[name].answer_problem(text)
        if problem is None:
            assert got is None
        else:
            assert got.startswith(problem), got


def test_tasks_without_a_check_flag_nothing():
    assert TASKS["reverse"].answer_problem("2034-02-30") is None


def explorer(name: str, text: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["model"], at.query_params["input"] = name, text
    at.switch_page("pages/explorer.py").run()
    ok(at)
    return at


def warnings(at) -> list[str]:
    return [w.value for w in at.warning]


@pytest.mark.parametrize("name", ["dates", "dates_rnn"])
def test_the_explorer_flags_an_impossible_date_beside_the_prediction(name):
    if not any(r["name"] == name and r["shipped"] for r in ui.models.checkpoints(("rnn",
                                                                               "seq2seq"))):
        pytest.skip(f"no shipped {name} checkpoint")
    at = explorer(name, IMPOSSIBLE)
    [pred] = [m.value for m in at.markdown if m.value.startswith("**Prediction:**")]
    assert "`2034-02-30`" in pred                     # what the shipped model writes
    assert any("2034-02-30 is not a valid date (February 2034 has 28 days)" in w
               for w in warnings(at)), warnings(at)
    at.text_input(key="input").input(REAL).run()
    ok(at)
    assert not any("not a valid date" in w for w in warnings(at)), warnings(at)


def test_the_decoding_page_flags_an_impossible_date_at_the_last_step():
    tr, _ = reference_trace("dates", IMPOSSIBLE)
    at = open_page(model="dates", input=IMPOSSIBLE, step=len(tr.steps))
    assert step_shown(at) == (len(tr.steps), len(tr.steps))
    assert any(w.startswith(r"The model wrote **2034\-02\-30**: 2034-02-30 is not a valid date "
                            "(February 2034 has 28 days)") for w in warnings(at)), warnings(at)
    real, _ = reference_trace("dates", REAL)
    at = open_page(model="dates", input=REAL, step=len(real.steps))
    assert step_shown(at)[0] == len(real.steps)
    assert not any("not a valid date" in w for w in warnings(at)), warnings(at)
