"""The `dates` (encoder-decoder) and `sine` (real-valued decoder) tasks: data, input checks,
learning, inspection and the shipped checkpoints."""
from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import pytest
import torch

from core.checkpoints import load_checkpoint
from core.tasks import TASKS
from core.tasks.dates import CASES, FORMATS, WEEKDAYS, is_valid_iso_date
from core.tasks.date_formats import MONTHS as MONTH_NAMES
from core.tasks.sine import N_IN, N_OUT, estimate_period, make_series, repeat_last_period
from core.tasks.vocab import BOS, EOS, PAD
from core.train import train

ROOT = Path(__file__).resolve().parents[1]
DATES, SINE = TASKS["dates"], TASKS["sine"]
TINY_DATES = dict(d_model=32, n_heads=2, n_layers=1)
TINY_SINE = dict(d_model=32, n_heads=2, n_layers=1)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def tiny(task, device, **over):
    torch.manual_seed(0)
    return task.build_model(device=device, **over).eval()


# -- dates: data -----------------------------------------------------------------------------
def test_dates_batch_is_well_formed(device):
    b = DATES.batch(256, gen(), device)
    src, tgt_in, y = b["src"].cpu(), b["tgt_in"].cpu(), b["y"].cpu()
    assert src.dtype == torch.long and src.dim() == 2 and src.size(1) <= DATES.max_input_len
    assert tgt_in.shape == y.shape == (256, 11)
    assert (tgt_in[:, 0] == BOS).all() and (y[:, -1] == EOS).all()
    assert torch.equal(tgt_in[:, 1:], y[:, :-1])                    # teacher forcing shift
    assert ((y[:, :-1] >= 3) & (y[:, :-1] < len(DATES.tgt_vocab))).all()
    real = src != PAD
    assert real[:, 0].all() and real.any(0).all()                   # no empty row or column
    assert (real.int().diff(dim=1) <= 0).all()                      # padding only at the end
    assert ((src[real] >= 3) & (src[real] < len(DATES.vocab))).all()  # no specials in text
    assert b["src"].device.type == torch.device(device).type


def test_dates_batches_are_reproducible():
    a, b, c = (DATES.batch(64, gen(s), "cpu") for s in (5, 5, 6))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["y"], c["y"])


def _strptime(text: str, fmt: str) -> dt.date:
    """Independent reading of a generated date with the standard library."""
    codes = {"D": "%d", "DD": "%d", "Dth": "%d", "Month": "%B", "Mon": "%b", "M": "%m",
             "MM": "%m", "YYYY": "%Y", "YY": "%y", "Weekday": "%A", "Wkd": "%a"}
    pattern = re.sub(r"\{(\w+)\}", lambda m: codes[m.group(1)], fmt)
    if "{Dth}" in fmt:
        text = re.sub(r"(\d+)(st|nd|rd|th)", r"\1", text, count=1, flags=re.I)
    date = dt.datetime.strptime(text, pattern).date()
    if "{YY}" in fmt:                                   # documented window: 2000-2099
        date = date.replace(year=2000 + date.year % 100)
    return date


def test_every_format_and_case_reads_back_to_its_iso_target():
    s = DATES.sample(4000, gen(1))
    seen = set()
    for src, tgt, f, c in zip(s["src"], s["tgt"], s["fmt"].tolist(), s["case"].tolist()):
        text, fmt, target = DATES.vocab.decode(src), FORMATS[f], DATES.decode(tgt)
        date = _strptime(text, fmt)
        assert target == date.isoformat(), (text, fmt, target)
        assert dt.date(1900, 1, 1) <= date <= dt.date(2099, 12, 31)
        if "{Weekday}" in fmt or "{Wkd}" in fmt:          # the weekday is the true one
            name = WEEKDAYS[date.weekday()]
            assert name.lower()[:3] in text.lower()
        if CASES[c] == "lower":
            assert text == text.lower()
        elif CASES[c] == "upper":
            assert text == text.upper()
        seen.add((f, c))
    assert len(seen) == len(FORMATS) * len(CASES)



@pytest.mark.parametrize("f", range(len(FORMATS)))
def test_a_fixed_format_draws_only_that_format_and_reference_reads_it(f):
    s = DATES.sample(60, gen(f), fmt=f)
    assert (s["fmt"] == f).all()
    for src, tgt in zip(s["src"], s["tgt"]):
        text = DATES.vocab.decode(src)
        assert _strptime(text, FORMATS[f]).isoformat() == DATES.decode(tgt), text
        assert DATES.reference(text) == DATES.decode(tgt), text


