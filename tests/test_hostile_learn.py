"""Hostile input on the Learn pages (attention math, positional encodings, inside a
transformer), table-driven through Streamlit's AppTest: every URL parameter they bind or read,
every text box, the editable Q/K/V tables and the number boxes, given empty, whitespace, very
long, out-of-vocabulary, non-ASCII, control-character, NaN/inf, negative and huge values. Never
a traceback; a clear message where an input is refused; the memory budget and safe_run where a
model or a measurement runs.

Not covered, by design: a forged websocket message giving an integer number box NaN or inf
makes Streamlit's own deserializer raise before any page code runs (the browser's box cannot
send such a value); that run ends, the server and other sessions go on.
"""
from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.saturation import DIMS
from ui.learn.block import block_label

from app_helpers import APP, decode, figures, ok, title

JUNK = {"empty": "", "spaces": "   ", "inf": "inf", "minus-inf": "-inf", "1e309": "1e309",
        "nan": "nan", "negative": "-5", "huge": "9" * 40, "fraction": "2.5", "text": "abc",
        "long": "x" * 5000, "control": "\x00\x07\x1b[2J\r\n", "non-ascii": "日本語 ñ ١٢٣ 🙂",
        "path": "../../etc/passwd"}
URL_PARAMS = {"attention_math.py": ("sat_d", "presenter", "theme"),
              "positional.py": ("pe_n", "pe_d", "model", "presenter", "theme"),
              "transformer.py": ("block", "input", "model", "presenter", "theme")}
MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def open_with(page: str, **params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(f"pages/{page}").run()
    return at


def no_traceback(at) -> None:
    """No exception element, and no message that shows code or server paths."""
    ok(at)
    for el in list(at.error) + list(at.warning) + list(at.info):
        text = str(el.value)
        assert "Traceback" not in text and 'File "/' not in text, text
        assert "site-packages" not in text and "/work/" not in text, text


def plain(fig) -> str:
    return title(fig).replace("<br>", " ")


def shown(at, start: str) -> list[dict]:
    return [f for f in figures(at) if plain(f).startswith(start)]


def sizes_shown(at) -> bool:
    """The model-size chart: titled by GPT-3's ratio to our largest usable model, or (when no
    shipped model is usable, as under a tiny memory limit) by what it shows."""
    return bool(shown(at, "GPT-3 has") or shown(at, "transformer sizes, published and ours"))


# ----------------------------------------------------------------------------- URL junk
@pytest.mark.parametrize("kind", list(JUNK))
@pytest.mark.parametrize("page", list(URL_PARAMS))
def test_junk_in_every_url_parameter_is_ignored_or_clamped(page, kind):
    at = open_with(page, **{p: JUNK[kind] for p in URL_PARAMS[page]})
    no_traceback(at)
    assert at.sidebar.toggle(key="presenter").value is False       # only "true" turns it on
    assert at.sidebar.button_group(key="theme").value is None      # only light / dark count
    if page == "attention_math.py":
        d = at.select_slider(key="sat_d").value
        assert d in DIMS
        assert len(shown(at, f"softmax(q·k), d = {d}")) == 1       # content follows the widget
    elif page == "positional.py":
        n, d = at.number_input(key="pe_n").value, at.slider(key="pe_d").value
        assert 1 <= n <= 2048 and 4 <= d <= 512
        z = decode(shown(at, "sinusoidal encoding")[0]["data"][0]["z"])
        assert z.shape == (n, d - d % 2)
        if kind in ("negative", "huge", "fraction"):                # a number: clamped, said so
            assert any("became" in t.proto.body for t in at.toast)
        elif kind not in ("spaces",):
            assert n == 20 and any("ignored" in t.proto.body for t in at.toast)
        model = at.selectbox(key="model")                  # the learned-table tab's picker
        assert model.value == model.options[0]
    else:
        assert at.selectbox(key="model").value == at.selectbox(key="model").options[0]
        block = at.selectbox(key="block")                  # options are the shown labels
        assert block_label(block.value) in block.options
        # the junk input is refused with a message, or (if the task reads it) traced
        assert at.error or shown(at, "inside a")


# ----------------------------------------------------------------------------- text box
@pytest.mark.parametrize("kind", list(JUNK))
@pytest.mark.parametrize("model", ["addition", MINILM])
def test_junk_in_the_block_input_gives_a_message(model, kind):
    at = open_with("transformer.py", model=model)
    no_traceback(at)
    at.text_input(key="input").input(JUNK[kind]).run()
    no_traceback(at)
    if at.error:
        assert len(at.error[0].value) > 10
        assert not shown(at, "inside a")
    else:                                   # accepted: the figures are of this input
        assert shown(at, "inside a") and shown(at, "how much each sub-layer")
    assert sizes_shown(at)            # the rest of the page stands either way


# ----------------------------------------------------------------------------- Q, K, V cells
CELLS = {"nan": float("nan"), "inf": float("inf"), "minus-inf": float("-inf"),
         "huge": 1e309, "too-big": 1e6, "negative-big": -101.0, "none": None, "text": "abc",
         "empty": "", "spaces": "   ", "control": "\x00\x1b", "long": "7" * 5000,
         "non-ascii": "日本", "inf-text": "inf", "nan-text": "NaN"}


@pytest.mark.parametrize("kind", list(CELLS))
def test_a_junk_cell_in_q_k_or_v_is_named_and_refused(kind):
    at = open_with("attention_math.py")
    for table, name in ((0, "Q"), (1, "K"), (2, "V")):
        key = at.data_editor[table].key
        at.session_state[key] = {"edited_rows": {"1": {"d2": CELLS[kind]}}, "added_rows": [],
                                 "deleted_rows": []}
        at.run()
        no_traceback(at)
        assert at.error, kind
        message = at.error[0].value
        assert message.startswith(f"{name}: cell (t1, d2)") and "finite number" in message
        assert len(message) < 300                          # a long cell is quoted cut short
        assert not shown(at, "A = softmax")
        assert shown(at, "head 0: A")                      # the other sections still draw
        at.session_state[key] = {"edited_rows": {}, "added_rows": [], "deleted_rows": []}


def test_added_or_deleted_rows_are_refused_with_the_expected_shape():
    at = open_with("attention_math.py")
    key = at.data_editor[1].key
    at.session_state[key] = {"edited_rows": {}, "added_rows": [{"d0": 1.0}],
                             "deleted_rows": []}
    at.run()
    no_traceback(at)
    assert any("K must be 4×3" in e.value for e in at.error) or shown(at, "A = softmax")


# ----------------------------------------------------------------------------- number boxes
NUMBERS = [-5, 0, 10**12, 2.5]
BOXES = {"attention_math.py": ["math_seed"],
         "positional.py": ["pe_simpos", "rope_count", "rope_pair_16", "order_n", "order_d",
                           "order_seed"]}


@pytest.mark.parametrize("page", list(BOXES))
def test_out_of_range_numbers_in_every_box(page):
    at = open_with(page)
    for key in BOXES[page]:
        box = at.number_input(key=key)
        for value in NUMBERS:
            at.number_input(key=key).set_value(value).run()
            no_traceback(at)
            now = at.number_input(key=key).value
            assert box.min <= now <= box.max, (key, value, now)


def test_no_dimension_to_draw_says_so():
    at = open_with("positional.py")
    at.multiselect(key="pe_dims_16").set_value([]).run()
    no_traceback(at)
    assert any("Pick at least one dimension" in i.value for i in at.info)


# ----------------------------------------------------------------------------- budget, safe_run
def test_the_cost_measurement_is_refused_above_the_memory_limit(monkeypatch):
    monkeypatch.setenv("ATTNVIZ_MEMORY_LIMIT_MB", "50")
    at = open_with("attention_math.py")
    at.selectbox(key="cost_max").set_value(4096)
    at.button(key="cost_run").click().run()
    no_traceback(at)
    [message] = [e.value for e in at.error]
    assert message.startswith("Timing N = 4,096 needs about") and "the limit is 50 MB" in message
    assert not shown(at, "attention cost")


def test_a_failing_measurement_ends_with_a_message(monkeypatch):
    import ui.learn.cost

    def broken(*a, **k):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")
    monkeypatch.setattr(ui.learn.cost, "attention_cost", broken)
    at = open_with("attention_math.py")
    at.button(key="cost_run").click().run()
    no_traceback(at)
    assert any(e.value.startswith("The cost measurement") and "reference" in e.value
               for e in at.error)
    assert shown(at, "head 0: A")


def test_a_block_over_the_memory_limit_is_refused(monkeypatch):
    monkeypatch.setenv("ATTNVIZ_MEMORY_LIMIT_MB", "0.01")
    at = open_with("transformer.py")
    no_traceback(at)
    [message] = [e.value for e in at.error]
    assert message.startswith("This input needs about") and "the limit is" in message
    assert not shown(at, "inside a") and sizes_shown(at)


def test_a_block_run_that_runs_out_of_memory_ends_with_a_message(monkeypatch):
    import ui.learn.block

    def oom(*a, **k):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    monkeypatch.setattr(ui.learn.block, "trace_task", oom)
    at = open_with("transformer.py", input="58+67")
    no_traceback(at)
    assert any("ran out of memory" in e.value for e in at.error), [e.value for e in at.error]
    assert sizes_shown(at)
    monkeypatch.undo()
    at.text_input(key="input").input("7+5").run()               # the session goes on
    no_traceback(at)
    assert shown(at, "inside a")
