"""The masked-decoding page, driven through Streamlit's AppTest as a user would.

Every shipped decoder / encoder-decoder checkpoint opens; Next and Back move one token (the new
query's attention row grows and shrinks by one key); End reaches the last step and says why
generation stopped; seeded sampling repeats; bad input gives a message, never a traceback; the
decoding settings stay inside their bounds whatever session state says.
ATTNVIZ_TEST_CHECKPOINTS=folder runs the suite against another checkpoint folder.
"""
from __future__ import annotations

import base64
import os
from pathlib import Path

import numpy as np
import pytest

import ui.models
from core.tasks import TASKS

from app_helpers import APP, ok, title
from app_helpers import figures as charts

KINDS = ("decoder", "seq2seq")
if os.environ.get("ATTNVIZ_TEST_CHECKPOINTS"):
    ui.models.CHECKPOINT_DIR = Path(os.environ["ATTNVIZ_TEST_CHECKPOINTS"])
ROWS = [r for r in ui.models.checkpoints(KINDS) if r["shipped"]]
NAMES = [r["name"] for r in ROWS] or [pytest.param("none", marks=pytest.mark.skip(
    reason=f"no shipped decoder checkpoint in {ui.models.CHECKPOINT_DIR}"))]
TOKEN_MODELS = [r["name"] for r in ROWS if r["name"] != "sine"]
# A token model to step through: reverse writes one digit per step, so the steps are easy to read.
STEPPER = next((n for n in ("reverse", "addition", "dates") if n in TOKEN_MODELS),
               TOKEN_MODELS[0] if TOKEN_MODELS else None)


@pytest.fixture(scope="module")
def at():
    """One page session shared by the tests (each sets the model, input and settings it needs)."""
    if not ROWS:
        pytest.skip(f"no shipped checkpoint in {ui.models.CHECKPOINT_DIR}")
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    return at.switch_page("pages/decoding.py").run()


def row_length(at) -> int:
    """Keys in the new query's attention row (the one-head bar chart)."""
    [fig] = [f for f in charts(at) if "looks" in title(f)]
    x = fig["data"][0]["x"]
    if isinstance(x, dict):                  # plotly 7: {"dtype", "bdata"[, "shape"]}
        return np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"]).size
    return len(x)


def sequence_text(at) -> str:
    return next(m.value for m in at.markdown if "so far:" in m.value)


def use(at, name: str, text: str | None = None, **settings):
    """Pick a model, an input (the task's first example unless given) and decoding settings
    (greedy unless dec_mode says otherwise)."""
    if not ROWS or name is None:
        pytest.skip("no shipped token decoder")
    at.selectbox(key="model").set_value(name).run()
    at.session_state["dec_view"] = "Step by step"
    at.session_state["dec_mode"] = "greedy"
    for key, value in settings.items():
        at.session_state[key] = value
    at.text_input(key="input").input(TASKS[name].examples[0] if text is None else text)
    at.run()
    ok(at)
    return at


def to_end(at):
    """Press End (disabled, as in a browser, when already at the last step)."""
    if at.session_state["step"] < n_steps(at):
        at.button(key="dec_end").click().run()
    ok(at)
    return at


def n_steps(at) -> int:
    try:
        return len(at.select_slider(key="step").options)
    except KeyError:                     # no step slider drawn
        return 1


# ----------------------------------------------------------------------------- opening
@pytest.mark.parametrize("name", NAMES)
def test_opens_on_every_checkpoint(at, name):
    use(at, name)
    assert not at.error, [e.value for e in at.error]
    titles = [title(f) for f in charts(at)]
    assert any(t.startswith("causal mask") for t in titles), titles
    assert any("looks" in t for t in titles), titles
    row = next(r for r in ROWS if r["name"] == name)
    if row["kind"] == "seq2seq":
        assert any(t.startswith("cross-attention") for t in titles), titles
    assert any(c.value.startswith("KV cache check") and "✓" in c.value for c in at.caption)
    at.session_state["dec_view"] = "Teacher forcing"
    at.run()
    ok(at)
    assert any(t.startswith("teacher forcing") for t in (title(f) for f in charts(at))) or at.info
    at.session_state["dec_view"] = "Step by step"
    at.run()


