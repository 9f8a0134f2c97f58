"""The config fields pretrained checkpoints need (norm_eps, activation) keep today's models as
they were, are validated, and change the blocks exactly as named; every model fills .hidden."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from conftest import KINDS, tiny_config, tiny_inputs, tiny_model
from core import DecoderConfig, config_from_dict
from core.blocks import Block


def test_defaults_are_torchs_layernorm_and_exact_gelu():
    cfg = DecoderConfig()
    assert cfg.norm_eps == 1e-5 and cfg.activation == "gelu"
    block = Block(cfg)
    assert block.norm1.eps == 1e-5 and isinstance(block.ff.act, torch.nn.GELU)
    assert block.ff.act.approximate == "none"
    old = {k: v for k, v in cfg.to_dict().items() if k not in ("norm_eps", "activation")}
    assert config_from_dict("decoder", old) == cfg          # checkpoints saved before load


@pytest.mark.parametrize("bad, message", [
    (dict(norm_eps=0.0), "norm_eps must be"), (dict(norm_eps="1e-5"), "norm_eps must be"),
    (dict(norm_eps=True), "norm_eps must be"), (dict(activation="swish2"), "activation must"),
])
def test_bad_values_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        DecoderConfig(**bad)


@pytest.mark.parametrize("name, fn", [
    ("gelu", lambda x: 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))),
    ("gelu_new", lambda x: 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi)
                                                     * (x + 0.044715 * x ** 3)))),
    ("relu", lambda x: x.clamp(min=0)), ("silu", lambda x: x * torch.sigmoid(x)),
    ("quick_gelu", lambda x: x * torch.sigmoid(1.702 * x)),
])
def test_activation_and_eps_reach_the_blocks(name, fn):
    cfg = DecoderConfig(d_model=8, n_heads=2, activation=name, norm_eps=1e-12)
    block = Block(cfg)
    x = torch.linspace(-4, 4, 64).double()
    assert torch.allclose(block.ff.act.double()(x), fn(x), atol=1e-12)
    assert block.norm2.eps == 1e-12
    h = torch.randn(2, 3, 8)
    assert torch.allclose(block.norm2(h), F.layer_norm(h, (8,), block.norm2.weight,
                                                       block.norm2.bias, 1e-12))


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_model_returns_its_final_hidden_states(kind):
    model = tiny_model(kind, "cpu")
    out = model(*tiny_inputs(kind, "cpu"))
    cfg = tiny_config(kind)
    assert out.hidden is not None and out.hidden.size(-1) == cfg.d_model
    if kind.endswith("tagger") or kind.startswith("decoder") or kind == "seq2seq":
        # a per-token head applied to .hidden gives the logits
        assert torch.allclose(model.head(out.hidden), out.logits, atol=1e-6)
    elif kind == "vit":
        assert out.hidden.shape[1] == 1 + cfg.n_patches
        assert torch.allclose(model.head(out.hidden[:, 0]), out.logits, atol=1e-6)
