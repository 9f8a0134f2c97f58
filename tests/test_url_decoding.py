"""The masked-decoding page opened from links: each URL parameter (model, input, step, layer,
head, dec_view and the decoding settings) shows CONTENT that agrees with it (the "Step i of n"
line, the query's row and mask, the figures' titles and data, the generated tokens), the widget
agrees too, and Next / a model change keep URL, widget and content together.

The page binds: model, input, step, layer, head, dec_view, dec_mode, dec_temp, dec_topk, dec_topp,
dec_seed, dec_len (and the shared presenter).
"""
from __future__ import annotations

import numpy as np
import pytest

from core.tasks import TASKS

from ui.decoding.tokens import chip

from app_helpers import decode, ok
from decoding_helpers import (chart, open_page, reference_trace, row, row_weights,
                              sequence_text, slider_step, step_shown, titles)

STEPPER = "reverse"                   # one digit a step: easy to read


def prompt_len(name: str, text: str) -> int:
    task = TASKS[row(name)["task"]]
    return task.decoding_setup(task.parse(text)).prompt.size(1)


# ----------------------------------------------------------------------------- step
@pytest.mark.parametrize("step", [1, 3, 5])
def test_a_step_link_opens_on_that_step(step):
    text = "31415"
    at = open_page(model=STEPPER, input=text, step=step)
    T0 = prompt_len(STEPPER, text)
    position = T0 - 1 + step - 1                       # the query of step `step`
    assert step_shown(at)[0] == step and slider_step(at) == step
    assert len(row_weights(at)) == position + 1        # it sees keys 0..position
    mask = chart(at, "causal mask")
    assert mask["layout"]["title"]["text"].startswith(f"causal mask: query {position} ")
    [outline] = mask["layout"]["shapes"]
    assert outline["y0"] == position - 0.5 and outline["y1"] == position + 0.5
    tr, _ = reference_trace(STEPPER, text)
    assert tr.steps[step - 1].label in sequence_text(at).rsplit("red-background", 1)[1]
    # Next goes on from the linked step, and the URL follows
    at.button(key="dec_next").click().run()
    ok(at)
    assert step_shown(at)[0] == step + 1 == slider_step(at)
    assert at.query_params["step"] == str(step + 1)
    assert len(row_weights(at)) == position + 2


def test_a_new_model_resets_the_step_in_slider_url_and_content():
    at = open_page(model=STEPPER, step=4)
    assert step_shown(at)[0] == 4
    other = "addition" if row("addition") else "dates"
    at.selectbox(key="model").set_value(other).run()
    ok(at)
    assert step_shown(at)[0] == 1 and slider_step(at) == 1
    assert "step" not in at.query_params                # step 1 is the default: no parameter
    at.button(key="dec_next").click().run()
    ok(at)
    assert step_shown(at)[0] == 2 == slider_step(at)
    assert at.query_params["step"] == "2"


def test_a_step_past_the_end_or_junk_shows_step_one():
    for bad in ("999", "0", "-2", "inf", "x"):
        at = open_page(model=STEPPER, step=bad)
        assert step_shown(at)[0] == 1 == slider_step(at), bad


def test_the_step_survives_a_visit_to_the_teacher_forcing_tab():
    at = open_page(model=STEPPER, step=3)
    at.session_state["dec_view"] = "Teacher forcing"
    at.run()
    assert step_shown(at) is None and any(t.startswith("teacher forcing") for t in titles(at))
    at.session_state["dec_view"] = "Step by step"
    at.run()
    assert step_shown(at)[0] == 3 == slider_step(at)


# ----------------------------------------------------------------------------- model and input
def test_the_model_and_input_links_choose_what_is_decoded():
    text = "2718"
    at = open_page(model=STEPPER, input=text)
    assert at.selectbox(key="model").value == STEPPER
    assert at.text_input(key="input").value == text
    tr, _ = reference_trace(STEPPER, text)
    shown = sequence_text(at)
    for label in tr.labels[: tr.prompt_len]:
        assert chip(label) in shown
    assert step_shown(at) == (1, len(tr.steps))


