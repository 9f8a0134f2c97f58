"""Checkpoints: round trips for every model kind, atomic saves, and every way a file can be bad."""
from __future__ import annotations

import io
import json
import os
import pickle
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save

import core.checkpoint_files as ckpt_files
import core.checkpoints as ckpt
from conftest import KINDS, tiny_inputs, tiny_model
from core.checkpoints import (CheckpointError, load_checkpoint, read_metadata,
                              save_checkpoint)


def _logits(model, kind, device):
    with torch.no_grad():
        return model(*tiny_inputs(kind, device)).logits


@pytest.fixture
def no_unpickling(monkeypatch):
    """Fail the test if anything tries to unpickle."""
    def boom(*args, **kwargs):
        raise AssertionError("a checkpoint was unpickled")

    class NoUnpickler:
        def __init__(self, *args, **kwargs):
            boom()

    monkeypatch.setattr(pickle, "loads", boom)
    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "Unpickler", NoUnpickler)
    monkeypatch.setattr(torch, "load", boom)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _metadata(model, **changes):
    meta = {"format": ckpt.FORMAT, "version": "1", "kind": model.kind,
            "config": json.dumps(model.cfg.to_dict()), "info": "{}"}
    meta.update(changes)
    return meta


def _tensors(model):
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


# ----------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("kind", list(KINDS))
def test_round_trip_every_kind(device, tmp_path, kind, no_unpickling):
    model = tiny_model(kind, device, pos="sincos2d" if kind == "vit" else "rope")
    info = {"task": "sort", "steps": 120, "loss": [1.5, 0.25], "note": "ünïcode"}
    path = save_checkpoint(model, tmp_path / "sub" / f"{kind}.safetensors", info=info)
    assert path.exists() and path.read_bytes()[8:9] == b"{"
    loaded, got_info = load_checkpoint(path, device=device)
    assert type(loaded) is type(model) and loaded.cfg == model.cfg
    assert got_info == info
    assert not loaded.training
    assert loaded.device.type == device.type
    torch.testing.assert_close(_logits(loaded, kind, device), _logits(model, kind, device))
    meta = read_metadata(path)
    assert meta == {"kind": model.kind, "config": model.cfg, "info": info}
    assert os.listdir(path.parent) == [path.name]          # no temporary file left behind


def test_round_trip_trained_weights_not_fresh_init(device, tmp_path):
    """The loaded model has the saved weights, not a new random initialisation."""
    model = tiny_model("decoder-tokens", device, seed=3)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)
    path = save_checkpoint(model, tmp_path / "m.safetensors")
    loaded, info = load_checkpoint(path, device=device)
    assert info == {}
    for (n, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a.cpu(), b.cpu()), n


