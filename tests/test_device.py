"""Device choice: CUDA, then Apple MPS, then CPU; an explicit request is honoured or refused."""
from __future__ import annotations

import pytest
import torch

import core
import core.device as dev


def _fake(monkeypatch, cuda: bool, mps: bool):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(dev, "_mps_available", lambda: mps)


@pytest.mark.parametrize("cuda,mps,expected", [
    (True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu"),
])
def test_auto_choice_follows_availability(monkeypatch, cuda, mps, expected):
    _fake(monkeypatch, cuda, mps)
    assert core.get_device() == torch.device(expected)
    assert core.get_device(None).type == expected


def test_the_real_default_runs_a_model():
    """Whatever this machine has, the chosen device holds a model and runs it."""
    d = core.get_device()
    model = core.Decoder(core.DecoderConfig.preset("nano", vocab_size=8)).to(d).eval()
    out = model(torch.zeros(1, 3, dtype=torch.long, device=d), return_attention=True)
    assert out.logits.device.type == d.type and out.logits.shape == (1, 3, 8)


def test_cpu_can_always_be_forced(monkeypatch):
    assert core.get_device("cpu") == torch.device("cpu")
    assert core.get_device(torch.device("cpu")) == torch.device("cpu")
    _fake(monkeypatch, True, True)           # even when accelerators exist
    assert core.get_device("cpu") == torch.device("cpu")


def test_forced_cuda_when_available(monkeypatch):
    _fake(monkeypatch, True, False)
    assert core.get_device("cuda:0") == torch.device("cuda", 0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_raises():
    with pytest.raises(ValueError, match="CUDA"):
        core.get_device("cuda")


def test_unavailable_requests_raise(monkeypatch):
    _fake(monkeypatch, False, False)
    with pytest.raises(ValueError, match="CUDA"):
        core.get_device("cuda")
    with pytest.raises(ValueError, match="MPS"):
        core.get_device("mps")


def test_describe_device():
    assert core.describe_device(torch.device("cpu")).startswith("CPU (")
    assert str(torch.get_num_threads()) in core.describe_device(torch.device("cpu"))