def test_the_encoder_decoder_link_shows_the_source_and_cross_attention():
    at = open_page(model="dates", input="22.11.2026")
    assert at.selectbox(key="model").value == "dates"
    assert any(m.value.startswith("**Source:**") for m in at.markdown)
    assert any(t.startswith("cross-attention over the source") for t in titles(at))


def test_a_sine_sample_link_forecasts_that_sample():
    at = open_page(model="sine", input="3", step=5)
    assert at.number_input(key="dec_sample").value == 3
    fig = chart(at, "forecast after step 5")
    names = [t.get("name") for t in fig["data"]]
    forecast = fig["data"][names.index("forecast")]
    assert len(decode(forecast["y"])) == 5 + 1          # joined to the last input
    truth = fig["data"][names.index("truth")]
    assert np.allclose(decode(truth["y"]), TASKS["sine"].sample(3)[1], atol=1e-5)


# ----------------------------------------------------------------------------- layer, head, view
def test_layer_and_head_links_choose_the_rows_shown():
    text = "22.11.2026"
    tr, _ = reference_trace("dates", text)
    selfs = sorted(tr.steps[1].attention)                 # the decoder's self-attention layers
    last = len(selfs) - 1                                 # the shipped model's last layer
    at = open_page(model="dates", input=text, layer=last, head=2, step=2)
    assert at.selectbox(key="layer").value == last and at.selectbox(key="head").value == 2
    assert chart(at, f"layer {last} · head 2").get("data")
    assert any(t == f"cross-attention over the source, layer {last} · head 2"
               for t in titles(at))
    expected = tr.steps[1].attention[selfs[last]][2].numpy()
    assert np.allclose(row_weights(at), expected, atol=1e-6)
    # a layer the model does not have falls back to layer 0, in the widget and the charts
    at = open_page(model="dates", input=text, layer=len(selfs), head=2, step=2)
    assert at.selectbox(key="layer").value == 0 and chart(at, "layer 0 · head 2").get("data")


def test_the_view_link_opens_teacher_forcing_with_the_linked_head():
    at = open_page(model=STEPPER, dec_view="Teacher forcing", layer=1, head=1)
    assert at.session_state["dec_view"] == "Teacher forcing"
    assert step_shown(at) is None
    assert any(t.startswith("teacher forcing: layer 1 · head 1") for t in titles(at))


# ----------------------------------------------------------------------------- settings
def test_sampling_settings_from_a_link_replay_that_generation():
    text = "1234567890"
    params = dict(dec_mode="sample", dec_temp=2.0, dec_topk=5, dec_topp=0.9, dec_seed=7,
                  dec_len=4)
    at = open_page(model=STEPPER, input=text, **params)
    assert at.radio(key="dec_mode").value == "sample"
    assert at.slider(key="dec_temp").value == pytest.approx(2.0)
    assert int(at.select_slider(key="dec_topk").value) == 5
    assert at.slider(key="dec_topp").value == pytest.approx(0.9)
    assert at.slider(key="dec_seed").value == 7
    assert int(at.select_slider(key="dec_len").value) == 4
    assert any(c.value.startswith("Sampling at temperature 2.0, top-k 5, top-p 0.90, seed 7, "
                                  "up to 4 new tokens") for c in at.caption)
    tr, _ = reference_trace(STEPPER, text, greedy=False, temperature=2.0, top_k=5, top_p=0.9,
                            seed=7, max_new_tokens=4)
    assert step_shown(at)[1] == len(tr.steps)
    at.button(key="dec_end").click().run() if len(tr.steps) > 1 else None
    shown = sequence_text(at)
    written = [s.label for s in tr.steps]
    assert all(f"[**{w}**]" in shown for w in written), (written, shown)


def test_a_greedy_link_ignores_the_sampling_values_it_carries():
    at = open_page(model=STEPPER, dec_mode="greedy", dec_temp=3.0, dec_seed=5)
    assert at.slider(key="dec_temp").disabled
    assert any(c.value.startswith("Greedy decoding") for c in at.caption)
