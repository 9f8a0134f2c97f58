"""core.budget: the estimate against the tensors a forward really returns and the memory it
really takes, the refusal message, the limit and its environment variable."""
from __future__ import annotations

import logging

import pytest
import torch

from conftest import KINDS, tiny_config
from core import budget
from core.budget import (BudgetError, Cost, Stack, check, check_model, config_cost, estimate,
                         memory_limit, seq2seq_cost, sequence_cost, vit_cost, vit_tokens)
from core.checkpoints import list_checkpoints
from core.config import ViTConfig
from core.models import build_model
from peak_memory import REPO, measure


def test_the_issues_vit_asks_for_about_100_gb_and_is_refused():
    """24 layers × 64 heads × (4,096 patches + CLS)² × 4 bytes ≈ 103 GB of attention weights."""
    cost = vit_cost(n_layers=24, n_heads=64, d_model=1024, image_size=256, patch_size=4)
    assert cost.weights_bytes == 24 * 64 * 4097 ** 2 * 4
    assert 100e9 < cost.weights_bytes < 105e9
    with pytest.raises(BudgetError) as e:
        check(cost, advice="use a smaller image")
    assert isinstance(e.value, ValueError)
    msg = str(e.value)
    assert msg.startswith("This input needs about 2") and "(103 GB of it attention weights)" in msg
    assert msg.endswith("; the limit is 2.0 GB — use a smaller image.")
    assert e.value.cost == cost and e.value.limit == budget.MEMORY_LIMIT_BYTES
    cfg = ViTConfig(image_size=256, patch_size=4, d_model=1024, n_heads=64, n_layers=24)
    assert config_cost(cfg).weights_bytes == cost.weights_bytes
    with pytest.raises(BudgetError, match="fewer patches"):
        check_model(cfg)


@pytest.mark.parametrize("kind", list(KINDS))
def test_weights_estimate_equals_what_a_forward_returns(kind):
    """The attention part of the estimate is exact: the bytes of every tensor in out.attention
    (self- and cross-attention, encoder and decoder sides, ViT patches + CLS), for B=3."""
    from conftest import tiny_inputs
    cfg = tiny_config(kind)
    model = build_model(cfg).eval()
    inputs = tiny_inputs(kind, "cpu", B=3, T=7, Tt=5)
    with torch.no_grad():
        out = model(*inputs, return_attention=True)
    held = sum(t.numel() * t.element_size() for t in out.attention.values())
    cost = config_cost(cfg, tokens=7, target_tokens=5, batch=3)
    assert cost.weights_bytes == held
    assert cost.scores_bytes == held
    assert cost.parameter_bytes == 4 * model.num_parameters()
    assert config_cost(cfg, tokens=7, target_tokens=5, batch=3, recorded=False).weights_bytes == 0


@pytest.mark.parametrize("attention", [True, False])
def test_rnn_estimate_counts_its_one_head_exactly(attention):
    """The GRU encoder-decoder's (B, 1, Tt, Ts) weights and its parameters, as returned."""
    from core.rnn_config import RNNConfig
    cfg = RNNConfig(d_emb=8, d_hidden=16, d_attn=12, attention=attention)
    model = build_model(cfg).eval()
    src = torch.randint(1, cfg.src_vocab_size, (3, 7))                    # (B, Ts)
    tgt = torch.randint(1, cfg.tgt_vocab_size, (3, 5))                    # (B, Tt)
    with torch.no_grad():
        out = model(src, tgt, return_attention=True)
    held = sum(t.numel() * t.element_size() for t in (out.attention or {}).values())
    cost = config_cost(cfg, tokens=7, target_tokens=5, batch=3)
    assert cost.weights_bytes == held == (3 * 5 * 7 * 4 if attention else 0)
    assert cost.parameter_bytes == 4 * model.num_parameters()
    assert config_cost(cfg.replace(max_len=64)).total > cost.total


def test_seq2seq_counts_cross_attention_from_target_to_source():
    cost = seq2seq_cost(n_layers=2, n_dec_layers=3, n_heads=4, d_model=32, src_tokens=10,
                        tgt_tokens=6)
    assert cost.weights_bytes == 4 * 4 * (2 * 10 * 10 + 3 * (6 * 6 + 6 * 10))


def test_working_memory_and_activations_follow_the_documented_formula():
    s = Stack(n_layers=3, n_heads=2, d_model=16, tokens=10, d_ff=48)
    cost = estimate([s], batch=2)
    layer = 2 * 2 * 10 * 10 * 4
    act = 3 * 2 * 10 * (budget.ACTIVATION_MULTIPLE * 16 + 2 * 48) * 4
    assert cost.working_bytes == 2 * layer + act
    assert cost.total == 3 * layer * 2 + 2 * layer + act
    assert sequence_cost(n_layers=3, n_heads=2, d_model=16, tokens=10, d_ff=48, batch=2) == cost


