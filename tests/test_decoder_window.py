"""A real-valued decoder whose step embedding reads a window of past values (in_window): the
window against a float64 loop and a causal conv1d, causality, cached decoding, configs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import tiny_inputs, tiny_model
from core import Decoder, DecoderConfig
from core.config import MAX_IN_WINDOW, parameter_count
from core.models.decoder import lagged


def test_lagged_against_a_float64_loop():
    x = torch.randn(2, 5, 3, generator=torch.Generator().manual_seed(0))      # (B, T, n)
    w = 4
    ref = np.zeros((2, 5, w * 3))
    xn = x.double().numpy()
    for t in range(5):
        for i in range(w):                       # slot i holds x[t - i], zeros before the start
            if t - i >= 0:
                ref[:, t, i * 3:(i + 1) * 3] = xn[:, t - i]
    np.testing.assert_allclose(lagged(x, w).double().numpy(), ref, atol=0)
    before = torch.full((2, w - 1, 3), 7.0)                                   # earlier steps
    got = lagged(x, w, before)
    assert torch.equal(got[:, 0, 3:], before.flip(1).reshape(2, -1))          # x_t-1, x_t-2, ...


def test_window_embedding_is_a_causal_convolution(device):
    """model.embed equals torch's conv1d over the zero-padded past, the kernel's last tap on x_t."""
    model = tiny_model("decoder-real", device, in_window=5)
    x = tiny_inputs("decoder-real", device, T=9)[0]                          # (B, T, n_in)
    n, w = model.cfg.n_in, 5
    kernel = model.tok.weight.view(-1, w, n).permute(0, 2, 1).flip(-1)       # (D, n, w)
    ref = F.conv1d(F.pad(x.transpose(1, 2), (w - 1, 0)), kernel, model.tok.bias)  # (B, D, T)
    with torch.no_grad():
        torch.testing.assert_close(model.embed(x), ref.transpose(1, 2), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("pos", ["learned", "rope"])
def test_future_values_change_nothing_earlier(device, pos):
    model = tiny_model("decoder-real", device, pos=pos, in_window=4)
    x = tiny_inputs("decoder-real", device, T=8)[0]
    changed = x.clone()
    changed[:, 5:] += 3.0
    with torch.no_grad():
        a, b = model(x).logits, model(changed).logits
    torch.testing.assert_close(a[:, :5], b[:, :5], atol=1e-5, rtol=1e-5)
    assert (a[:, 5:] - b[:, 5:]).abs().max() > 1e-4


@pytest.mark.parametrize("T", [2, 6])                # fewer and more steps than the window
@pytest.mark.parametrize("pos", ["learned", "rope", "none"])
def test_cached_forecast_equals_the_uncached_forward(device, pos, T):
    model = tiny_model("decoder-real", device, pos=pos, in_window=4)
    x = tiny_inputs("decoder-real", device, T=T)[0]                          # (B, T, n_in)
    preds = model.forecast(x, 6)                                             # (B, 6, n_out)
    seq = x
    with torch.no_grad():
        for i in range(6):
            nxt = model(seq).logits[:, -1:]                                  # no cache
            torch.testing.assert_close(preds[:, i:i + 1], nxt, atol=1e-5, rtol=1e-5)
            seq = torch.cat([seq, nxt[..., :model.cfg.n_in]], 1)


def test_one_step_at_a_time_equals_the_whole_sequence(device):
    model = tiny_model("decoder-real", device, in_window=3)
    x = tiny_inputs("decoder-real", device, T=7)[0]
    cache = model.new_cache()
    with torch.no_grad():
        whole = model(x).logits                                              # (B, T, n_out)
        first = model(x[:, :2], cache=cache).logits                          # two steps, then ones
        steps = [first] + [model(x[:, t:t + 1], cache=cache).logits for t in range(2, 7)]
    torch.testing.assert_close(torch.cat(steps, 1), whole, atol=1e-5, rtol=1e-5)


def test_a_cache_without_the_window_is_refused(device):
    model = tiny_model("decoder-real", device, in_window=3)
    x = tiny_inputs("decoder-real", device, T=4)[0]
    cache = model.decoder.new_caches()           # the layers' caches alone, no past inputs
    with torch.no_grad(), pytest.raises(ValueError, match="new_cache"):
        model(x, cache=cache)
    with torch.no_grad():                        # a model that reads each value alone takes it
        tiny_model("decoder-real", device)(x, cache=cache)


@pytest.mark.parametrize("values", [dict(in_window=0), dict(in_window=MAX_IN_WINDOW + 1),
                                    dict(in_window=True), dict(in_window=2.0),
                                    dict(vocab_size=16, in_window=2)])
def test_bad_windows_raise(values):
    with pytest.raises(ValueError, match="in_window"):
        DecoderConfig(**{"vocab_size": 0, **values})


def test_parameter_count_counts_the_window():
    cfg = DecoderConfig(vocab_size=0, n_in=2, in_window=7, d_model=16, n_heads=2, n_layers=1)
    model = Decoder(cfg)
    assert model.tok.weight.shape == (16, 14)
    assert parameter_count(cfg) == sum(p.numel() for p in model.parameters())
