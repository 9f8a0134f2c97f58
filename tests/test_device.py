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


def test_real_default_matches_this_machine():
    d = core.get_device()
    if torch.cuda.is_available():
        assert d.type == "cuda"
    elif dev._mps_available():
        assert d.type == "mps"
    else:
        assert d == torch.device("cpu")
    torch.zeros(2, device=d)                # and it can hold a tensor


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
    assert isinstance(core.describe_device(), str)


def test_device_fixture_is_get_device(device):
    assert device == core.get_device()
