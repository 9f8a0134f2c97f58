"""The masked-decoding page against hostile input, table-driven through AppTest: every URL
parameter it binds or reads, its text box on every decoding model (shipped and GPT-2), the sine
sample number, remembered settings from an old session, a memory budget too small for the run,
and a run that dies of an unexpected error. Never a traceback; a clear message where an input is
refused; the page (and the session) goes on.
"""
from __future__ import annotations

import pytest

import ui.decoding.controls
from core.checkpoints import load_checkpoint
from core.tasks import TASKS
import ui.decoding.teacher
import ui.pretrained

from app_helpers import ok
from decoding_helpers import errors, open_page, row, step_shown, titles
from pretrained_helpers import gpt2_folder

JUNK = {"empty": "", "space": "   ", "inf": "inf", "-inf": "-inf", "nan": "nan",
        "1e309": "1e309", "negative": "-7", "huge": "99999999999999999999", "text": "abc",
        "fraction": "2.5", "long": "9" * 5000, "control": "\x00\x07\x1b[31m", "unicode": "☃🙂ß",
        "html": "<script>alert(1)</script>"}
NUMERIC = ("step", "layer", "head", "dec_temp", "dec_topk", "dec_topp", "dec_seed", "dec_len")
CHOICES = ("dec_mode", "dec_view", "model", "presenter")
TEXTS = {"empty": "", "whitespace": " \t\n ", "long": "7" * 7000, "out-of-vocabulary": "§§§ ☃",
         "non-ascii": "日本語 ünïcödé", "control": "1\x002\x073", "nan-inf": "nan inf -inf",
         "negative": "-5 -3", "huge-number": "9" * 900, "html": "<b>1</b>"}


def shows_a_step_or_a_message(at) -> None:
    """The page either decodes (a step is shown) or says why not (a non-empty error)."""
    ok(at)
    if step_shown(at) is None:
        assert errors(at) and all(len(e) > 10 for e in errors(at)), errors(at)


# ----------------------------------------------------------------------------- URL parameters
@pytest.mark.parametrize("junk", list(JUNK), ids=list(JUNK))
def test_junk_in_every_numeric_and_choice_parameter_is_ignored(junk):
    """Every parameter carries the junk at once: none may raise, each widget falls back to a
    valid value, and the page still decodes."""
    row("reverse")
    value = JUNK[junk]
    at = open_page(**{k: value for k in NUMERIC + CHOICES})
    assert step_shown(at) is not None, errors(at)
    assert at.slider(key="dec_temp").value >= 0.1 and at.slider(key="dec_topp").value >= 0.05
    assert 0 <= at.slider(key="dec_seed").value <= 999
    assert at.radio(key="dec_mode").value in ("greedy", "sample")
    assert at.selectbox(key="model").value in at.selectbox(key="model").options


@pytest.mark.parametrize("junk", ["   ", "\x00", "9" * 5000, "<img src=x>", "§§§"],
                         ids=["space", "nul", "long", "html", "symbols"])
def test_junk_in_the_input_parameter_gets_a_message(junk):
    at = open_page(model="reverse", input=junk)
    shows_a_step_or_a_message(at)
    assert step_shown(at) is None


def test_an_empty_input_parameter_is_ignored():
    at = open_page(model="reverse", input="")
    assert at.text_input(key="input").value and step_shown(at) is not None


@pytest.mark.parametrize("param", NUMERIC)
@pytest.mark.parametrize("value", ["inf", "99999999999"])
def test_each_numeric_parameter_alone(param, value):
    at = open_page(model="addition", **{param: value})
    assert step_shown(at) is not None and not errors(at)


# ----------------------------------------------------------------------------- the text box
@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    return gpt2_folder(tmp_path_factory.mktemp("gpt2") / "hostile-gpt2")


