"""Properties of the validators of files and descriptions: config_from_dict, a checkpoint's
header and metadata (read_metadata, load_checkpoint, list_checkpoints), image bytes
(load_image). Any input -> a valid value or ValueError (CheckpointError) with a message."""
from __future__ import annotations

import dataclasses
import io
import json
import struct
import tempfile
from pathlib import Path

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from safetensors.torch import save as st_save

from core.checkpoints import CheckpointError, list_checkpoints, load_checkpoint, read_metadata
from core.config import CONFIGS, config_from_dict
from core.images import load_image
from core.models import MODELS, build_model
from properties import NASTY, PROPERTY, outcome

FIELDS = sorted({f.name for cls in CONFIGS.values() for f in dataclasses.fields(cls)})
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 6, 10 ** 6),
                         st.integers(), st.floats(), st.text(max_size=12),
                         st.sampled_from(["learned", "rope", "sincos2d", "pre", "post",
                                          "tagger", "classifier", "none", "16", "1e309"]),
                         st.sampled_from([0, 1, 2, 4, 8, 16, 32, 64, 1024, 4096, 65536]))
JSON = st.recursive(JSON_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)
CONFIG_VALUES = st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)),
                                JSON, max_size=8)
KINDS = st.one_of(st.sampled_from(sorted(CONFIGS)), st.text(max_size=10), JSON_SCALARS)


def _valid_config(cfg, kind):
    """A config config_from_dict accepted builds a model (on the meta device: no memory)."""
    assert isinstance(cfg, CONFIGS[kind])
    with torch.device("meta"):
        MODELS[kind](cfg)


@st.composite
def mutated_configs(draw):
    """A real config's fields, a few of them replaced (the accepting branch is reached too)."""
    kind = draw(st.sampled_from(sorted(CONFIGS)))
    values = CONFIGS[kind]().to_dict()
    for key in draw(st.lists(st.sampled_from(sorted(values)), max_size=3, unique=True)):
        values[key] = draw(st.one_of(st.sampled_from([0, 1, 2, 4, 8, 16, 32, 64, 0.5]),
                                     JSON_SCALARS))
    return kind, values


@PROPERTY
@given(drawn=st.one_of(st.tuples(KINDS, st.one_of(CONFIG_VALUES, JSON)), mutated_configs()))
def test_config_from_dict(drawn):
    kind, values = drawn
    cfg = outcome(config_from_dict, kind, values)
    if cfg is not None:
        _valid_config(cfg, kind)
        assert config_from_dict(kind, cfg.to_dict()) == cfg


# ----------------------------------------------------------------------------- checkpoints
_TINY_SIZES = {"rnn": dict(d_emb=4, d_hidden=8, d_attn=8, max_len=8)}
_TINY = {kind: build_model(CONFIGS[kind](**_TINY_SIZES.get(
             kind, dict(d_model=8, n_heads=2, n_layers=1, max_len=8))))
         for kind in CONFIGS}
_TENSORS = {k: {n: t.detach().contiguous() for n, t in m.state_dict().items()}
            for k, m in _TINY.items()}
INFO = st.dictionaries(st.one_of(st.sampled_from(["task", "metrics", "steps", "lr", "seed",
                                                  "train_seconds", "device"]),
                                 st.text(max_size=6)), JSON, max_size=5)


@st.composite
def metadata(draw):
    """A __metadata__ table: from a real one with parts replaced by garbage, to pure garbage."""
    kind = draw(st.sampled_from(sorted(CONFIGS)))
    cfg = _TINY[kind].cfg.to_dict()
    for key in draw(st.lists(st.sampled_from(sorted(cfg)), max_size=3)):
        cfg[key] = draw(JSON)
    meta = {"format": draw(st.sampled_from(["attention-visualizer"] * 4 + ["pt", ""])),
            "version": draw(st.sampled_from(["1"] * 4 + ["2", "", "1.0"])),
            "kind": draw(st.one_of(st.just(kind), st.text(max_size=8))),
            "config": draw(st.one_of(st.just(json.dumps(cfg)), JSON.map(json.dumps),
                                     st.text(max_size=20), st.sampled_from(NASTY))),
            "info": draw(st.one_of(INFO.map(json.dumps), JSON.map(json.dumps),
                                   st.text(max_size=20)))}
    for key in draw(st.lists(st.sampled_from(sorted(meta)), max_size=2, unique=True)):
        del meta[key]
    return kind, meta


def _check_file(path):
    """Every reader: a valid result or CheckpointError; the listing never raises."""
    meta = outcome(read_metadata, path, allowed=(CheckpointError,))
    loaded = outcome(load_checkpoint, path, "cpu", allowed=(CheckpointError,))
    if meta is not None:
        info = meta["info"]
        assert isinstance(info, dict) and isinstance(info.get("task") or "", str)
        assert all(isinstance(v, (int, float)) for v in (info.get("metrics") or {}).values())
    if loaded is not None:
        model, info = loaded
        assert meta is not None and model.cfg == meta["config"] and info == meta["info"]
    (row,) = list_checkpoints(path.parent)
    assert (row["error"] is None) == (meta is not None)


@PROPERTY
@given(drawn=metadata())
def test_checkpoint_metadata(drawn):
    kind, meta = drawn
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.safetensors"
        path.write_bytes(st_save(_TENSORS[kind], metadata=meta))
        _check_file(path)


@PROPERTY
@given(header=st.dictionaries(st.one_of(st.just("__metadata__"), st.text(max_size=6)), JSON,
                              max_size=4),
       payload=st.binary(max_size=64), cut=st.integers(0, 400))
def test_checkpoint_raw_header(header, payload, cut):
    """Arbitrary JSON as the header (any types anywhere), any payload, possibly truncated."""
    head = json.dumps(header).encode()
    data = (struct.pack("<Q", len(head)) + head + payload)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.safetensors"
        path.write_bytes(data if cut >= len(data) else data[:cut])
        _check_file(path)


# ----------------------------------------------------------------------------- images
def _encoded(fmt: str, mode: str, size: tuple) -> bytes:
    rng = np.random.default_rng(size[0] * 31 + size[1])
    img = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 4), dtype=np.uint8), "RGBA")
    buf = io.BytesIO()
    img.convert(mode).save(buf, format=fmt)
    return buf.getvalue()


SEEDS = [_encoded(f, m, s) for f, m in (("PNG", "RGBA"), ("PNG", "L"), ("PNG", "P"),
                                         ("JPEG", "RGB"), ("JPEG", "L"), ("PNG", "I;16"))
         for s in ((1, 1), (9, 7))]


@st.composite
def image_bytes(draw):
    """Real PNG/JPEG files with bytes flipped, cut or spliced; or any bytes at all."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    cut = draw(st.integers(1, len(data)))
    return bytes(data[:cut]) + draw(st.binary(max_size=8))


@PROPERTY
@given(data=image_bytes())
def test_load_image(data):
    grey = outcome(load_image, data)
    if grey is not None:
        assert grey.ndim == 2 and grey.dtype == np.float32 and grey.size > 0
        assert np.isfinite(grey).all() and grey.min() >= 0 and grey.max() <= 1
