"""Checkpoints: one .safetensors file holding the weights, the model's kind and config, and info.

    rows = list_checkpoints("checkpoints")     # every entry; a bad one has row["error"]
    model, info = load_checkpoint(rows[0]["path"], device="cpu")
    save_checkpoint(model, "checkpoints/mine.safetensors", info={"task": "sort"})
    clean_orphans("checkpoints")               # once at startup: interrupted saves' temp files

Nothing is ever unpickled. Every way a file or folder entry can be wrong (a FIFO, a folder, a
broken, looping or outside link, truncated, corrupt, foreign, a pickled .pt, metadata of the
wrong types, weights that do not fit the config, a model over the memory budget) raises
CheckpointError (a ValueError) whose message starts with the file name and says why in plain
words. Reading order, so that a hostile file costs nothing: stat (core.checkpoint_files), the
header (core.checkpoint_header), the config against the budget (core.budget), the header's
tensor table against the shapes the config needs (a model built on the "meta" device, which
allocates nothing), and only then the weights and the real model.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import torch

from . import checkpoint_files as files
from .budget import BudgetError, check_model
from .checkpoint_files import MAX_BYTES, SUFFIX, CheckpointError, clean_orphans
from .checkpoint_header import (FORMAT, ITEMSIZE, VERSION, parse_metadata, read_header,
                                tensor_table)
from .device import get_device
from .models import MODELS

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "read_metadata",
           "list_checkpoints", "clean_orphans", "FORMAT", "MAX_BYTES", "SUFFIX"]
_DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16",
           torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32", torch.int16: "I16",
           torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}
_TORCH = {code: dtype for dtype, code in _DTYPES.items()}
_log = logging.getLogger(__name__)


def save_checkpoint(model, path, info: dict | None = None) -> Path:
    """Write model (+ info) to `path` atomically: a temporary file `.<name>.<random>.tmp` in
    the same folder, then a rename; a crash mid-save leaves any earlier file at `path` intact
    (and an orphan that clean_orphans removes, which this function also calls)."""
    from safetensors.torch import save as st_save
    path = Path(path)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "version": VERSION, "kind": model.kind,
                "config": json.dumps(model.cfg.to_dict()), "info": json.dumps(info or {})}
    data = st_save(tensors, metadata=metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_orphans(path.parent)
    tmp = path.parent / files.temp_name(path)
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    fd = os.open(tmp, flags, 0o666)            # the umask applies, as for any new file
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _read(path, weights: bool):
    """(kind, cfg, info, size, tensors or None): the checks of the module docstring, in order."""
    name = Path(path).name
    f, size = files.open_entry(path)
    with f:
        header, header_len = read_header(f, size, name)
        kind, cfg, info = parse_metadata(header, name)
        try:
            check_model(cfg, what="This model")
        except BudgetError as e:
            raise CheckpointError(f"{name}: {e}") from None
        if not weights:
            return kind, cfg, info, size, None
        payload = size - 8 - header_len
        table = tensor_table(header, payload, name)
        _match(table, _expected(kind, cfg, name), kind, name)
        buf = bytearray(payload)
        if f.readinto(buf) != payload:
            raise CheckpointError(f"{name}: the file is truncated (it ends early)")
    tensors = {key: _tensor(buf, *entry) for key, entry in table.items()}
    return kind, cfg, info, size, tensors


def _tensor(buf: bytearray, code: str, shape: tuple, start: int, end: int) -> torch.Tensor:
    """One weight as a view of the payload (a copy when its offset is not aligned)."""
    dtype, itemsize = _TORCH[code], ITEMSIZE[code]
    if start == end:
        return torch.empty(shape, dtype=dtype)
    if start % itemsize:
        buf, start, end = bytearray(buf[start:end]), 0, end - start
    return torch.frombuffer(buf, dtype=dtype, count=(end - start) // itemsize,
                            offset=start).view(shape)                    # shape


def _expected(kind: str, cfg, name: str) -> dict:
    """{key: (dtype code, shape)} the model for `cfg` has, from a model built on the "meta"
    device (no memory is allocated)."""
    try:
        with torch.device("meta"):
            meta_model = MODELS[kind](cfg)
    except (ValueError, TypeError, RuntimeError) as e:
        raise CheckpointError(f"{name}: the model description is invalid ({e})") from None
    return {k: (_DTYPES.get(v.dtype, str(v.dtype)), tuple(v.shape))
            for k, v in meta_model.state_dict().items()}


def _match(table: dict, expected: dict, kind: str, name: str) -> None:
    missing = sorted(set(expected) - set(table))
    extra = sorted(set(table) - set(expected))
    if missing or extra:
        held = sum(_numel(t[1]) for t in table.values())
        needed = sum(_numel(s) for _, s in expected.values())
        raise CheckpointError(f"{name}: the weights do not match a {kind} model (missing "
                              f"{missing[:3]}, unexpected {extra[:3]}; it needs {needed:,} "
                              f"parameters, the file holds {held:,})")
    for key, (code, shape, _, _) in table.items():
        want_code, want_shape = expected[key]
        if (code, shape) != (want_code, want_shape):
            raise CheckpointError(f"{name}: weight {key} has shape {shape} ({_TORCH[code]}) "
                                  f"but the config needs {want_shape} "
                                  f"({_TORCH.get(want_code, want_code)})")


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def read_metadata(path) -> dict:
    """{"kind", "config", "info"} of a checkpoint from its header alone (the weights are not
    read), for the model picker; CheckpointError if the entry or its description is unusable."""
    kind, cfg, info, _, _ = _read(path, weights=False)
    return {"kind": kind, "config": cfg, "info": info}


def load_checkpoint(path, device=None):
    """Rebuild the model from the file alone -> (model in eval mode on `device`, info dict).
    The model is built only after the header, the budget and every weight's shape and dtype
    have been checked against the config."""
    kind, cfg, info, _, tensors = _read(path, weights=True)
    name = Path(path).name
    try:
        model = MODELS[kind](cfg)
        model.load_state_dict(tensors)
    except (ValueError, TypeError, RuntimeError) as e:
        raise CheckpointError(f"{name}: the model could not be built ({str(e)[:200]})") from None
    return model.to(get_device(device)).eval(), info


def list_checkpoints(folder) -> list[dict]:
    """Every `*.safetensors` entry of `folder` (names starting with "." are skipped: hidden and
    temporary files), sorted by name, as {"name", "path", "kind", "task", "info", "config",
    "bytes", "error", "reason"}. An entry that cannot be used is listed too, with its
    CheckpointError message in "error" ("sort.safetensors: is a folder, not a model file"), the
    part after the file name in "reason", and None / {} elsewhere. A missing folder lists
    nothing. Never raises for any entry."""
    try:
        names = sorted(e.name for e in os.scandir(folder))
    except OSError:
        return []
    rows = []
    for entry in names:
        if not entry.endswith(SUFFIX) or entry.startswith("."):
            continue
        path = Path(folder) / entry
        row = {"name": entry[:-len(SUFFIX)], "path": str(path), "bytes": None, "kind": None,
               "task": None, "info": {}, "config": None, "error": None, "reason": None}
        try:
            kind, cfg, info, size, _ = _read(path, weights=False)
            row.update(kind=kind, task=info.get("task"), info=info, config=cfg, bytes=size)
        except CheckpointError as e:
            row["error"] = str(e)
        except Exception as e:          # a bug here must not take the whole list down
            _log.exception("listing %s failed", path)
            row["error"] = f"{entry}: could not be read ({type(e).__name__}; see the server log)"
        if row["error"]:
            row["reason"] = row["error"].removeprefix(f"{entry}: ")
        rows.append(row)
    return rows