@pytest.mark.parametrize("model", ["reverse", "addition", "dates", "sine", "gpt2"])
def test_every_hostile_text_on_every_decoding_model(model, gpt2):
    """One session per model, every hostile text typed in turn: a step or a message each time,
    and the page still decodes a good input afterwards."""
    session = {}
    if model == "gpt2":
        ui.pretrained._listed.clear()
        session, model = {"pretrained_folders": [str(gpt2)]}, gpt2.name
    else:
        row(model)
    at = open_page(session, model=model)
    good = at.text_input(key="input").value
    for name, text in TEXTS.items():
        at.text_input(key="input").input(text).run()
        shows_a_step_or_a_message(at)
        if name in ("empty", "whitespace", "long"):
            assert step_shown(at) is None, name
    at.text_input(key="input").input(good).run()
    assert step_shown(at) is not None and not errors(at)


def test_the_sine_sample_number_stays_in_range():
    at = open_page(model="sine")
    for value in (0, 49, 17):
        at.number_input(key="dec_sample").set_value(value).run()
        ok(at)
        assert at.text_input(key="input").value == str(value) and step_shown(at) is not None
    for bad in (10**12, -3):                         # an old session's value
        at.session_state["dec_sample"] = bad
        at.run()
        ok(at)
        assert 0 <= at.number_input(key="dec_sample").value <= 49


def test_remembered_settings_from_an_old_session_are_clamped():
    at = open_page(model="reverse")
    for values in ((float("nan"), float("inf"), -(10**20), "x", 10**40),
                   (float("-inf"), 7.0, 10**9, None, -1)):
        for key, v in zip(("dec_temp", "dec_topp", "dec_seed", "dec_topk", "dec_len"), values):
            at.session_state[key] = v
        at.session_state["step"] = values[0]
        at.session_state["dec_mode"] = "sample"
        at.run()
        ok(at)
        assert 0.1 <= at.slider(key="dec_temp").value <= 3.0
        assert 0.05 <= at.slider(key="dec_topp").value <= 1.0
        assert 0 <= at.slider(key="dec_seed").value <= 999
        assert step_shown(at) is not None and not errors(at)


# ----------------------------------------------------------------------------- cost and failures
def test_a_run_over_the_memory_budget_is_refused_with_the_figures(monkeypatch):
    """A limit between the model's own size (so it loads) and what decoding needs."""
    model, _ = load_checkpoint(row("reverse")["path"], "cpu")
    setup = TASKS["reverse"].decoding_setup(TASKS["reverse"].parse("2718"))
    need = ui.decoding.controls.run_cost(model, setup, setup.max_new_tokens)
    limit_mb = (need.parameter_bytes + need.total) / 2 / 1e6
    monkeypatch.setenv("ATTNVIZ_MEMORY_LIMIT_MB", f"{limit_mb:.6f}")
    at = open_page(model="reverse", input="2718")
    assert step_shown(at) is None
    [message] = errors(at)
    assert "needs about" in message and "the limit is" in message and "length limit" in message
    monkeypatch.delenv("ATTNVIZ_MEMORY_LIMIT_MB")
    at.run()
    assert step_shown(at) is not None and not errors(at)


def test_an_unexpected_error_ends_the_run_with_a_message_and_the_page_goes_on(monkeypatch):
    real = ui.decoding.controls.decode_trace

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA error: device-side assert triggered")

    monkeypatch.setattr(ui.decoding.controls, "decode_trace", broken)
    at = open_page(model="reverse", input="97531")
    [message] = errors(at)
    assert "compute device" in message and "reference" in message
    monkeypatch.setattr(ui.decoding.controls, "decode_trace", real)
    at.run()                                           # the same session decodes again
    assert step_shown(at) is not None and not errors(at)


def test_teacher_forcing_out_of_memory_is_a_message(monkeypatch):
    def oom(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(ui.decoding.teacher, "teacher_forcing", oom)
    at = open_page(model="reverse", dec_view="Teacher forcing")
    assert any("ran out of memory" in e for e in errors(at))
    assert not any(t.startswith("teacher forcing") for t in titles(at))