# ----------------------------------------------------------------------------- stepping
def test_next_and_back_move_one_token(at):
    use(at, STEPPER)
    if n_steps(at) < 3:
        pytest.skip("this input decodes in fewer than 3 steps")
    assert at.session_state["step"] == 1
    first = row_length(at)
    at.button(key="dec_next").click().run()
    ok(at)
    assert at.session_state["step"] == 2 and row_length(at) == first + 1
    at.button(key="dec_next").click().run()
    assert at.session_state["step"] == 3 and row_length(at) == first + 2
    at.button(key="dec_back").click().run()
    assert at.session_state["step"] == 2 and row_length(at) == first + 1
    at.select_slider(key="step").set_value(1).run()
    assert row_length(at) == first and "Step 1 of" in " ".join(m.value for m in at.markdown)


def test_end_reaches_the_last_step_and_says_why_it_stopped(at):
    use(at, STEPPER)
    assert at.session_state["step"] == 1 and not at.button(key="dec_end").disabled
    at.button(key="dec_end").click().run()
    ok(at)
    n = n_steps(at)
    assert at.session_state["step"] == n
    said = [s.value for s in at.success] + [i.value for i in at.info]
    assert any("end-of-sequence" in s or "length limit" in s for s in said), said
    # a length limit of 2 new tokens stops there, and says so
    use(at, STEPPER, dec_len=2)
    to_end(at)
    assert n_steps(at) == 2 and at.button(key="dec_end").disabled
    assert any("length limit" in i.value for i in at.info)
    use(at, STEPPER, dec_len=1000)                          # back to the task's own limit


def test_seeded_sampling_repeats(at):
    def tokens(seed):
        use(at, STEPPER, dec_len=1000, dec_mode="sample", dec_temp=3.0, dec_seed=seed)
        return sequence_text(to_end(at))

    first, other, again = tokens(7), tokens(8), tokens(7)
    assert first == again
    assert isinstance(other, str)                           # another seed may differ (or not)
    at.session_state["dec_mode"] = "greedy"
    at.run()


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("text", ["", "§§§ not valid ☃", "9" * 900],
                         ids=["empty", "wrong-characters", "huge"])
def test_bad_input_shows_an_error(at, text):
    for name in TOKEN_MODELS[:2] or [None]:
        use(at, name)
        at.text_input(key="input").input(text).run()
        ok(at)
        assert at.error, (name, text)
        assert not [f for f in charts(at) if "looks" in title(f)]


def test_settings_are_clamped_to_their_bounds(at):
    """Out-of-range values (as a URL or an old session could hold) end inside the widgets'
    bounds: temperature 0.1..3, top-k 0..vocabulary size, top-p 0.05..1, step 1..steps."""
    for temp, top_k, top_p, seed, step in ((50.0, 10**9, 0.0, -5, 999),
                                           (-1.0, -3, 7.0, 2**40, -4)):
        use(at, STEPPER, dec_mode="sample", dec_temp=temp, dec_topk=top_k, dec_topp=top_p,
            dec_seed=seed, step=step)
        assert not at.error, [e.value for e in at.error]
        assert 0.1 <= at.slider(key="dec_temp").value <= 3.0
        assert 0.05 <= at.slider(key="dec_topp").value <= 1.0
        k = at.select_slider(key="dec_topk")
        assert int(k.value) in (0, 1, 2, 3, 5, 10, 20)      # stops up to the vocabulary size
        s = at.slider(key="dec_seed")
        assert s.min == 0 and 0 <= s.value <= s.max
        assert 1 <= at.session_state["step"] <= n_steps(at)
    use(at, STEPPER, dec_temp=1.0, dec_topk=0, dec_topp=1.0, dec_seed=0)
