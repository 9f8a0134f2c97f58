"""Names a user gives a model: checked before anything is written to checkpoints/.

Streamlit-free. A valid name is 1-40 letters, digits, '-' or '_' (no dots, no slashes, so never a
path), is not the name of a shipped task model, and is compared case-insensitively so that
'Sort' cannot replace 'sort.safetensors' on a case-insensitive file system (macOS, Windows).
"""
from __future__ import annotations

import re
from pathlib import Path

NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")
MAX_LEN = 40
SUFFIX = ".safetensors"
# Device names Windows refuses as file names, whatever the extension.
_WINDOWS = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
            *(f"lpt{i}" for i in range(10))}


def check_name(name, reserved=()) -> str:
    """The name (surrounding spaces removed) or ValueError with a message for the user."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("Enter a name for the model (letters, digits, - and _).")
    name = name.strip()
    if len(name) > MAX_LEN:
        raise ValueError(f"The name is {len(name)} characters long; {MAX_LEN} at most.")
    if not NAME_RE.fullmatch(name):
        bad = sorted({c for c in name if not re.fullmatch(r"[A-Za-z0-9_-]", c)})
        shown = " ".join(repr(c) for c in bad[:6])
        raise ValueError(f"Use only letters, digits, - and _ in the name (not {shown}).")
    if name.lower() in {r.lower() for r in reserved}:
        raise ValueError(f"'{name}' is the name of a model that ships with the app; "
                         "choose another name.")
    if name.lower() in _WINDOWS:
        raise ValueError(f"'{name}' cannot be used as a file name on Windows; choose another.")
    return name


def existing(name: str, folder) -> str | None:
    """The stem of a checkpoint in `folder` with this name, ignoring case, or None."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    low = name.lower()
    for path in folder.glob(f"*{SUFFIX}"):
        if path.stem.lower() == low:
            return path.stem
    return None
