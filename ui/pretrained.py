"""Pretrained Hugging Face models for the shared model picker: the bundled MiniLM, the models in
the local Hugging Face cache, and folders the user opens by path. Read from disk only.

A loaded model is shared read-only by every session (st.cache_resource, keyed by folder and
file version); the list of folders a user opened is per user (st.session_state).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

import streamlit as st

from .state import USER_FOLDERS
from .text import has_control, plain

KIND = {"bert": "encoder", "roberta": "encoder", "gpt2": "decoder", "vit": "vit"}
LIST_TTL_S = 30                     # the cache folder is listed again after this long
MAX_PATH = 1000                     # characters in the folder box (and its max_chars)
_KINDS = ((stat.S_ISREG, "a file"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


@st.cache_data(ttl=LIST_TTL_S, show_spinner=False)
def _listed(extra: tuple) -> list[dict]:
    from core.pretrained import list_cached_models
    from core.pretrained.files import PretrainedError, read_json
    rows = list_cached_models()
    known = {r["path"] for r in rows}
    for path in extra:                                # folders this user opened by path
        if path in known:
            continue
        try:
            cfg = read_json(Path(path) / "config.json")
            problem = ""
        except PretrainedError as e:
            cfg, problem = {}, str(e)
        rows.append({"name": Path(path).name, "path": path, "origin": "opened by path",
                     "model_type": str(cfg.get("model_type", "")), "architecture": "",
                     "supported": not problem, "problem": problem})
    return rows


def rows(kinds=None) -> list[dict]:
    """Picker rows of the usable pretrained models of the given kinds (None: every kind):
    {"name", "path", "kind", "pretrained": True, "shipped": bundled, "origin"}."""
    out = []
    for r in _listed(tuple(st.session_state.get(USER_FOLDERS, ()))):
        kind = KIND.get(r["model_type"])
        if r["supported"] and kind and (kinds is None or kind in kinds):
            out.append({"name": r["name"], "path": r["path"], "kind": kind, "task": None,
                        "pretrained": True, "origin": r["origin"],
                        "shipped": r["origin"].startswith("package")})
    return out


def unusable() -> list[dict]:
    """Rows of folders found that cannot be opened, with `problem` saying why."""
    return [r for r in _listed(tuple(st.session_state.get(USER_FOLDERS, ())))
            if not r["supported"]]


def _version(path: str) -> float:
    """The newest modification time of the folder's config and weights (a changed model
    reloads)."""
    folder = Path(path)
    stamps = [os.path.getmtime(folder)]
    for name in ("config.json", "model.safetensors", "model.safetensors.index.json"):
        if (folder / name).exists():
            stamps.append(os.path.getmtime(folder / name))
    return max(stamps)


@st.cache_resource(show_spinner="Loading the pretrained model…", max_entries=4)
def _load(path: str, version: float, device_name: str):
    from core.pretrained import load_pretrained
    from core.pretrained.tasks import task_for
    pt = load_pretrained(path, device=device_name)
    return pt, task_for(pt)


def load(row: dict, device_name: str):
    """(Pretrained, its explore task) for a picker row; ValueError with a message if it cannot
    be loaded."""
    try:
        return _load(row["path"], _version(row["path"]), device_name)
    except OSError as e:
        raise ValueError(f"{row['name']} cannot be read: {e.strerror or e}") from None


def _shown(path: str, most: int = 80) -> str:
    """A path as the messages quote it: at most `most` characters (the middle cut out)."""
    return f"“{path if len(path) <= most else path[:most // 2] + '…' + path[-(most // 2):]}”"


def check_folder_text(text) -> Path:
    """What the user typed in the folder box -> an absolute path to an existing folder (not yet
    checked as a Hugging Face folder), or ValueError with a message saying what to type instead.
    Nothing is opened: special files (a FIFO, /dev/zero) are named from stat() alone."""
    text = str(text or "").strip()
    if not text:
        return _refuse("Type the full path of a model folder, e.g. /home/me/models/bert-base.")
    if has_control(text):
        return _refuse("The path contains control characters (a pasted line break or tab?); "
                       "type it again on one line.")
    if len(text) > MAX_PATH:
        return _refuse(f"The path is {len(text):,} characters long; at most {MAX_PATH:,} are "
                       "accepted.")
    path = Path(text).expanduser()
    if not path.is_absolute():
        return _refuse(f"{_shown(text)} is a relative path; give the full path, starting "
                       "with / (or ~ for your home folder).")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return _refuse(f"There is no folder at {_shown(str(path))}.")
    except OSError as e:
        return _refuse(f"{_shown(str(path))} cannot be read ({e.strerror or type(e).__name__}).")
    if not stat.S_ISDIR(mode):
        what = next((name for test, name in _KINDS if test(mode)), "not a folder")
        return _refuse(f"{_shown(str(path))} is {what}; choose the folder that holds "
                       "config.json and the model's .safetensors weights.")
    return path


def _refuse(message: str):
    raise ValueError(message)


def open_folder_box() -> None:
    """A text box for a local Hugging Face folder; a valid one joins this user's picker list,
    anything else is refused with a message (nothing is downloaded, nothing pickled is read)."""
    with st.expander("Open a local Hugging Face model", icon=":material/folder_open:"):
        path = st.text_input("Folder", key="pretrained_folder", max_chars=MAX_PATH,
                             placeholder="/path/to/model (config.json + model.safetensors)",
                             help="A folder in Hugging Face layout: config.json, safetensors "
                                  "weights and tokenizer files. Nothing is downloaded.")
        if st.button("Open", key="pretrained_open"):
            from core.pretrained import validate_folder
            try:
                folder = str(validate_folder(check_folder_text(path)))
            except ValueError as e:
                st.error(plain(e, 600))
                return
            folders = list(st.session_state.get(USER_FOLDERS, ()))
            if folder not in folders:
                st.session_state[USER_FOLDERS] = folders + [folder]
            st.success(f"Added {plain(_shown(Path(folder).name))} to the model list.")
