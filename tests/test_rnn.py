"""The GRU encoder-decoder (core/models/rnn.py) and the dates_rnn task.

The model's math is checked against an independent float64 NumPy implementation of the paper's
equations (GRU cells, additive attention, masked softmax, context, output layer); the shipped
checkpoints are checked for the lesson they teach: with attention the accuracy holds as the
source grows, with one fixed context vector it falls.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.checkpoints import load_checkpoint, read_metadata, save_checkpoint
from core.config import CONFIGS, config_from_dict, parameter_count
from core.models import MODELS, build_model
from core.models.rnn import ATTN, AdditiveAttention, RNNSeq2Seq
from core.rnn_config import RNNConfig
from core.tasks import TASKS
from core.tasks.dates_rnn import JOIN, POOL, accuracy_by_length
from core.tasks.vocab import BOS, EOS, PAD
from core.train import train
from core.zoo import EXTRAS

CKPT = Path(__file__).resolve().parents[1] / "checkpoints"
TASK = TASKS["dates_rnn"]


def tiny(attention=True, bidirectional=True, seed=0) -> RNNSeq2Seq:
    torch.manual_seed(seed)
    cfg = RNNConfig(src_vocab_size=11, tgt_vocab_size=9, d_emb=6, d_hidden=5, d_attn=7,
                    attention=attention, bidirectional=bidirectional)
    return RNNSeq2Seq(cfg).eval()


def inputs(Ts=7, Tt=5, seed=1):
    """src (3, Ts) with rows 1 and 2 right-padded; tgt (3, Tt)."""
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(3, 11, (3, Ts), generator=g)
    src[1, Ts - 3:] = PAD
    src[2, Ts - 1:] = PAD
    return src, torch.randint(0, 9, (3, Tt), generator=g)


# ----------------------------------------------------------------------------- reference
def _np(p) -> np.ndarray:
    return p.detach().double().numpy()


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _gru(x, h, w_ih, w_hh, b_ih, b_hh):
    """One GRU step as PyTorch defines it (gates in the order r, z, n)."""
    gi, gh = w_ih @ x + b_ih, w_hh @ h + b_hh
    H = h.size
    r = _sigmoid(gi[:H] + gh[:H])
    z = _sigmoid(gi[H:2 * H] + gh[H:2 * H])
    n = np.tanh(gi[2 * H:] + r * gh[2 * H:])
    return (1 - z) * n + z * h


def reference(model: RNNSeq2Seq, src_row: list[int], tgt_row: list[int]):
    """(logits (Tt, V), weights (Tt, Ts) or None) for one example, in float64 from the equations
    of Bahdanau et al. (2015): e_ij = vᵀ tanh(W s_{i-1} + U h_j), α = softmax, c_i = Σ α h_j,
    s_i = GRU([E y_{i-1}; c_i], s_{i-1}), logits = W_o [s_i; c_i; E y_{i-1}]."""
    cfg, P = model.cfg, {k: _np(v) for k, v in model.state_dict().items()}
    H = cfg.d_hidden
    real = [t for t in src_row if t != cfg.pad_id]
    x = [P["encoder.tok.weight"][t] for t in real]

    def run(suffix, seq):
        h, out = np.zeros(H), []
        for v in seq:
            h = _gru(v, h, *(P[f"encoder.gru.{w}_l0{suffix}"] for w in
                             ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
            out.append(h)
        return out

    fwd = run("", x)
    ann = np.array(fwd)                                                   # (Ts, H)
    if cfg.bidirectional:
        bwd = run("_reverse", x[::-1])[::-1]
        ann = np.concatenate([ann, np.array(bwd)], 1)                     # (Ts, 2H)
        summary = np.concatenate([fwd[-1], bwd[0]])
    else:
        summary = fwd[-1]
    s = np.tanh(P["decoder.init.weight"] @ summary + P["decoder.init.bias"])
    logits, weights = [], []
    for y in tgt_row:
        e_y = P["decoder.tok.weight"][y]
        if cfg.attention:
            e = np.array([P["decoder.cross_attn.v.weight"][0] @ np.tanh(
                P["decoder.cross_attn.W.weight"] @ s + P["decoder.cross_attn.U.weight"] @ h
                + P["decoder.cross_attn.U.bias"]) for h in ann])
            a = np.exp(e - e.max()) / np.exp(e - e.max()).sum()
            c = a @ ann
            weights.append(np.pad(a, (0, len(src_row) - len(real))))
        else:
            c = summary
        s = _gru(np.concatenate([e_y, c]), s, *(P[f"decoder.cell.{w}"] for w in
                                                 ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
        logits.append(P["decoder.head.weight"] @ np.concatenate([s, c, e_y])
                      + P["decoder.head.bias"])
    return np.array(logits), (np.array(weights) if cfg.attention else None)


@pytest.mark.parametrize("attention,bidirectional", [(True, True), (False, True),
                                                     (True, False), (False, False)])
def test_model_matches_the_float64_reference(attention, bidirectional):
    model = tiny(attention, bidirectional)
    src, tgt = inputs()
    out = model(src, tgt, return_attention=True)
    for b in range(src.size(0)):
        logits, weights = reference(model, src[b].tolist(), tgt[b].tolist())
        np.testing.assert_allclose(_np(out.logits[b]), logits,
                                   rtol=1e-4, atol=1e-5)
        if attention:
            np.testing.assert_allclose(_np(out.attention[ATTN][b, 0]), weights,
                                       rtol=1e-4, atol=1e-6)
    assert (ATTN in out.attention) is attention and len(out.attention) == int(attention)


def test_one_additive_attention_step_against_numpy():
    torch.manual_seed(3)
    att = AdditiveAttention(d_query=4, d_key=6, d_attn=5)
    s, memory = torch.randn(2, 4), torch.randn(2, 7, 6)
    mask = torch.ones(2, 7, dtype=torch.bool)
    mask[0, 4:] = False
    context, weights, scores = att(s, att.keys(memory), memory, mask)
    W, U, b, v = (_np(att.W.weight), _np(att.U.weight), _np(att.U.bias), _np(att.v.weight)[0])
    for i in range(2):
        e = np.array([v @ np.tanh(W @ _np(s[i]) + U @ _np(h) + b) for h in memory[i]])
        keep = mask[i].numpy()
        a = np.where(keep, np.exp(e - e[keep].max()), 0.0)
        a /= a.sum()
        np.testing.assert_allclose(_np(scores[i]), e, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(_np(weights[i]), a, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(_np(context[i]), a @ _np(memory[i]), rtol=1e-5, atol=1e-6)
    assert torch.all(weights[0, 4:] == 0)


# ----------------------------------------------------------------------------- contract
def test_attention_shape_name_rows_and_padding():
    model = tiny()
    src, tgt = inputs()
    out = model(src, tgt, return_attention=True, return_scores=True)
    assert model.attention_names() == [ATTN] == list(out.attention)
    assert dict(model.named_modules())[ATTN] is model.decoder.cross_attn
    w = out.attention[ATTN]                                               # (B, 1, Tt, Ts)
    assert w.shape == (3, 1, 5, 7) and out.scores[ATTN].shape == w.shape
    keep = src != PAD                                                     # (B, Ts)
    torch.testing.assert_close(w.sum(-1), torch.ones(3, 1, 5))
    assert torch.all(w.masked_select(~keep[:, None, None, :].expand_as(w)) == 0)
    assert torch.equal(out.masks[ATTN].expand_as(w)[:, 0, 0], keep)


def test_extra_padding_changes_nothing():
    model = tiny()
    src, tgt = inputs()
    longer = torch.cat([src, torch.full((3, 4), PAD)], 1)                 # (B, Ts + 4)
    a, b = (model(s, tgt, return_attention=True) for s in (src, longer))
    torch.testing.assert_close(a.logits, b.logits)
    torch.testing.assert_close(a.attention[ATTN], b.attention[ATTN][..., :src.size(1)])


def test_head_mask_switches_the_context_off_and_bad_masks_are_refused():
    model = tiny()
    src, tgt = inputs()
    on = model(src, tgt, return_attention=True)
    off = model(src, tgt, return_attention=True, head_mask={ATTN: torch.zeros(1)})
    kept = model(src, tgt, head_mask={ATTN: torch.ones(1)})
    torch.testing.assert_close(kept.logits, on.logits)
    assert not torch.allclose(off.logits, on.logits)
    torch.testing.assert_close(off.attention[ATTN][:, :, 0], on.attention[ATTN][:, :, 0])
    with pytest.raises(ValueError, match="one value"):
        model(src, tgt, head_mask={ATTN: torch.ones(2)})
    with pytest.raises(ValueError, match="no attention module"):
        model(src, tgt, head_mask={"decoder.blocks.0.cross_attn": torch.ones(1)})
    with pytest.raises(ValueError, match="no attention module"):
        tiny(attention=False)(src, tgt, head_mask={ATTN: torch.ones(1)})


@pytest.mark.parametrize("attention", [True, False])
def test_generation_with_and_without_the_state_cache_agree_with_forward(attention):
    model = tiny(attention)
    src, _ = inputs()
    g = model.generate(src, BOS, 6, eos_id=None, return_attention=True)
    plain = model.generate(src, BOS, 6, eos_id=None, return_attention=True, use_cache=False)
    assert torch.equal(g.tokens, plain.tokens) and g.tokens.shape == (3, 7)
    full = model(src, g.tokens[:, :-1], return_attention=True)
    for i, (step, probs) in enumerate(zip(g.steps, g.probs)):
        torch.testing.assert_close(probs, full.logits[:, i].softmax(-1))
        assert set(step) == set(plain.steps[i]) == ({ATTN} if attention else set())
        for name, w in step.items():                                      # (B, 1, 1, Ts)
            assert w.shape == (3, 1, 1, src.size(1))
            torch.testing.assert_close(w, plain.steps[i][name])
            torch.testing.assert_close(w[:, :, 0], full.attention[name][:, :, i])


def test_sampled_generation_as_core_decode_calls_it():
    """decode._generate calls an encoder-decoder as model.generate(source, bos, n, eos, ...)."""
    model = tiny()
    src, _ = inputs()
    kw = dict(return_attention=True, greedy=False, temperature=1.5, top_k=None, top_p=0.95,
              seed=11)
    a = model.generate(src[:1], BOS, 8, EOS, use_cache=True, **kw)
    b = model.generate(src[:1], BOS, 8, EOS, use_cache=False, **kw)
    assert torch.equal(a.tokens, b.tokens) and a.stopped in ("eos", "length")
    assert a.tokens[0, 0] == BOS and len(a.steps) == a.tokens.size(1) - 1
    other = model.generate(src[:1], BOS, 8, EOS, use_cache=True, **{**kw, "seed": 12})
    assert a.tokens.shape[1] > 2 or other.tokens.shape[1] > 2


# ----------------------------------------------------------------------------- config, files
def test_registered_and_counted_without_building():
    assert CONFIGS["rnn"] is RNNConfig and MODELS["rnn"] is RNNSeq2Seq
    for over in ({}, dict(attention=False), dict(bidirectional=False, d_attn=3),
                 dict(d_emb=1, d_hidden=2, src_vocab_size=70, tgt_vocab_size=15)):
        cfg = RNNConfig(**over)
        assert parameter_count(cfg) == build_model(cfg).num_parameters(), cfg
        assert config_from_dict("rnn", cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown config fields"):
        config_from_dict("rnn", {**RNNConfig().to_dict(), "n_heads": 4})


@pytest.mark.parametrize("bad", [dict(d_hidden=0), dict(d_emb=10 ** 6), dict(attention="yes"),
                                 dict(bidirectional=1), dict(src_vocab_size=True),
                                 dict(max_len=2.5), dict(pad_id=-1)])
def test_bad_config_values_raise(bad):
    with pytest.raises(ValueError):
        RNNConfig(**bad)


def test_no_presets_is_a_clear_error():
    with pytest.raises(ValueError, match="no preset"):
        TASK.make_config("nano")


@pytest.mark.parametrize("attention", [True, False])
def test_checkpoint_round_trip(tmp_path, attention):
    model = tiny(attention)
    path = save_checkpoint(model, tmp_path / "m.safetensors", info={"task": "dates_rnn"})
    loaded, info = load_checkpoint(path, "cpu")
    assert type(loaded) is RNNSeq2Seq and loaded.cfg == model.cfg and info["task"] == "dates_rnn"
    src, tgt = inputs()
    torch.testing.assert_close(loaded(src, tgt).logits, model(src, tgt).logits)
    assert read_metadata(path)["kind"] == "rnn"


# ----------------------------------------------------------------------------- the task
@pytest.mark.parametrize("k", [1, 2, 3])
def test_batches_list_k_dates_translated_in_order(k):
    b = TASK.batch(64, torch.Generator().manual_seed(k), "cpu", n_dates=k)
    assert b["tgt_in"].shape == b["y"].shape == (64, 11 * k)
    assert torch.equal(b["tgt_in"][:, 1:], b["y"][:, :-1]) and (b["y"][:, -1] == EOS).all()
    for src, y in zip(b["src"][:16], b["y"][:16]):
        dates = TASK.vocab.decode(src).split(JOIN)
        assert len(dates) == k and len(TASK.vocab.decode(src)) <= TASK.max_input_len
        assert TASK.decode(y).split(" ") == [TASK.reference(d) for d in dates]
    again = TASK.batch(64, torch.Generator().manual_seed(k), "cpu", n_dates=k)
    assert torch.equal(again["src"], b["src"])


def test_a_run_draws_batches_of_like_lengths_from_its_own_pools():
    """batches(): batch()'s data (k dates per batch, each of the three k), the sources of a
    batch about the same length (the spread within a batch well under a random batch's), cut to
    their longest row, every example new; the same batches for the same seed."""
    def spread(b):
        n = (b["src"] != PAD).sum(1)                                      # (B,)
        assert int(n.max()) == b["src"].size(1)                           # no empty columns
        return int(n.max() - n.min())

    draws = TASK.batches(64, torch.Generator().manual_seed(0), "cpu")
    pooled = [next(draws) for _ in range(48)]
    gen = torch.Generator().manual_seed(0)
    plain = [TASK.batch(64, gen, "cpu") for _ in range(48)]
    for b in pooled:
        assert b["src"].size(0) == 64
        for src, y in zip(b["src"][:4], b["y"][:4]):
            dates = TASK.vocab.decode(src).split(JOIN)
            assert TASK.decode(y).split(" ") == [TASK.reference(d) for d in dates]
    assert {b["y"].size(1) // 11 for b in pooled} == {1, 2, 3}
    rows = {tuple(r.tolist()) for b in pooled for r in b["y"]}           # targets, one per row
    assert len(rows) > 0.95 * 48 * 64 and POOL > 1               # (repeats: same dates by chance)
    assert np.mean([spread(b) for b in pooled]) < 0.5 * np.mean([spread(b) for b in plain])
    again = TASK.batches(64, torch.Generator().manual_seed(0), "cpu")
    assert all(torch.equal(next(again)["src"], b["src"]) for b in pooled[:10])


def test_training_takes_the_run_s_batches(monkeypatch):
    calls = []

    def batches(batch_size, generator, device):
        calls.append(batch_size)
        while True:
            yield TASK.batch(batch_size, generator, device, n_dates=1)

    monkeypatch.setattr(TASK, "batches", batches)
    model = TASK.build_model(d_emb=8, d_hidden=16, d_attn=16)
    train(model, TASK, steps=3, batch_size=8, seed=0, eval_every=0, warmup=1)
    assert calls == [8]                                    # one iterator for the whole run


def test_a_short_run_lowers_the_loss():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)             # tiny batches: one thread is faster on a busy machine
    try:
        torch.manual_seed(0)
        model = TASK.build_model(d_emb=8, d_hidden=16, d_attn=16)
        held_out = TASK.batch(64, torch.Generator().manual_seed(99), "cpu", n_dates=1)
        with torch.no_grad():
            before = float(TASK.loss(model, held_out))
        r = train(model, TASK, steps=40, batch_size=16, seed=0, eval_every=0, warmup=5)
        with torch.no_grad():
            after = float(TASK.loss(model, held_out))
    finally:
        torch.set_num_threads(threads)
    assert r.steps == 40 and after < 0.8 * before, (before, after)


# ----------------------------------------------------------------------------- shipped models
@pytest.fixture(scope="module")
def shipped():
    names = ("dates_rnn", "dates_rnn_noattn")
    if not all((CKPT / f"{n}.safetensors").exists() for n in names):
        pytest.skip("the dates_rnn checkpoints are not in checkpoints/")
    return {n: load_checkpoint(CKPT / f"{n}.safetensors", "cpu") for n in names}


def test_shipped_files_are_small_and_say_what_they_are(shipped):
    assert EXTRAS["dates_rnn_noattn"] == ("dates_rnn", {"attention": False})
    for name, (model, info) in shipped.items():
        assert (CKPT / f"{name}.safetensors").stat().st_size < 1024 * 1024
        assert info["task"] == "dates_rnn" and model.kind == "rnn"
    assert shipped["dates_rnn"][0].cfg.attention and not shipped["dates_rnn_noattn"][0].cfg.attention
    assert shipped["dates_rnn"][0].cfg.replace(attention=False) == shipped["dates_rnn_noattn"][0].cfg


def test_shipped_model_meets_its_bar_and_reads_dates(shipped):
    model, info = shipped["dates_rnn"]
    metrics = TASK.evaluate(model, n=600, seed=77)
    assert TASK.meets_bar(metrics), metrics
    assert abs(info["metrics"]["exact"] - metrics["exact"]) < 0.05
    got = TASK.predict(model, ["22 November 2026", "THURSDAY, JULY 4, 1985",
                               "22 nov 2026 and 5/3/1999"])
    assert got == ["2026-11-22", "1985-07-04", "2026-11-22 1999-03-05"]


def test_inspection_labels_rows_with_output_and_columns_with_source(shipped):
    model, _ = shipped["dates_rnn"]
    ins = TASK.inspect(model, "22 November 2026")
    w = ins.attention[ATTN]                                               # (1, Tq, Ts)
    q, k = ins.labels[ATTN]
    assert ins.prediction == "2026-11-22" and w.shape == (1, len(q), len(k)) == (1, 11, 16)
    assert q[:4] == list("2026") and k[:2] == ["2", "2"]
    # writing the year digits it reads the year: the last four source characters
    assert w[0, :4, -4:].sum(-1).min() > 0.5


def test_without_attention_accuracy_falls_with_length_with_attention_it_holds(shipped):
    by = {n: accuracy_by_length(m, TASK, edges=(0, 20, 40, 104), n=800, seed=5)
          for n, (m, _) in shipped.items()}
    att, fixed = by["dates_rnn"], by["dates_rnn_noattn"]
    assert list(att) == list(fixed) and all(count >= 25 for _, count in fixed.values())
    shares = [fixed[b][0] for b in fixed]
    assert shares[0] > 0.9 and shares[-1] < shares[0] - 0.3, fixed
    assert min(v for v, _ in att.values()) > 0.9, att
    # what the files say of themselves (the page shows it) is the truth
    _, info = shipped["dates_rnn_noattn"]
    measured = TASK.evaluate(shipped["dates_rnn_noattn"][0], n=600, seed=78)["exact"]
    assert abs(info["metrics"]["exact"] - measured) < 0.08 and measured < 0.9


# ----------------------------------------------------------------------------- figures
def test_alignment_pair_has_output_rows_source_columns_and_one_scale():
    from viz.rnn import alignment_pair
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(3, 5, generator=g).softmax(-1), torch.rand(4, 5, generator=g).softmax(-1)
    src = ["2", "2", "␣", "N", "o"]
    fig = alignment_pair((a, list("202"), src, "GRU + additive attention"),
                         (b, list("2026"), src, "transformer, layer 2 head 1"), presenter=True)
    maps = [t for t in fig.data if t.type == "heatmap"]
    assert len(maps) == 2
    np.testing.assert_allclose(np.asarray(maps[0].z), a.numpy(), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(maps[1].z), b.numpy(), rtol=1e-6)
    assert list(fig.layout.xaxis.ticktext) == src == list(fig.layout.xaxis2.ticktext)
    assert list(fig.layout.yaxis.ticktext) == list("202")
    assert list(fig.layout.yaxis2.ticktext) == list("2026")
    assert fig.layout.yaxis.autorange == "reversed" == fig.layout.yaxis2.autorange
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 1.0)
    assert [t.text for t in fig.layout.annotations][:2] == ["GRU + additive attention",
                                                            "transformer, layer 2 head 1"]
    assert "query" in fig.layout.yaxis.title.text and "key" in fig.layout.xaxis.title.text
    with pytest.raises(ValueError, match="labels"):
        alignment_pair((a, list("20"), src, "x"), (b, list("2026"), src, "y"))


def test_accuracy_by_length_figure_plots_both_models_in_percent():
    from viz.rnn import accuracy_by_length_figure
    fig = accuracy_by_length_figure({(0, 20): (1.0, 40), (20, 40): (0.95, 30)},
                                    {(20, 40): (0.25, 30), (0, 20): (0.9, 40)})
    att, fixed = fig.data
    assert list(att.x) == list(fixed.x) == ["0–19", "20–39"]
    np.testing.assert_allclose(list(att.y), [100.0, 95.0])
    np.testing.assert_allclose(list(fixed.y), [90.0, 25.0])
    assert list(fixed.customdata) == [40, 30]
    assert "with attention" == att.name and "without" in fixed.name
    assert "length" in fig.layout.xaxis.title.text and "%" in fig.layout.yaxis.title.text


def test_a_trained_gru_is_described_in_its_metadata():
    """core.recipe.metadata (the Train page's and the zoo's) names the GRU, not d_model/PE."""
    from core.recipe import describe
    assert describe(RNNConfig(d_hidden=48)) == "bidirectional GRU 48, additive attention"
    assert describe(RNNConfig(attention=False, bidirectional=False)) == "GRU 64, fixed context"


def test_accuracy_by_dates_counts_each_number_of_dates(shipped):
    """The page's bottleneck figure: the fixed-context GRU is right on one date, not three."""
    from core.tasks.dates_rnn import accuracy_by_dates
    model = shipped["dates_rnn_noattn"][0]
    got = accuracy_by_dates(model, TASK, n_each=40, seed=3, size=15)
    assert list(got) == [1, 2, 3] and all(n == 40 for _, n in got.values())
    assert got[1][0] > 0.9 and got[3][0] < 0.3, got
    assert got == accuracy_by_dates(model, TASK, n_each=40, seed=3, size=15)   # seeded


@pytest.mark.parametrize("attention", [True, False])
def test_training_gradients_match_finite_differences(attention):
    """The training path (core/models/gru_scan, core/models/rnn_ops: faster routes to the same
    gradients) against numerical differentiation of the whole model, in float64."""
    model = tiny(attention).double().train()
    src, tgt = inputs()
    names = [n for n, _ in model.named_parameters()]

    def loss(*params):
        out = torch.func.functional_call(model, dict(zip(names, params)), (src, tgt))
        return (out.logits * torch.linspace(-1, 1, out.logits.numel(), dtype=torch.float64)
                .view_as(out.logits)).sum()

    params = tuple(p.detach().clone().requires_grad_() for p in model.parameters())
    assert torch.autograd.gradcheck(loss, params, fast_mode=True)