def test_vit_tokens():
    assert vit_tokens(224, 16) == 197 and vit_tokens(16, 4) == 17 and vit_tokens(8, 8, 0) == 1


@pytest.mark.parametrize("bad", [dict(tokens=-1), dict(n_heads=0), dict(n_layers=1.5),
                                 dict(tokens=True), dict(batch=0), dict(n_params="3"),
                                 dict(d_model=-8, d_ff=32), dict(d_ff=-1)])
def test_bad_sizes_are_value_errors(bad):
    args = {**dict(n_layers=1, n_heads=1, d_model=8, tokens=4), **bad}
    with pytest.raises(ValueError, match="must be a whole number"):
        sequence_cost(**args)


def test_shipped_models_on_their_longest_inputs_fit_the_default_limit():
    rows = [r for r in list_checkpoints(REPO / "checkpoints") if r["error"] is None]
    assert len(rows) >= 5
    for r in rows:
        check_model(r["config"])
        cost = check(config_cost(r["config"]))            # max_len: the longest input
        assert cost.total < budget.MEMORY_LIMIT_BYTES / 50, (r["name"], cost)


def test_the_limit_and_its_environment_variable(monkeypatch, caplog):
    monkeypatch.delenv(budget.ENV_VAR, raising=False)
    assert memory_limit() == budget.MEMORY_LIMIT_BYTES == 2_000_000_000
    monkeypatch.setenv(budget.ENV_VAR, "8000")
    assert memory_limit() == 8_000_000_000
    monkeypatch.setenv(budget.ENV_VAR, " 0.5 ")
    assert memory_limit() == 500_000
    cost = Cost(0, 0, 0, 600_000)
    with pytest.raises(BudgetError, match="about 600 KB of memory; the limit is 500 KB"):
        check(cost)
    assert check(cost, limit=600_000) is cost
    for junk in ("lots", "-5", "0", "nan", "inf", "1e400"):
        monkeypatch.setenv(budget.ENV_VAR, junk)
        with caplog.at_level(logging.WARNING, logger="core.budget"):
            caplog.clear()
            assert memory_limit() == budget.MEMORY_LIMIT_BYTES, junk
        assert budget.ENV_VAR in caplog.text


def test_human_sizes():
    assert [budget.human(n) for n in (512, 12_345, 3.25e6, 3.2e9, 103.1e9, 2e12)] == \
        ["512 bytes", "12 KB", "3.2 MB", "3.2 GB", "103 GB", "2.0 TB"]


# ----------------------------------------------------------------------------- measured peaks
_SETUP = """
import torch
from core import DecoderConfig, EncoderConfig, Seq2SeqConfig, ViTConfig, build_model
from core.budget import config_cost
torch.manual_seed(0)
torch.set_num_threads(1)
CASES = {
    "encoder": (EncoderConfig(d_model=64, n_heads=4, n_layers=3, max_len=640, vocab_size=16),
                lambda: (torch.cat([torch.randint(1, 16, (1, 600)),
                                    torch.zeros(1, 40, dtype=torch.long)], 1),)),   # padded
    "decoder": (DecoderConfig(d_model=64, n_heads=8, n_layers=2, max_len=512, vocab_size=16),
                lambda: (torch.randint(0, 16, (1, 512)),)),                        # causal
    "seq2seq": (Seq2SeqConfig(d_model=64, n_heads=4, n_layers=2, max_len=512),
                lambda: (torch.randint(1, 16, (1, 400)), torch.randint(1, 16, (1, 300)))),
    "vit": (ViTConfig(image_size=64, patch_size=2, d_model=64, n_heads=4, n_layers=2),
            lambda: (torch.randn(1, 1, 64, 64),)),                                 # 1025 tokens
}
MODELS = {k: build_model(cfg).eval() for k, (cfg, _) in CASES.items()}
with torch.no_grad():
    for k, (cfg, make) in CASES.items():
        MODELS[k](*[t[:, :8] if t.dim() == 2 else t for t in make()], return_attention=True)
"""
_FORWARD = """
cfg, make = CASES[{kind!r}]
x = make()
with torch.no_grad():
    out = MODELS[{kind!r}](*x, return_attention=True)
lengths = [t.shape[1] for t in x if t.dim() == 2]
cost = config_cost(cfg, *lengths)
RESULT = cost.total - cost.parameter_bytes
"""


def test_estimate_is_within_a_factor_of_two_of_the_measured_peak():
    """Real forwards with attention recorded (padded encoder, causal decoder, seq2seq with
    cross-attention, a 1,025-token ViT): estimate / measured resident peak in [0.5, 2]."""
    kinds = ("encoder", "decoder", "seq2seq", "vit")
    got = measure({k: _FORWARD.format(kind=k) for k in kinds}, setup=_SETUP)
    for k in kinds:
        ratio = got[k]["result"] / got[k]["rss_peak"]
        assert 0.5 <= ratio <= 2, (k, ratio, got[k])
        assert got[k]["rss_peak"] > 10e6, (k, got[k])      # the probe saw the tensors
