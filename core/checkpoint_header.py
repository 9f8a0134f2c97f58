"""The safetensors header of a checkpoint, read and checked before any weight is touched.

A safetensors file is an 8-byte little-endian header length, a JSON header, then the tensors'
bytes. The header names every tensor ({"dtype", "shape", "data_offsets"}) and holds our
"__metadata__" (text values only): format, version, kind, config (JSON) and info (JSON).
Everything here raises CheckpointError with a message a user can read; nothing is unpickled.
"""
from __future__ import annotations

import json
import math
import struct

from .checkpoint_files import CheckpointError, read_exactly
from .config import config_from_dict

FORMAT = "attention-visualizer"
VERSION = "1"
MAX_HEADER_BYTES = 1024 * 1024        # shipped headers are 4-10 KB
ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
            "U8": 1, "BOOL": 1}
# What each known `info` field must be when present (a file saved by this app always fits);
# other fields are kept as they are. Numbers stored as text, a task that is a list, metrics
# that are not a table of numbers: the file is listed as unreadable, with the field named.
_TEXT, _INT, _NUM = (str,), (int,), (int, float)
INFO_FIELDS = {"task": _TEXT, "steps": _INT, "seed": _INT, "batch_size": _INT, "eval_n": _INT,
               "eval_seed": _INT, "train_seconds": _NUM, "lr": _NUM, "device": _TEXT,
               "torch": _TEXT, "saved_by": _TEXT}
MAX_TEXT = 200


def _fail(name, why) -> CheckpointError:
    return CheckpointError(f"{name}: {why}")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_header(f, size: int, name: str) -> tuple[dict, int]:
    """(the parsed JSON header, its length) from an open checkpoint of `size` bytes. Reads the
    8-byte prefix and the header only; refuses pickles, foreign and huge headers."""
    prefix = f.read(8)
    if len(prefix) < 8:
        raise _fail(name, "not a safetensors file, or it is truncated")
    header_len = struct.unpack("<Q", prefix)[0]
    if header_len > size - 8 or header_len == 0:
        # The length's low byte of a real checkpoint can be 0x80 or spell "PK": decide on the
        # structure first, the pickle/zip magic only explains a file that fails it.
        if prefix[:4] == b"PK\x03\x04" or prefix[:1] == b"\x80":
            raise _fail(name, "this is a pickled PyTorch file (.pt/.pth); it is refused "
                              "because loading pickles can run code. Use a .safetensors file.")
        raise _fail(name, "not a safetensors file, or it is truncated")
    if header_len > MAX_HEADER_BYTES:
        raise _fail(name, f"the file header is {header_len / 2**20:.1f} MB; at most "
                          f"{MAX_HEADER_BYTES // 2**20} MB is accepted")
    raw = read_exactly(f, header_len, name)
    if raw[:1] != b"{":
        raise _fail(name, "not a safetensors file, or it is truncated")
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError):
        raise _fail(name, "the file header is corrupt") from None
    if not isinstance(header, dict):
        raise _fail(name, "the file header is corrupt")
    return header, header_len


def _json(text, what: str, name: str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise _fail(name, f"the model description is invalid ({what} is not valid JSON)") from None


def parse_metadata(header: dict, name: str):
    """(kind, config, info) from the header's "__metadata__", every type checked."""
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise _fail(name, "the file header is corrupt (metadata is not a table)")
    if any(not isinstance(v, str) for v in meta.values()):
        raise _fail(name, "the file header is corrupt (metadata values must be text)")
    if meta.get("format") != FORMAT:
        raise _fail(name, "a safetensors file, but not one saved by this app (no model "
                          "description inside)")
    if meta.get("version", VERSION) != VERSION:
        raise _fail(name, f"saved in format version {_short(meta['version'])}, which this "
                          f"version of the app cannot read (it reads version {VERSION})")
    if "kind" not in meta or "config" not in meta:
        raise _fail(name, "the model description is invalid (no model kind or config)")
    kind = meta["kind"]
    values = _json(meta["config"], "the config", name)
    if not isinstance(values, dict):
        raise _fail(name, "the model description is invalid (the config is not a table)")
    try:
        cfg = config_from_dict(kind, values)
    except (ValueError, TypeError) as e:
        raise _fail(name, f"the model description is invalid ({str(e)[:200]})") from None
    info = _json(meta.get("info", "{}"), "info", name)
    return kind, cfg, check_info(info, name)


def check_info(info, name: str) -> dict:
    """The info table if every known field has its type (see INFO_FIELDS), else
    CheckpointError naming the field."""
    if not isinstance(info, dict):
        raise _fail(name, "the model description is invalid (info is not a JSON object)")
    for key, types in INFO_FIELDS.items():
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            want = "text" if types is _TEXT else "a whole number" if types is _INT else "a number"
            raise _fail(name, f"the model description is invalid (info field {key!r} should be "
                              f"{want}, not {_short(value)})")
        if types is _TEXT and len(value) > MAX_TEXT:
            raise _fail(name, f"the model description is invalid (info field {key!r} is "
                              f"{len(value)} characters long)")
    metrics = info.get("metrics")
    if metrics is not None:
        if not isinstance(metrics, dict):
            raise _fail(name, f"the model description is invalid (info field 'metrics' should "
                              f"be a table of numbers, not {_short(metrics)})")
        for k, v in metrics.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or len(k) > MAX_TEXT:
                raise _fail(name, f"the model description is invalid (metric {_short(k)} "
                                  f"should be a number, not {_short(v)})")
    return info


def tensor_table(header: dict, payload_bytes: int, name: str) -> dict:
    """{tensor name: (dtype code, shape tuple, start, end)} from the header, each entry's byte
    size equal to its shape times its element size, the entries tiling the payload exactly
    (no gaps, no overlap, nothing past the end of the file)."""
    table = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        try:
            dtype, shape, (start, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            ok = (dtype in ITEMSIZE and isinstance(shape, list) and len(shape) <= 8
                  and all(type(n) is int and n >= 0 for n in shape)
                  and all(type(n) is int for n in (start, end)) and 0 <= start <= end)
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise _fail(name, f"the file header is corrupt (bad entry for {_short(key)})")
        if math.prod(shape) * ITEMSIZE[dtype] != end - start:
            raise _fail(name, f"the file header is corrupt ({_short(key)} has the wrong size)")
        table[key] = (dtype, tuple(shape), start, end)
    position = 0
    for dtype, shape, start, end in sorted(table.values(), key=lambda t: (t[2], t[3])):
        if start != position:
            raise _fail(name, "the file header is corrupt (the weights overlap or leave gaps)")
        position = end
    if position != payload_bytes:
        raise _fail(name, "the weights are corrupt or truncated (the file is "
                          f"{'shorter' if position > payload_bytes else 'longer'} than its "
                          "header says)")
    return table