def test_zero_padded_days_with_month_names_are_drawn():
    """The inputs that once read '03' as '30' ("June 03, 2031") are among the training data."""
    texts = [DATES.vocab.decode(r).lower() for r in DATES.sample(6000, gen(3))["src"]]
    month = "(" + "|".join(m.lower() for m in MONTH_NAMES) + ")"
    day = "(" + "|".join(w.lower() for w in WEEKDAYS) + ")"
    for typed in (rf"{month} 0[1-9], \d{{4}}",              # June 03, 2031
                  rf"{day} 0[1-9] {month} \d{{4}}",          # Friday 03 January 2020
                  rf"{month} 0[1-9], 19\d\d"):               # November 03, 1957
        assert any(re.fullmatch(typed, t) for t in texts), typed


@pytest.mark.parametrize("text, valid", [
    ("2026-11-22", True), ("2024-02-29", True), ("2000-02-29", True), ("1999-12-31", True),
    ("2034-02-30", False), ("2023-02-29", False), ("1900-02-29", False), ("2031-13-01", False),
    ("2031-00-10", False), ("2031-04-31", False), ("2031-6-3", False), ("20310603", False),
    ("2031-06-03 ", False), ("", False), (None, False), ("abcd-ef-gh", False),
])
def test_is_valid_iso_date_flags_impossible_dates(text, valid):
    assert is_valid_iso_date(text) is valid

def test_dates_examples_and_probe_are_consistent(device):
    for text in DATES.examples:
        assert DATES.parse(text) == text
    (src, tgt), labels = DATES.probe(device)
    model = tiny(DATES, device)
    out = model(src, tgt, return_attention=True)
    for name, att in out.attention.items():
        q, k = labels[name]
        assert (len(q), len(k)) == tuple(att.shape[-2:]), name


