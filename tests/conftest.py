"""Shared fixtures for the core test suite: the device, seeding and tiny models of every kind.

Every test builds its tensors and models on `core.get_device()` (the `device` fixture), so the
same suite checks CUDA, MPS or the CPU, whichever the machine has.
"""
from __future__ import annotations

import contextlib

import pytest
import torch

import core
from core import DecoderConfig, EncoderConfig, Seq2SeqConfig, ViTConfig, build_model

# Tiny sizes keep the whole suite fast on two CPU cores.
TINY = dict(d_model=16, n_heads=2, n_layers=2, d_ff=32, max_len=16)

# (name, config class, extra fields) for every model kind the attention contract covers.
KINDS = {
    "encoder-tagger": (EncoderConfig, dict(vocab_size=11, n_classes=7, head="tagger")),
    "encoder-classifier": (EncoderConfig, dict(vocab_size=11, n_classes=3, head="classifier")),
    "decoder-tokens": (DecoderConfig, dict(vocab_size=13)),
    "decoder-real": (DecoderConfig, dict(vocab_size=0, n_in=2)),
    "seq2seq": (Seq2SeqConfig, dict(src_vocab_size=11, tgt_vocab_size=9, n_dec_layers=1)),
    "vit": (ViTConfig, dict(image_size=8, patch_size=2, channels=2, n_classes=5)),
}
SEQ_POS = ("learned", "sinusoidal", "rope", "none")
VIT_POS = ("learned", "sincos2d", "none")


def tiny_config(kind: str, **overrides):
    cls, extra = KINDS[kind]
    return cls(**{**TINY, **extra, **overrides})


def tiny_model(kind: str, device, seed: int = 0, **overrides):
    """A tiny model of `kind` in eval mode on `device`, with its own seeded initialisation."""
    torch.manual_seed(seed)
    return build_model(tiny_config(kind, **overrides)).to(device).eval()


def tiny_inputs(kind: str, device, B: int = 2, T: int = 6, Tt: int = 5, pad: bool = True,
                seed: int = 1):
    """Positional inputs for model(*inputs). Token inputs avoid pad_id (0) except where `pad`
    puts padding at the end of row 0 (encoders and seq2seq sources)."""
    g = torch.Generator().manual_seed(seed)
    cfg = tiny_config(kind)
    if kind.startswith("encoder"):
        idx = torch.randint(1, cfg.vocab_size, (B, T), generator=g)
        if pad:
            idx[0, -2:] = cfg.pad_id
        return (idx.to(device),)
    if kind == "decoder-tokens":
        return (torch.randint(0, cfg.vocab_size, (B, T), generator=g).to(device),)
    if kind == "decoder-real":
        return (torch.randn(B, T, cfg.n_in, generator=g).to(device),)
    if kind == "seq2seq":
        src = torch.randint(1, cfg.src_vocab_size, (B, T), generator=g)
        if pad:
            src[0, -2:] = cfg.pad_id
        tgt = torch.randint(1, cfg.tgt_vocab_size, (B, Tt), generator=g)
        return src.to(device), tgt.to(device)
    if kind == "vit":
        return (torch.randn(B, cfg.channels, cfg.image_size, cfg.image_size, generator=g)
                .to(device),)
    raise KeyError(kind)


@pytest.fixture
def one_thread():
    """torch on one CPU thread for the test: small models train fastest so, and two threads
    spin against each other on a busy 2-core machine (under load 17 a sort step took 2.5 s
    instead of 0.09 s; tests/test_train.py took 19 minutes). Used by the files that train;
    nothing they check depends on the thread count."""
    with torch_threads(1):
        yield


@pytest.fixture
def two_threads():
    """torch on two CPU threads for the test (what a job shares with others)."""
    with torch_threads(2):
        yield


@contextlib.contextmanager
def torch_threads(n: int):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture
def device() -> torch.device:
    return core.get_device()


@pytest.fixture(autouse=True)
def _seed():
    """Fresh but reproducible random inputs in every test."""
    torch.manual_seed(1234)
    yield


def randn(*shape, device, seed: int = 0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)
