"""The "From RNN to attention" page through Streamlit's AppTest: the GRU's alignment beside the
transformer's most focused cross-attention head on the typed date, the bottleneck figure measured
from the shipped checkpoints, a clear message for bad input, and URL parameters that junk
cannot break."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from core.checkpoints import load_checkpoint
from core.tasks import TASKS
from core.tasks.dates_rnn import accuracy_by_dates

from app_helpers import APP, decode, figures, ok, title

CKPT = APP.parent / "checkpoints"
JUNK = {"empty": "", "spaces": "   ", "long": "x" * 5000, "control": "\x00\x07\x1b[2J\r\n",
        "non-ascii": "日本語 ñ 🙂", "path": "../../etc/passwd", "nan": "nan", "huge": "9" * 40}


def open_page(**params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=180)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("pages/rnn.py").run()
    return at


def maps(at) -> list[dict]:
    return [f for f in figures(at) if f["data"] and f["data"][0]["type"] == "heatmap"]


def no_traceback_text(at) -> None:
    ok(at)
    for el in list(at.error) + list(at.warning) + list(at.info):
        text = str(el.value)
        assert "Traceback" not in text and "/work/" not in text, text


def test_alignment_maps_side_by_side_with_the_best_head_named():
    at = open_page(input="22 November 2026")
    ok(at)
    assert at.title[0].value == "From RNN to attention"
    gru, tf = maps(at)
    assert title(gru).startswith("GRU + additive attention wrote 2026-11-22")
    assert "cross-attention head" in title(tf) and "2026-11-22" in title(tf)
    w = decode(gru["data"][0]["z"])                                       # (Tq, Ts)
    assert w.shape == (11, 16)
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-5)
    # the year digits are read from the year (the last four source characters)
    assert w[:4, -4:].sum(1).min() > 0.5
    # the transformer's map is the head the statistic chooses, and the caption says so
    assert any("most focused cross-attention head" in c.value for c in at.caption)
    for f in (gru, tf):            # square cells: the y axis is anchored to the x axis
        assert f["layout"]["yaxis"]["scaleanchor"] == "x"


def test_bottleneck_figure_is_the_measured_accuracy_of_the_shipped_models():
    at = open_page()
    ok(at)
    fig = [f for f in figures(at) if title(f).startswith("Exact match of the shipped GRUs")]
    assert len(fig) == 1
    att, fixed = fig[0]["data"]
    assert att["name"] == "with attention" and "without" in fixed["name"]
    model, _ = load_checkpoint(CKPT / "dates_rnn_noattn.safetensors", "cpu")
    from ui.learn.rnn import N_EACH, SEED
    with torch.no_grad():
        want = accuracy_by_dates(model, TASKS["dates_rnn"], N_EACH, SEED)
    np.testing.assert_allclose(decode(fixed["y"]), [100 * want[k][0] for k in (1, 2, 3)],
                               atol=1e-6)
    y_att, y_fixed = decode(att["y"]), decode(fixed["y"])
    assert y_att.min() > 90 and y_fixed[0] > 90 and y_fixed[-1] < y_fixed[0] - 30


def test_multi_date_input_shows_the_gru_and_says_why_the_transformer_cannot():
    at = open_page(input="22 nov 2026 and 5/3/1999")
    no_traceback_text(at)
    (gru,) = maps(at)
    assert title(gru).replace("<br>", " ").startswith(
        "GRU + additive attention wrote 2026-11-22 1999-03-05")
    assert any("transformer is not shown (this source lists several dates)" in i.value
               for i in at.info)


@pytest.mark.parametrize("text", ["", "   ", "22 November 2026 @@@",
                                  "<script>alert(1)</script>", "ß∂ƒ"])
def test_bad_input_gets_a_clear_message(text):
    at = open_page()
    at.text_input(key="input").set_value(text).run()
    no_traceback_text(at)
    assert not maps(at)
    assert any(e.value.startswith("Cannot read this input:") for e in at.error)


@pytest.mark.parametrize("kind", list(JUNK))
def test_junk_url_parameters_never_break_the_page(kind):
    at = open_page(**{param: JUNK[kind] for param in ("input", "presenter", "model")})
    no_traceback_text(at)
    assert at.title[0].value == "From RNN to attention"


def test_an_impossible_date_written_by_either_model_is_flagged():
    """Both shipped models write 2034-02-30 for "30 February 2034" (they write characters, not
    dates): the page says which model wrote what and why it is not a date; a real date gets no
    warning."""
    at = open_page(input="30 February 2034")
    ok(at)
    flagged = {w.value.split(":")[0] for w in at.warning if "not a valid date" in w.value}
    written = {"The GRU": TASKS["dates_rnn"], "The transformer": TASKS["dates"]}
    for who, task in written.items():
        model, _ = load_checkpoint(CKPT / f"{task.name}.safetensors", "cpu")
        wrote = task.predict(model, ["30 February 2034"])[0]
        assert (who in flagged) == (task.answer_problem(wrote) is not None), (who, wrote)
    assert flagged, "neither shipped model wrote an impossible date here any more"
    assert not [w for w in open_page(input="22 November 2026").warning
                if "not a valid date" in w.value]