@pytest.mark.parametrize("bad, words", [
    ("", "type a date"), ("   ", "type a date"), ("1" * 41, "too long"),
    ("22 Nov 2026 ✓", "'✓'"), ("22_11_2026", "'_'"), (None, "as text"), (20261122, "as text"),
])
def test_dates_parse_rejects_bad_input(bad, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        DATES.parse(bad)


def test_dates_parse_normalises_spaces_and_accepts_unknown_formats():
    assert DATES.parse("  22   November 2026 ") == "22 November 2026"
    assert DATES.parse("the 3rd of may, 2001") == "the 3rd of may, 2001"


def test_dates_predict_validates_every_example(device):
    model = tiny(DATES, device)
    with pytest.raises(ValueError, match="unsupported character"):
        DATES.predict(model, ["22 Nov 2026", "22 Nov 2026!"])
    with pytest.raises(ValueError, match="list"):
        DATES.predict(model, "22 Nov 2026")
    out = DATES.predict(model, ["22 Nov 2026", "2026-11-22"])
    assert len(out) == 2 and all(isinstance(o, str) and len(o) <= 11 for o in out)
    assert DATES.predict(model, []) == []


def test_dates_inspect_labels_every_module(device):
    model = tiny(DATES, device, **{**TINY_DATES, "n_layers": 2, "n_dec_layers": 1})
    ins = DATES.inspect(model, "Sun, 22 Nov 2026", return_scores=True)
    assert set(ins.attention) == set(model.attention_names())
    Ts = len("Sun, 22 Nov 2026")
    Tt = len(ins.outputs)
    for name, att in ins.attention.items():
        q, k = ins.labels[name]
        assert att.shape == (2, len(q), len(k)) and att.device.type == "cpu"
        assert ins.scores[name].shape == att.shape
        if name.endswith("cross_attn"):
            assert (len(q), len(k)) == (Tt, Ts) and q == ins.outputs
        elif name.startswith("decoder"):
            assert q == k == ins.decoder_inputs and q[0] == "<bos>"
            assert not ins.masks[name].triu(1).any()                   # causal
        else:
            assert q == k == ins.tokens and len(q) == Ts
    assert ins.prediction == DATES.decode(DATES.tgt_vocab.encode(ins.prediction))
    assert ins.probs.shape == (Tt, len(DATES.tgt_vocab))
    muted = DATES.inspect(model, "Sun, 22 Nov 2026",
                          head_mask={"decoder.blocks.0.cross_attn": torch.tensor([1.0, 0.0])})
    n = min(Tt, len(muted.outputs))
    assert not torch.allclose(muted.probs[:n], ins.probs[:n])


# -- sine: data and baseline -----------------------------------------------------------------
def test_sine_batch_is_well_formed(device):
    b = SINE.batch(64, gen(), device)
    x, y = b["x"].cpu(), b["y"].cpu()
    assert x.shape == y.shape == (64, N_IN + N_OUT - 1) and x.dtype == torch.float32
    assert torch.equal(x[:, 1:], y[:, :-1])                         # y is x shifted by one
    assert torch.isfinite(x).all() and x.abs().max() < 2.6
    assert (x.std(1) > 0.1).all()
    again = SINE.batch(64, gen(), "cpu")
    assert torch.equal(again["x"], x) and not torch.equal(SINE.batch(64, gen(1), "cpu")["x"], x)


class _Fixed(torch.nn.Module):
    """Returns the given predictions (B, T, K) whatever the input."""

    def __init__(self, pred):
        super().__init__()
        self.pred = pred

    def forward(self, x):
        return type("Out", (), {"logits": self.pred})()


@pytest.mark.parametrize("K", [1, 5])
def test_sine_loss_counts_steps_from_loss_from_and_matches_numpy(K):
    import numpy as np
    b = SINE.batch(3, gen(7), "cpu")
    T, start = b["x"].size(1), SINE.loss_from
    assert 0 < start < T - N_OUT
    pred = torch.randn(3, T, K, generator=gen(8))
    y = b["y"].double().numpy()
    err = []                       # output k at step t is compared with y[t + k] = x[t + 1 + k]
    for t in range(start, T):
        for k in range(K):
            if t + k < T:
                err.append((pred[:, t, k].double().numpy() - y[:, t + k]) ** 2)
    want = float(np.mean(np.stack(err)))
    got = float(SINE.loss(_Fixed(pred), b))
    assert got == pytest.approx(want, rel=1e-5)
    early = pred.clone()
    early[:, :start] += 100.0                                       # context steps: not counted
    assert float(SINE.loss(_Fixed(early), b)) == pytest.approx(got, rel=1e-6)
    late = pred.clone()
    late[:, start] += 1.0
    assert float(SINE.loss(_Fixed(late), b)) > got + 1e-3


def test_sine_series_follow_the_two_wave_formula():
    """Without noise a series is a sum of two sines: its spectrum has at most two peaks."""
    s = make_series(200, gen(3), length=4000)
    spec = torch.fft.rfft(s - s.mean(1, keepdim=True)).abs()          # (200, 2001)
    top = spec.topk(12, dim=1).values
    share = (top ** 2).sum(1) / (spec ** 2).sum(1)
    assert (share > 0.8).all()        # nearly all energy in the few bins around the two periods


@pytest.mark.parametrize("period", [8, 12, 16, 20, 25, 40])
def test_baseline_is_exact_on_a_clean_sine_with_a_whole_period(period):
    t = torch.arange(N_IN + N_OUT, dtype=torch.float64)
    x = torch.stack([torch.sin(2 * math.pi * t / period + ph) for ph in (0.0, 1.0, 2.5)])
    forecast, used = repeat_last_period(x[:, :N_IN], N_OUT)
    assert (used == period).all()
    assert ((forecast - x[:, N_IN:]) ** 2).mean() < 1e-10
    assert (estimate_period(x[:, :N_IN]) == period).all()


def test_sine_samples_and_parse():
    inputs, truth = SINE.sample(3)
    assert len(inputs) == N_IN and len(truth) == N_OUT
    assert SINE.parse(" 3 ") == inputs
    values = [round(math.sin(i / 5), 4) for i in range(N_IN)]
    assert SINE.parse(", ".join(map(str, values))) == pytest.approx(values)
    assert SINE.parse(" ".join(map(str, values))) == pytest.approx(values)
    assert SINE.parse("\n".join(map(str, values))) == pytest.approx(values)


@pytest.mark.parametrize("bad, words", [
    ("", "sample number"), ("50", "sample number 0..49"), ("-1", "sample number"),
    ("3.5", "sample number"), ("abc", "sample number"), ("1, 2, 3", "exactly 100"),
    (" ".join(["1"] * 101), "exactly 100"), (" ".join(["1"] * 99 + ["x"]), "not numbers"),
    (" ".join(["1"] * 99 + ["nan"]), "finite"), (" ".join(["1"] * 99 + ["-inf"]), "finite"),
    (" ".join(["1"] * 99 + ["1e4"]), "within"), (None, "as text"), ("1 " * 5000, "too long"),
])
def test_sine_parse_rejects_bad_input(bad, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        SINE.parse(bad)


def test_sine_predict_validates_and_forecasts(device):
    model = tiny(SINE, device)
    good = SINE.sample(0)[0]
    with pytest.raises(ValueError, match="exactly 100"):
        SINE.predict(model, [good, good[:-1]])
    with pytest.raises(ValueError, match="finite"):
        SINE.predict(model, [good[:-1] + [float("nan")]])
    with pytest.raises(ValueError, match="list"):
        SINE.predict(model, "3")
    out = SINE.predict(model, [good, torch.tensor(good), "1"])
    assert len(out) == 3 and all(len(o) == N_OUT for o in out)
    assert out[0] == pytest.approx(out[1], abs=1e-6)


def test_sine_inspect(device):
    model = tiny(SINE, device, **{**TINY_SINE, "n_layers": 2})
    ins = SINE.inspect(model, "2", return_scores=True)
    T = N_IN + N_OUT - 1
    assert ins.forecast.truth == SINE.sample(2)[1] and len(ins.prediction) == N_OUT
    assert ins.prediction == ins.forecast.forecast and len(ins.forecast.baseline) == N_OUT
    for name, att in ins.attention.items():
        q, k = ins.labels[name]
        assert att.shape == (2, T, T) and q == k == ins.tokens
        assert not ins.masks[name].triu(1).any()
    assert ins.tokens[0] == "t0" and ins.tokens[99] == "t99" and ins.tokens[100] == "t100*"
    muted = SINE.inspect(model, "2", head_mask={n: torch.zeros(2) for n in ins.attention})
    assert muted.prediction != ins.prediction                       # the mask reached the model
    assert SINE.inspect(model, [0.5] * N_IN).forecast.truth is None


# -- both: learning and the shipped models ---------------------------------------------------
@pytest.mark.parametrize("task, over", [(DATES, TINY_DATES), (SINE, TINY_SINE)])
def test_short_training_lowers_the_loss(task, over, device, one_thread):
    model = tiny(task, device, **over)
    result = train(model, task, steps=40, batch_size=32, warmup=5, eval_every=0, eval_n=32,
                   seed=0)
    first, last = sum(result.losses[:5]) / 5, sum(result.losses[-5:]) / 5
    assert last < 0.8 * first


def test_shipped_dates_model_decodes_greedily_as_its_evaluation_scores(device):
    """evaluate() scores teacher-forced argmaxes: row by row that must equal greedy decoding.
    (Every task's shipped checkpoint meeting its bar: tests/test_task_contract.py.)"""
    model, _ = load_checkpoint(ROOT / "checkpoints" / "dates.safetensors", device)
    b = DATES.batch(300, gen(11), device)
    forced = (model(b["src"], b["tgt_in"]).logits.argmax(-1) == b["y"]).all(1)
    greedy = torch.tensor([p == DATES.decode(y) for p, y in zip(
        DATES.predict(model, [DATES.vocab.decode(s) for s in b["src"]]), b["y"])])
    assert torch.equal(forced.cpu(), greedy)
    assert DATES.predict(model, ["22 November 2026", "nov 22, 26", "Sunday 22/11/2026",
                                 "22.11.2026", "NOVEMBER 22ND, 2026"]) == ["2026-11-22"] * 5
    assert DATES.predict(model, ["June 03, 2031", "Friday 03 January 2020",
                                 "November 03, 1957", "Tue Jun 03 2031"]) == [
        "2031-06-03", "2020-01-03", "1957-11-03", "2031-06-03"]


def test_shipped_sine_model_beats_repeating_the_last_period(device):
    model, _ = load_checkpoint(ROOT / "checkpoints" / "sine.safetensors", device)
    metrics = SINE.evaluate(model, n=400, seed=777)
    assert metrics["mse"] < metrics["baseline_mse"]


def test_shipped_dates_model_reads_every_format(device):
    """Every format people type, on fresh dates: at least 99% exactly right (issue 12)."""
    model, _ = load_checkpoint(ROOT / "checkpoints" / "dates.safetensors", device)
    scores = DATES.evaluate_formats(model, n_each=400, seed=2718)
    assert set(scores) == set(FORMATS)
    worst = min(scores, key=scores.get)
    assert scores[worst] >= 0.99, (worst, scores[worst])
