"""core.decode: step-by-step traces, the KV-cache check and teacher forcing.

The shipped causal checkpoints (checkpoints/<task>.safetensors for the tasks that decode) are
checked against their task; tiny untrained models check the mechanics without any checkpoint.
ATTNVIZ_TEST_CHECKPOINTS=folder runs the checkpoint tests against another folder.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
import torch

from core.checkpoints import list_checkpoints, load_checkpoint
from core.decode import DecodeSetup, decode_trace, teacher_forcing
from core.tasks import TASKS

from conftest import tiny_model

FOLDER = Path(os.environ.get("ATTNVIZ_TEST_CHECKPOINTS")
              or Path(__file__).resolve().parents[1] / "checkpoints")
SHIPPED = {r["name"]: r for r in list_checkpoints(FOLDER)
           if r["error"] is None and r["name"] == r["task"] and r["task"] in TASKS
           and r["kind"] in ("decoder", "seq2seq") and TASKS[r["task"]].decodes}
NAMES = sorted(SHIPPED) or [pytest.param("none", marks=pytest.mark.skip(
    reason=f"no shipped causal checkpoint in {FOLDER}"))]
TOKEN_NAMES = [n for n in sorted(SHIPPED) if n != "sine"]
SAMPLED = dict(greedy=False, temperature=1.5, top_k=None, top_p=0.95, seed=11)
# A couple of inputs per task and their right answers (as task.predict writes them).
ANSWERS = {
    "reverse": {"31415": "51413", "8675309": "9035768"},
    "addition": {"123+456": "579", "999+1": "1000"},
    "dates": {"22 November 2026": "2026-11-22", "THURSDAY, JULY 4, 1985": "1985-07-04"},
}


@functools.lru_cache(maxsize=None)
def shipped(name: str):
    if name not in SHIPPED:
        pytest.skip(f"no shipped {name} checkpoint in {FOLDER}")
    model, info = load_checkpoint(SHIPPED[name]["path"], "cpu")
    return model.eval(), info


def setup_of(name: str, text: str | None = None) -> DecodeSetup:
    task = TASKS[name]
    return task.decoding_setup(task.parse(text if text is not None else task.examples[0]))


def generated_ids(trace) -> list:
    return [s.token for s in trace.steps]


def full_attention(model, trace, setup) -> dict:
    """One forward pass over the whole decoded sequence: {name: (H, T, Tk)} without the cache."""
    if model.kind == "seq2seq":
        tgt = torch.tensor([[setup.bos_id] + generated_ids(trace)[:-1]])        # (1, T)
        att = model(setup.source, tgt, return_attention=True).attention
    elif getattr(model, "regression", False):
        seq = torch.tensor([trace.values[:-1]])                                  # (1, T)
        att = model(seq, return_attention=True).attention
    else:
        ids = setup.prompt[0].tolist() + generated_ids(trace)[:-1]
        att = model(torch.tensor([ids]), return_attention=True).attention
    return {n: w[0] for n, w in att.items()}


# ----------------------------------------------------------------------------- shipped models
@pytest.mark.parametrize("name", NAMES)
def test_cached_and_uncached_steps_agree(name):
    model, _ = shipped(name)
    setup = setup_of(name)
    modes = [dict(greedy=True)] + ([SAMPLED] if name in TOKEN_NAMES else [])
    for mode in modes:
        trace = decode_trace(model, setup, **mode)
        assert trace.cache_tokens_equal, mode
        assert trace.cache_max_diff < 1e-5, (mode, trace.cache_max_diff)
        full = full_attention(model, trace, setup)           # an independent uncached pass
        for s in trace.steps:
            for n, row in {**s.attention, **s.cross}.items():
                Tk = row.shape[-1]
                assert torch.allclose(row, full[n][:, s.position, :Tk], atol=1e-5), (n, s.position)


@pytest.mark.parametrize("name", NAMES)
def test_every_step_row_is_a_distribution_over_the_past(name):
    model, _ = shipped(name)
    setup = setup_of(name)
    trace = decode_trace(model, setup)
    T0 = setup.prompt.size(1)
    assert len(trace.labels) == T0 + len(trace.steps)
    for i, s in enumerate(trace.steps):
        assert s.position == T0 - 1 + i
        assert set(s.attention) == {n for n in model.attention_names() if "self_attn" in n
                                    and n.startswith("decoder.")}
        for row in s.attention.values():
            assert row.shape == (model.cfg.n_heads, s.position + 1)          # (H, position + 1)
            assert torch.allclose(row.sum(-1), torch.ones(row.shape[0]), atol=1e-5)
        if model.kind == "seq2seq":
            assert s.attention and s.cross and s.position == i               # Tk = step + 1
            for row in s.cross.values():
                assert row.shape == (model.cfg.n_heads, setup.source.size(1))  # (H, Ts)
                assert torch.allclose(row.sum(-1), torch.ones(row.shape[0]), atol=1e-5)
        else:
            assert not s.cross


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_greedy_trace_writes_the_right_answer(name):
    model, info = shipped(name)
    task = TASKS[name]
    for text, right in ANSWERS[name].items():
        trace = decode_trace(model, setup_of(name, text))
        ids = generated_ids(trace)
        answer = (task.decode(ids) if name == "dates"
                  else task.answer_from_ids([i for i in ids if i != 2]))     # 2 = <eos>
        assert answer == task.predict(model, [text])[0], text
        assert answer == right, (text, trace.labels)
        assert trace.stopped == "eos"


@pytest.mark.parametrize("name", NAMES)
def test_teacher_forcing_blocks_the_future_exactly(name):
    model, _ = shipped(name)
    setup = setup_of(name)
    if setup.target is None:
        pytest.skip("no reference for this example")
    tf = teacher_forcing(model, setup)
    T = len(tf["labels"])
    assert tf["mask"].shape == (T, T)
    above = ~torch.ones(T, T, dtype=torch.bool).tril()
    selfs = [n for n in tf["attention"] if n.endswith("self_attn")]
    assert selfs
    for n in selfs:
        w = tf["attention"][n]                                               # (H, T, T)
        assert w.shape[-2:] == (T, T)
        assert bool((w[:, above] == 0).all()), n                             # exact zeros
    assert len(tf["predicted"]) == len(tf["targets"]) == T


@pytest.mark.parametrize("name", TOKEN_NAMES or NAMES)
def test_top_k_one_sampling_is_greedy(name):
    model, _ = shipped(name)
    setup = setup_of(name)
    greedy = decode_trace(model, setup, check_cache=False)
    for seed in (0, 5):
        sampled = decode_trace(model, setup, greedy=False, temperature=2.0, top_k=1, seed=seed,
                               check_cache=False)
        assert sampled.labels == greedy.labels


def test_sampling_with_a_seed_repeats():
    name = TOKEN_NAMES[0] if TOKEN_NAMES else "none"
    model, _ = shipped(name)
    setup = setup_of(name)
    a = decode_trace(model, setup, greedy=False, temperature=3.0, seed=42, check_cache=False)
    b = decode_trace(model, setup, greedy=False, temperature=3.0, seed=42, check_cache=False)
    assert a.labels == b.labels


def test_sine_trace_matches_predict():
    model, _ = shipped("sine")
    task = TASKS["sine"]
    values = task.parse(task.examples[0])
    trace = decode_trace(model, task.decoding_setup(values))
    assert len(trace.steps) == 20 and trace.stopped == "length"
    want = torch.tensor(task.predict(model, [values])[0])
    got = torch.tensor([s.token for s in trace.steps])
    assert torch.allclose(got, want, atol=1e-5)
    assert trace.values[:100] == pytest.approx(values, abs=1e-6)


# ----------------------------------------------------------------------------- tiny models
def labels(ids):
    return [f"t{i}" for i in ids]


def test_tiny_decoder_stops_at_eos_or_the_limit():
    model = tiny_model("decoder-tokens", "cpu")
    prompt = torch.tensor([[3, 4, 5]])
    greedy = decode_trace(model, DecodeSetup(prompt, labels, max_new_tokens=6))
    assert greedy.stopped == "length" and len(greedy.steps) == 6
    eos = greedy.steps[2].token                     # make the third greedy token the end token
    first = next(i for i, s in enumerate(greedy.steps) if s.token == eos)
    stopped = decode_trace(model, DecodeSetup(prompt, labels, eos_id=eos, max_new_tokens=6))
    assert stopped.stopped == "eos" and len(stopped.steps) == first + 1
    assert stopped.cache_max_diff < 1e-5 and stopped.cache_tokens_equal
    assert stopped.vocab == labels(range(13))


def test_tiny_models_cache_and_rows():
    dec = tiny_model("decoder-tokens", "cpu")
    s2s = tiny_model("seq2seq", "cpu")
    src = torch.tensor([[3, 4, 5, 6]])
    for model, setup in ((dec, DecodeSetup(torch.tensor([[1, 2]]), labels, max_new_tokens=8)),
                         (s2s, DecodeSetup(torch.tensor([[1]]), labels, bos_id=1,
                                           max_new_tokens=8, source=src,
                                           source_labels=labels([3, 4, 5, 6])))):
        for mode in (dict(greedy=True), SAMPLED):
            trace = decode_trace(model, setup, **mode)
            assert trace.cache_tokens_equal and trace.cache_max_diff < 1e-5
            for s in trace.steps:
                for row in s.attention.values():
                    assert row.shape[-1] == s.position + 1
                    assert torch.allclose(row.sum(-1), torch.ones(row.shape[0]), atol=1e-5)


def test_tiny_teacher_forcing_and_regression():
    dec = tiny_model("decoder-tokens", "cpu")
    setup = DecodeSetup(torch.tensor([[1, 2]]), labels, target=torch.tensor([[5, 6, 7]]))
    tf = teacher_forcing(dec, setup)
    assert tf["labels"] == labels([1, 2, 5, 6]) and tf["targets"] == labels([2, 5, 6, 7])
    assert tf["start"] == 1
    for w in tf["attention"].values():
        assert bool((w.triu(1) == 0).all())
    real = tiny_model("decoder-real", "cpu", n_in=1)
    x = torch.randn(1, 5)
    trace = decode_trace(real, DecodeSetup(x, lambda v: [f"{a:.2f}" for a in v],
                                           max_new_tokens=4))
    want = real.forecast(x, 4)[0, :, 0]
    assert torch.allclose(torch.tensor([s.token for s in trace.steps]), want, atol=1e-5)
    assert trace.cache_max_diff < 1e-5 and [s.position for s in trace.steps] == [4, 5, 6, 7]


def test_bad_setups_raise_value_errors():
    dec = tiny_model("decoder-tokens", "cpu")                  # max_len 16
    with pytest.raises(ValueError, match="no room"):
        decode_trace(dec, DecodeSetup(torch.ones(1, 16, dtype=torch.long), labels))
    with pytest.raises(ValueError, match="at least one"):
        decode_trace(dec, DecodeSetup(torch.ones(1, 3, dtype=torch.long), labels,
                                      max_new_tokens=0))
    with pytest.raises(ValueError, match="reference"):
        teacher_forcing(dec, DecodeSetup(torch.ones(1, 3, dtype=torch.long), labels))
    with pytest.raises(ValueError, match="source"):
        decode_trace(tiny_model("seq2seq", "cpu"), DecodeSetup(torch.tensor([[1]]), labels))