# ----------------------------------------------------------------------------- atomic save
@pytest.mark.parametrize("fail_at", ["replace", "write", "fsync"])
def test_failed_save_keeps_earlier_file(device, tmp_path, monkeypatch, fail_at):
    path = tmp_path / "model.safetensors"
    old = tiny_model("encoder-tagger", device, seed=1)
    save_checkpoint(old, path, info={"version": "old"})
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    if fail_at == "replace":
        monkeypatch.setattr(ckpt.os, "replace", fail)
    elif fail_at == "fsync":
        monkeypatch.setattr(ckpt.os, "fsync", fail)
    else:
        real_fdopen = os.fdopen

        class HalfWriter(io.RawIOBase):
            def __init__(self, f):
                self.f = f

            def write(self, data):
                self.f.write(bytes(data[: len(data) // 2]))   # half of it lands, then a crash
                self.f.flush()
                raise OSError("disk full")

            def close(self):
                self.f.close()

        monkeypatch.setattr(ckpt.os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    new = tiny_model("encoder-tagger", device, seed=2)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(new, path, info={"version": "new"})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.safetensors"]   # no temp file left
    assert path.read_bytes() == before
    loaded, info = load_checkpoint(path, device=device)
    assert info == {"version": "old"}
    torch.testing.assert_close(_logits(loaded, "encoder-tagger", device),
                               _logits(old, "encoder-tagger", device))


# ----------------------------------------------------------------------------- bad files
def _assert_refused(path, match=None):
    for reader in (lambda: load_checkpoint(path), lambda: read_metadata(path)):
        with pytest.raises(CheckpointError, match=match) as e:
            reader()
        msg = str(e.value)
        assert path.name in msg and len(msg) < 400 and "Traceback" not in msg


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)


@pytest.fixture
def good_file(tmp_path, device):
    model = tiny_model("decoder-tokens", device)
    return save_checkpoint(model, tmp_path / "good.safetensors", info={"a": 1}), model


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_truncated_file(tmp_path, good_file, keep, no_unpickling):
    path, _ = good_file
    data = path.read_bytes()
    bad = _write(tmp_path / "cut.safetensors", data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="truncated|corrupt"):
        load_checkpoint(bad)


def test_truncated_inside_header(tmp_path, good_file, no_unpickling):
    path, _ = good_file
    _assert_refused(_write(tmp_path / "cut.safetensors", path.read_bytes()[:40]))
    _assert_refused(_write(tmp_path / "tiny.safetensors", path.read_bytes()[:5]))


@pytest.mark.parametrize("seed", range(4))
def test_random_bytes(tmp_path, seed, no_unpickling):
    g = torch.Generator().manual_seed(seed)
    data = bytes(torch.randint(0, 256, (4096,), generator=g, dtype=torch.uint8).tolist())
    _assert_refused(_write(tmp_path / "noise.safetensors", data))


def test_plausible_header_length_then_garbage(tmp_path, no_unpickling):
    data = struct.pack("<Q", 64) + bytes(range(200))
    _assert_refused(_write(tmp_path / "garbage.safetensors", data), match="not a safetensors")


def test_empty_file(tmp_path, no_unpickling):
    _assert_refused(_write(tmp_path / "empty.safetensors", b""))


def test_missing_file(tmp_path):
    _assert_refused(tmp_path / "nothing.safetensors", match="cannot read")


def test_directory_instead_of_file(tmp_path):
    folder = tmp_path / "folder.safetensors"
    folder.mkdir()
    _assert_refused(folder)


@pytest.mark.parametrize("how", ["zip", "legacy", "pickle-protocol-0"])
def test_pickled_pt_file_is_refused_unread(tmp_path, device, how):
    model = tiny_model("decoder-tokens", device)
    path = tmp_path / "model.pt"
    if how == "zip":
        torch.save(model.state_dict(), path)
    elif how == "legacy":
        torch.save(model.state_dict(), path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps({"weights": [1.0, 2.0]}, protocol=0))
    # only now forbid unpickling (torch.save above is fine); the loader must refuse by header
    with pytest.MonkeyPatch.context() as mp:
        def boom(*args, **kwargs):
            raise AssertionError("a checkpoint was unpickled")
        for mod, attr in ((pickle, "loads"), (pickle, "load"), (torch, "load")):
            mp.setattr(mod, attr, boom)
        mp.setattr(pickle, "Unpickler", boom)
        match = "pickle" if how != "pickle-protocol-0" else None
        _assert_refused(path, match=match)


def test_foreign_safetensors_without_metadata(tmp_path, good_file, no_unpickling):
    _, model = good_file
    path = _write(tmp_path / "foreign.safetensors", st_save(_tensors(model)))
    _assert_refused(path, match="not one saved by this app")
    other = _write(tmp_path / "other.safetensors",
                   st_save(_tensors(model), metadata={"format": "pt"}))
    _assert_refused(other, match="not one saved by this app")


@pytest.mark.parametrize("changes,match", [
    (dict(kind="mamba"), "unknown model kind"),
    (dict(config=json.dumps({"d_model": 16, "n_experts": 8})), "unknown config fields"),
    (dict(config="{not json"), "invalid"),
    (dict(config="[1, 2]"), "invalid"),
    (dict(config=json.dumps({"d_model": 10 ** 6, "n_heads": 1})), "d_model"),
    (dict(config=json.dumps({"n_layers": 10 ** 5})), "n_layers"),
    (dict(config=json.dumps({"d_model": "16"})), "d_model"),
    (dict(config=json.dumps({"dropout": "0.1"})), "dropout"),
    (dict(config=json.dumps({"n_out": -3})), "n_out"),
    (dict(config=json.dumps({"pad_id": [0]})), "pad_id"),
    (dict(info="[1, 2]"), "info"),
    (dict(info="{broken"), "invalid"),
])
def test_bad_model_description(tmp_path, good_file, changes, match, no_unpickling):
    _, model = good_file
    meta = _metadata(model, **changes)
    path = _write(tmp_path / "bad.safetensors", st_save(_tensors(model), metadata=meta))
    _assert_refused(path, match=match)


def test_missing_kind_or_config(tmp_path, good_file, no_unpickling):
    _, model = good_file
    for key in ("kind", "config"):
        meta = _metadata(model)
        del meta[key]
        path = _write(tmp_path / f"no-{key}.safetensors", st_save(_tensors(model), metadata=meta))
        _assert_refused(path, match="invalid")


def _raw_safetensors(header: dict, payload: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return struct.pack("<Q", len(head)) + head + payload


@pytest.mark.parametrize("header", [
    {"__metadata__": "a string"},
    {"__metadata__": ["a", "list"]},
    {"__metadata__": {"format": "attention-visualizer", "kind": ["decoder"], "config": "{}"}},
    {"__metadata__": {"format": "attention-visualizer", "kind": "decoder", "config": {}}},
])
def test_hand_made_headers(tmp_path, header, no_unpickling):
    _assert_refused(_write(tmp_path / "hand.safetensors", _raw_safetensors(header)))


@pytest.mark.parametrize("config,match", [
    ({"patch_size": 4.0}, "patch_size"),
    ({"d_model": 18, "n_heads": 2, "pos": "sincos2d"}, "sincos2d"),
])
def test_vit_configs_that_cannot_build_a_model(tmp_path, device, config, match, no_unpickling):
    model = tiny_model("vit", device)
    meta = _metadata(model, config=json.dumps({**model.cfg.to_dict(), **config}))
    path = _write(tmp_path / "vit.safetensors", st_save(_tensors(model), metadata=meta))
    _assert_refused(path, match=match)


def test_deeply_nested_header(tmp_path, no_unpickling):
    head = b'{"a": ' + b"[" * 200_000
    data = struct.pack("<Q", len(head)) + head
    _assert_refused(_write(tmp_path / "deep.safetensors", data), match="corrupt")


def test_header_that_is_not_an_object(tmp_path, no_unpickling):
    data = struct.pack("<Q", 6) + b"[1, 2]"
    _assert_refused(_write(tmp_path / "list.safetensors", data), match="not a safetensors")
    data = struct.pack("<Q", 7) + b"{1: 2}x"
    _assert_refused(_write(tmp_path / "badjson.safetensors", data), match="corrupt")


@pytest.mark.parametrize("first_bytes", [b"\x80", b"PK"])
def test_good_file_whose_length_prefix_looks_like_a_pickle(tmp_path, device, first_bytes):
    """The 8-byte header length of a real checkpoint can start with 0x80 or spell "PK"; such a
    file is still a checkpoint (only the structure decides, not the first bytes alone)."""
    model = tiny_model("decoder-tokens", device)
    path = tmp_path / "lucky.safetensors"
    save_checkpoint(model, path, info={"pad": ""})
    header_len = struct.unpack("<Q", path.read_bytes()[:8])[0]
    target = struct.unpack("<H", first_bytes.ljust(2, b"\x00"))[0]
    modulus = 256 if len(first_bytes) == 1 else 65536
    for extra in range(modulus):                     # grow the info until the prefix matches
        if (header_len + extra) % modulus == target:
            break
    save_checkpoint(model, path, info={"pad": "x" * extra})
    assert path.read_bytes()[: len(first_bytes)] == first_bytes
    loaded, info = load_checkpoint(path, device=device)
    assert info == {"pad": "x" * extra}
    torch.testing.assert_close(_logits(loaded, "decoder-tokens", device),
                               _logits(model, "decoder-tokens", device))


def test_mismatched_weights(tmp_path, device, no_unpickling):
    small = tiny_model("decoder-tokens", device)                     # vocab 13
    big = tiny_model("decoder-tokens", device, vocab_size=14)
    path = _write(tmp_path / "mismatch.safetensors",
                  st_save(_tensors(small), metadata=_metadata(big)))
    with pytest.raises(CheckpointError, match="shape") as e:
        load_checkpoint(path)
    assert "mismatch.safetensors" in str(e.value)
    # a config that wants different layers: missing / unexpected weights
    deeper = tiny_model("decoder-tokens", device, n_layers=3)
    path2 = _write(tmp_path / "layers.safetensors",
                   st_save(_tensors(small), metadata=_metadata(deeper)))
    with pytest.raises(CheckpointError, match="do not match"):
        load_checkpoint(path2)
    extra = {**_tensors(small), "stowaway": torch.zeros(3)}
    path3 = _write(tmp_path / "extra.safetensors", st_save(extra, metadata=_metadata(small)))
    with pytest.raises(CheckpointError, match="stowaway"):
        load_checkpoint(path3)
    wrong_dtype = {k: v.double() for k, v in _tensors(small).items()}
    path4 = _write(tmp_path / "dtype.safetensors",
                   st_save(wrong_dtype, metadata=_metadata(small)))
    with pytest.raises(CheckpointError, match="float64"):
        load_checkpoint(path4)


def test_oversized_file(tmp_path, good_file, monkeypatch, no_unpickling):
    path, _ = good_file
    monkeypatch.setattr(ckpt_files, "MAX_BYTES", path.stat().st_size - 1)
    _assert_refused(path, match="larger")
    monkeypatch.setattr(ckpt_files, "MAX_BYTES", path.stat().st_size)
    load_checkpoint(path)                                           # exactly at the limit is fine


def test_hostile_config_is_refused_before_building(tmp_path, good_file, monkeypatch,
                                                   no_unpickling):
    """A config asking for a giant model is refused by config validation; no model is built."""
    _, model = good_file
    built = _build_spy(monkeypatch, "decoder")
    cfg = {**model.cfg.to_dict(), "d_model": 2 ** 20, "n_heads": 1}
    path = _write(tmp_path / "hostile.safetensors",
                  st_save(_tensors(model), metadata=_metadata(model, config=json.dumps(cfg))))
    _assert_refused(path, match="d_model")
    assert built == []


def test_parameter_count_matches_every_built_model_without_building():
    """config.parameter_count is what load_checkpoint checks before allocating: it must equal the
    built model's count for every kind and option (random configs, fresh each run)."""
    import random

    from core.config import (POSITIONAL_KINDS, VIT_POSITIONAL_KINDS, DecoderConfig, EncoderConfig,
                             Seq2SeqConfig, ViTConfig, parameter_count)
    from core.models import build_model
    rng = random.Random()
    for _ in range(60):
        common = dict(d_model=rng.choice([8, 16]), n_heads=rng.choice([1, 2, 4]),
                      n_layers=rng.choice([0, 1, 2]), d_ff=rng.choice([0, 24]),
                      norm=rng.choice(["pre", "post"]), bias=rng.choice([True, False]),
                      max_len=rng.choice([5, 17]))
        cfg = rng.choice([
            lambda: EncoderConfig(**common, vocab_size=rng.randint(1, 20), n_classes=3,
                                  head=rng.choice(["tagger", "classifier"]),
                                  pos=rng.choice(POSITIONAL_KINDS)),
            lambda: DecoderConfig(**common, vocab_size=rng.choice([0, 7]), n_in=2,
                                  n_out=rng.randint(0, 3), pos=rng.choice(POSITIONAL_KINDS)),
            lambda: Seq2SeqConfig(**common, src_vocab_size=5, tgt_vocab_size=6,
                                  n_dec_layers=rng.randint(0, 2), pos=rng.choice(POSITIONAL_KINDS)),
            lambda: ViTConfig(**common, image_size=8, patch_size=rng.choice([2, 4]),
                              channels=rng.randint(1, 3), pos=rng.choice(VIT_POSITIONAL_KINDS)),
        ])()
        assert parameter_count(cfg) == build_model(cfg).num_parameters(), cfg


def _build_spy(monkeypatch, kind: str) -> list:
    """Record the default device of every build of `kind` (a real build is on the CPU/GPU; the
    shape check builds on "meta", which allocates nothing)."""
    real, devices = ckpt.MODELS[kind], []

    def spy(cfg):
        devices.append(torch.get_default_device().type)
        return real(cfg)

    monkeypatch.setitem(ckpt.MODELS, kind, spy)
    return devices


def test_config_within_limits_but_far_larger_than_the_file_is_refused_before_building(
        tmp_path, device, no_unpickling, monkeypatch):
    """d_model 1024 x 24 layers passes config validation and the memory budget (~300M
    parameters, 1.2 GB) but the file holds a tiny model: refused from the header's tensor table,
    with no model built anywhere but on the meta device."""
    small = tiny_model("decoder-tokens", device)
    huge = dict(small.cfg.to_dict(), d_model=1024, n_heads=8, n_layers=24, max_len=4096)
    built = _build_spy(monkeypatch, "decoder")
    path = _write(tmp_path / "bomb.safetensors",
                  st_save(_tensors(small), metadata=_metadata(small, config=json.dumps(huge))))
    with pytest.raises(CheckpointError, match="needs .* parameters"):
        load_checkpoint(path)
    assert built == ["meta"]


def test_read_metadata_reads_only_the_header(tmp_path, good_file, monkeypatch):
    """Listing a folder must not read every checkpoint's weights."""
    path, model = good_file
    data = path.read_bytes()
    header_end = 8 + struct.unpack("<Q", data[:8])[0]
    assert header_end < len(data)
    read = []
    real_open_entry = ckpt_files.open_entry

    class Counting(io.RawIOBase):
        def __init__(self, f):
            self.f = f

        def read(self, n=-1):
            chunk = self.f.read(n)
            read.append(len(chunk))
            return chunk

        def readinto(self, buf):
            got = self.f.readinto(buf)
            read.append(got)
            return got

        def close(self):
            self.f.close()
            super().close()

    def counting(p, *args, **kwargs):
        f, size = real_open_entry(p, *args, **kwargs)
        return Counting(f), size

    monkeypatch.setattr(ckpt_files, "open_entry", counting)
    meta = read_metadata(path)
    assert meta["info"] == {"a": 1} and meta["kind"] == model.kind
    assert sum(read) == header_end
    read.clear()
    load_checkpoint(path)
    assert sum(read) == len(data)
