"""Checkpoints: one .safetensors file holding the weights, the model's kind and config, and info.

Nothing is ever unpickled. Every way a file can be wrong (truncated, corrupt, foreign, a
pickled .pt, weights that do not fit the config, too large) raises CheckpointError with a
message a user understands, and nothing from such a file is executed.
"""
from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .config import config_from_dict, parameter_count
from .device import get_device
from .models import MODELS

FORMAT = "attention-visualizer"
MAX_BYTES = 64 * 1024 * 1024          # no shipped or trained model comes near this
_UMASK = os.umask(0)                   # read once at import (os.umask is process-wide)
os.umask(_UMASK)


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message says why in plain words."""


def save_checkpoint(model, path, info: dict | None = None) -> Path:
    """Write model (+ info) to `path` atomically: a temporary file in the same folder, then rename.
    A crash mid-save leaves any earlier file at `path` intact."""
    path = Path(path)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "version": "1", "kind": model.kind,
                "config": json.dumps(model.cfg.to_dict()), "info": json.dumps(info or {})}
    data = st_save(tensors, metadata=metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)    # mkstemp makes 0600; a checkpoint is an ordinary file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_metadata(path) -> dict:
    """The file's kind, config and info without building the model (for the model picker)."""
    kind, cfg, info, _ = _read(path, tensors=False)
    return {"kind": kind, "config": cfg, "info": info}


def load_checkpoint(path, device=None):
    """Rebuild the model from the file alone -> (model in eval mode on `device`, info dict)."""
    kind, cfg, info, tensors = _read(path, tensors=True)
    name = Path(path).name
    held = sum(t.numel() for t in tensors.values())
    needed = parameter_count(cfg)
    # Before building anything: a config asking for far more weights than the file holds is
    # refused here, so a hostile file cannot make us allocate gigabytes. Smaller mismatches are
    # built and compared weight by weight below, for a message that names the weight.
    if needed > 2 * held + 1_000_000:
        raise CheckpointError(f"{name}: the weights do not match the model description (it needs "
                              f"{needed:,} parameters, the file holds {held:,})")
    try:
        model = MODELS[kind](cfg)
    except (ValueError, TypeError, RuntimeError) as e:
        raise CheckpointError(f"{name}: the model description is invalid ({e})") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise CheckpointError(f"{name}: the weights do not match a {kind} model "
                              f"(missing {missing[:3]}, unexpected {extra[:3]})")
    for key, t in tensors.items():
        if t.shape != expected[key].shape or t.dtype != expected[key].dtype:
            raise CheckpointError(f"{name}: weight {key} has shape {tuple(t.shape)} ({t.dtype}) "
                                  f"but the config needs {tuple(expected[key].shape)} "
                                  f"({expected[key].dtype})")
    model.load_state_dict(tensors)
    return model.to(get_device(device)).eval(), info


def _read(path, tensors: bool):
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
    except OSError as e:
        raise CheckpointError(f"{name}: cannot read the file ({e.strerror or e})") from None
    if size > MAX_BYTES:
        raise CheckpointError(f"{name}: {size / 2**20:.0f} MB is larger than the "
                              f"{MAX_BYTES // 2**20} MB a checkpoint may be")
    try:
        with open(path, "rb") as f:
            if tensors:
                data = f.read()
            else:                        # the header alone: listing a folder stays cheap
                data = f.read(8)
                if len(data) == 8 and struct.unpack("<Q", data)[0] <= size - 8:
                    data += f.read(struct.unpack("<Q", data)[0])
    except OSError as e:                 # a folder, no permission, a vanished file
        raise CheckpointError(f"{name}: cannot read the file ({e.strerror or e})") from None
    # A safetensors file is an 8-byte header length, then a JSON header that starts with "{".
    # Decide on that structure first: the length's low byte of a real checkpoint can be 0x80 or
    # spell "PK", so the pickle/zip magic alone would refuse some good files.
    header_len = struct.unpack("<Q", data[:8])[0] if len(data) >= 8 else None
    if header_len is None or header_len > len(data) - 8 or data[8:9] != b"{":
        if data[:4] == b"PK\x03\x04" or data[:1] == b"\x80":
            raise CheckpointError(f"{name}: this is a pickled PyTorch file (.pt/.pth); it is "
                                  "refused because loading pickles can run code. Use a "
                                  ".safetensors file.")
        raise CheckpointError(f"{name}: not a safetensors file, or it is truncated")
    try:
        header = json.loads(data[8:8 + header_len])
        meta = header.get("__metadata__") or {}
    except (ValueError, AttributeError, RecursionError):
        raise CheckpointError(f"{name}: the file header is corrupt") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{name}: the file header is corrupt (metadata is not a table)")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{name}: a safetensors file, but not one saved by this app "
                              "(no model description inside)")
    try:
        kind = meta["kind"]
        cfg = config_from_dict(kind, json.loads(meta["config"]))
        info = json.loads(meta.get("info", "{}"))
        if not isinstance(info, dict):
            raise ValueError("info is not a JSON object")
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"{name}: the model description is invalid ({e})") from None
    if not tensors:
        return kind, cfg, info, None
    try:
        weights = st_load(data)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{name}: the weights are corrupt or truncated ({e})") from None
    return kind, cfg, info, weights


def list_checkpoints(folder) -> list[dict]:
    """Every .safetensors file in `folder`, sorted by name, as
    {"name", "path", "kind", "task", "info", "config", "bytes", "error"}; a file that cannot be
    read is listed with its CheckpointError message in "error" (and None elsewhere)."""
    rows = []
    for path in sorted(Path(folder).glob("*.safetensors")):
        row = {"name": path.stem, "path": str(path), "bytes": path.stat().st_size,
               "kind": None, "task": None, "info": {}, "config": None, "error": None}
        try:
            meta = read_metadata(path)
            row.update(kind=meta["kind"], task=meta["info"].get("task"), info=meta["info"],
                       config=meta["config"])
        except CheckpointError as e:
            row["error"] = str(e)
        rows.append(row)
    return rows
