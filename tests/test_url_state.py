"""Shareable state: the model, input, layer, head (and each page's own view settings) are read
from the URL query string on open, written back as they change, and a bad value in a link is
ignored, never an exception. Driven through Streamlit's AppTest (`at.query_params` before run).
"""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import ui.models
from core.tasks import TASKS

from app_helpers import APP, ok


def rows(*kinds):
    return [r for r in ui.models.checkpoints(kinds) if r["shipped"]]


def open_with(page: str, **params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = str(value)
    at.switch_page(f"pages/{page}").run()
    ok(at)
    return at


def deepest(kinds, at_least=2, tokens_only=False):
    """A shipped checkpoint of these kinds with the most layers × heads (not the first one
    offered when possible, so the URL really chose it)."""
    found = [r for r in rows(*kinds)
             if not tokens_only or getattr(r["config"], "vocab_size", 1) > 0]
    if not found:
        pytest.skip(f"no shipped {kinds} checkpoint")
    later = found[1:] or found
    return max(later, key=lambda r: (r["config"].n_layers >= at_least, r["config"].n_heads))


# ----------------------------------------------------------------------------- the model
def test_the_url_selects_the_model():
    row = deepest(("encoder", "decoder", "seq2seq"))
    at = open_with("explorer.py", model=row["name"])
    assert at.selectbox(key="model").value == row["name"]


@pytest.mark.parametrize("bad", ["xyz", "", "../../etc/passwd", "<script>", "x" * 5000],
                         ids=["unknown", "empty", "path", "html", "huge"])
def test_an_unknown_model_falls_back_to_the_default(bad):
    if not rows("encoder", "decoder", "seq2seq"):
        pytest.skip("no checkpoint")
    at = open_with("explorer.py", model=bad)
    assert at.selectbox(key="model").value == at.selectbox(key="model").options[0]


def test_the_presenter_toggle_comes_from_the_url():
    at = open_with("home.py", presenter="true")
    assert at.sidebar.toggle(key="presenter").value is True
    at = open_with("home.py", presenter="maybe")
    assert at.sidebar.toggle(key="presenter").value is False


# ----------------------------------------------------------------------------- the explorer
def test_explorer_input_layer_head_and_view_from_the_url():
    # a token model: the real-valued sine model takes a sample picker, not example buttons
    row = deepest(("encoder", "decoder"), tokens_only=True)
    cfg, task = row["config"], TASKS[row["task"]]
    text = task.examples[-1]
    at = open_with("explorer.py", model=row["name"], input=text, layer=cfg.n_layers - 1,
                   head=cfg.n_heads - 1, view="All heads")
    assert at.text_input(key="input").value == text
    assert at.selectbox(key="layer").value == cfg.n_layers - 1
    assert at.selectbox(key="head").value == cfg.n_heads - 1
    assert at.session_state["view"] == "All heads"
    assert not at.error
    # A value the app sets (an example button) goes back into the URL, so a refresh or a
    # shared link reopens it. (A user's own edits are written by the browser, not the server:
    # the e2e tests see those.)
    at.button(key="example_0").click().run()
    ok(at)
    assert at.query_params.get("input") == task.examples[0]


def test_explorer_ignores_bad_values_in_the_url():
    row = deepest(("encoder", "decoder"))
    at = open_with("explorer.py", model=row["name"], layer=99, head=-1, module="bogus",
                   view="no such tab")
    assert at.selectbox(key="layer").value == 0 and at.selectbox(key="head").value == 0
    assert at.get("plotly_chart")                              # the view is drawn


@pytest.mark.parametrize("text", ["x" * 20000, "\x00\x1b[31m", "<img src=x onerror=alert(1)>"],
                         ids=["huge", "control", "html"])
def test_a_hostile_input_in_the_url_is_a_message(text):
    row = deepest(("encoder", "decoder"))
    at = open_with("explorer.py", model=row["name"], input=text)
    assert any("Cannot use this input" in e.value for e in at.error)


def test_a_huge_input_in_a_decoding_link_is_a_message():
    found = [r for r in rows("decoder", "seq2seq") if TASKS[r["task"]].decodes]
    if not found:
        pytest.skip("no decoder checkpoint")
    at = open_with("decoding.py", model=found[0]["name"], input="9" * 5000)
    assert any("Cannot decode this input" in e.value for e in at.error)


# ----------------------------------------------------------------------------- other pages
def test_decoding_input_step_layer_head_from_the_url():
    found = [r for r in rows("decoder", "seq2seq") if TASKS[r["task"]].decodes]
    if not found:
        pytest.skip("no decoder checkpoint")
    row = max(found, key=lambda r: (r["config"].n_layers, r["config"].n_heads))
    cfg, task = row["config"], TASKS[row["task"]]
    at = open_with("decoding.py", model=row["name"], input=task.examples[0], step=2,
                   layer=cfg.n_layers - 1, head=cfg.n_heads - 1)
    assert at.selectbox(key="model").value == row["name"]
    assert at.session_state["step"] == 2
    assert at.selectbox(key="layer").value == cfg.n_layers - 1
    assert at.selectbox(key="head").value == cfg.n_heads - 1
    at = open_with("decoding.py", model=row["name"], step=10**9, layer="x", head=99)
    assert 1 <= at.session_state["step"] and at.selectbox(key="head").value == 0


def test_vit_image_layer_head_and_query_from_the_url():
    found = rows("vit")
    if not found:
        pytest.skip("no vit checkpoint")
    row = found[-1]
    cfg = row["config"]
    at = open_with("vit.py", model=row["name"], image=3, layer=cfg.n_layers - 1,
                   head=cfg.n_heads - 1, query="patch 5")
    assert at.number_input(key="image").value == 3
    assert at.selectbox(key="layer").value == cfg.n_layers - 1
    assert at.selectbox(key="head").value == cfg.n_heads - 1
    assert at.selectbox(key="query").value == "patch 5"
    at = open_with("vit.py", model=row["name"], image=-4, query="patch 100000", layer="?")
    assert at.selectbox(key="query").value == "CLS"


def test_positional_size_from_the_url_and_bounded():
    at = open_with("positional.py", pe_n=64, pe_d=32)
    assert at.number_input(key="pe_n").value == 64 and at.slider(key="pe_d").value == 32
    at = open_with("positional.py", pe_n=10**9, pe_d="abc")
    assert 1 <= at.number_input(key="pe_n").value <= 2048
    assert at.slider(key="pe_d").value == 16
