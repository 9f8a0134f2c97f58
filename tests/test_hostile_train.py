"""Hostile input on the Train page, table-driven through Streamlit's AppTest: every URL parameter
the page reads (?task=, and the shared ?presenter= / ?theme=), every number box typed out of
range, and every remembered setting replaced by junk (a stale or forged session: NaN, inf,
1e309, negative, huge, text, empty, None, a bool). Never a traceback: junk is ignored (the
default comes back) or clamped into the box's range, and the page still offers Start.

Not covered, by design: a forged websocket message giving an integer number box NaN or inf
makes Streamlit's own deserializer raise before any page code runs (the browser's box cannot
send such a value); that run ends, the server and other sessions go on.
"""
from __future__ import annotations

import math

import pytest
from streamlit.testing.v1 import AppTest

from core.tasks import TASKS
from ui.train.architecture import Range
from ui.train.controls import defaults

from app_helpers import APP, ok

JUNK = {"empty": "", "spaces": "   ", "inf": "inf", "minus-inf": "-inf", "1e309": "1e309",
        "nan": "nan", "negative": "-5", "huge": "9" * 40, "fraction": "2.5", "text": "abc",
        "long": "x" * 5000, "control": "\x00\x07\x1b[2J\r\n", "non-ascii": "日本語 ñ 🙂",
        "path": "../../etc/passwd", "other-case": "SORT", "padded": " dates "}
VALUES = {"nan": float("nan"), "inf": float("inf"), "minus-inf": float("-inf"),
          "1e309": 1e309, "negative": -5, "zero": 0, "huge": 10**40, "fraction": 2.5,
          "text": "abc", "empty": "", "none": None, "bool": True, "list": [3]}
TINY = {"train_w_sort.layers": 1, "train_w_sort.d_model": 16, "train_w_sort.batch": 16}


def open_train(params=None, session=None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in {**TINY, **(session or {})}.items():
        at.session_state[key] = value
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.switch_page("pages/train.py").run()
    no_traceback(at)
    return at


def no_traceback(at) -> None:
    """No exception element, and no message that shows code or server paths."""
    ok(at)
    for el in list(at.error) + list(at.warning) + list(at.info):
        text = str(el.value)
        assert "Traceback" not in text and 'File "/' not in text, text
        assert "site-packages" not in text and "/work/" not in text, text


def task_shown(at) -> str:
    return at.selectbox(key="train_w_task").value


# ----------------------------------------------------------------------------- URL junk
@pytest.mark.parametrize("kind", list(JUNK))
def test_junk_in_every_url_parameter_is_ignored(kind):
    at = open_train({"task": JUNK[kind], "presenter": JUNK[kind], "theme": JUNK[kind]})
    assert task_shown(at) == "sort"                             # the first task
    assert at.query_params["task"] in ("sort", ["sort"])        # the link says what is shown
    assert at.sidebar.toggle(key="presenter").value is False    # only "true" turns it on
    assert not at.button[0].disabled                            # Start is offered


@pytest.mark.parametrize("name", [n for n, t in TASKS.items() if t.trains])
def test_a_link_opens_on_its_task(name):
    task = TASKS[name]
    small = {"rnn": dict(d_emb=8, d_hidden=16, d_attn=16)}.get(task.kind,
                                                                dict(layers=1, d_model=16))
    at = open_train({"task": name}, {f"train_w_{name}.{k}": v
                                     for k, v in {**small, "batch": 16}.items()})
    assert task_shown(at) == name


# ----------------------------------------------------------------------------- number boxes
BOXES = ["layers", "heads", "steps", "lr", "batch", "seed"]
TYPED = [-5, 0, 10**12, 2.5, 1e-9, 7]


@pytest.mark.parametrize("field", BOXES)
def test_out_of_range_numbers_in_every_box_are_clamped(field):
    at = open_train()
    key = f"train_w_sort.{field}"
    box = at.number_input(key=key)
    for value in TYPED:
        at.number_input(key=key).set_value(value).run()
        no_traceback(at)
        now = at.number_input(key=key).value
        assert box.min <= now <= box.max, (field, value, now)
        if box.min <= value <= box.max and (field == "lr" or float(value).is_integer()):
            assert now == pytest.approx(value)                   # a fine value is kept


def test_an_infinite_learning_rate_typed_is_clamped_or_refused():
    at = open_train()
    for value in (float("inf"), float("-inf"), 1e309):
        at.number_input(key="train_w_sort.lr").set_value(value).run()
        no_traceback(at)
        now = at.number_input(key="train_w_sort.lr").value
        assert math.isfinite(now) and 1e-4 <= now <= 0.1


# ----------------------------------------------------------------------------- remembered junk
@pytest.mark.parametrize("name, kind", [("sort", k) for k in VALUES] + [
    ("dates_rnn", k) for k in ("nan", "huge", "text", "bool")])   # the GRU's fields too
def test_junk_remembered_in_every_setting_is_replaced(name, kind):
    """Every setting of the task (architecture and schedule) holding junk at once, as a stale
    or forged session could: the page draws, each widget holds its default or a clamped value
    inside its range, and Start is offered."""
    task = TASKS[name]
    fields = defaults(task)
    session = {f"train_w_{name}.{f}": VALUES[kind] for f in fields}
    at = open_train({"task": name}, session)
    assert task_shown(at) == name
    for field, (default, allowed) in fields.items():
        value = at.session_state[f"train_w_{name}.{field}"]
        if isinstance(allowed, Range):
            assert allowed.lo <= value <= allowed.hi, (field, value)
            assert math.isfinite(value)
        else:
            assert value in allowed and type(value) is type(default), (field, value)
    assert not at.button[0].disabled


def test_a_remembered_task_that_no_longer_exists_falls_back():
    at = open_train(session={"train_w_task": "no_such_task"})
    assert task_shown(at) == "sort"
