"""Pretrained Hugging Face models for the shared model picker: the bundled MiniLM, the models in
the local Hugging Face cache, and folders the user opens by path. Read from disk only.

A loaded model is shared read-only by every session (st.cache_resource, keyed by folder and
file version); the list of folders a user opened is per user (st.session_state).
"""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from .state import USER_FOLDERS

KIND = {"bert": "encoder", "roberta": "encoder", "gpt2": "decoder", "vit": "vit"}
LIST_TTL_S = 30                     # the cache folder is listed again after this long


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


def open_folder_box() -> None:
    """A text box for a local Hugging Face folder; a valid one joins this user's picker list."""
    with st.expander("Open a local Hugging Face model", icon=":material/folder_open:"):
        path = st.text_input("Folder", key="pretrained_folder", max_chars=1000,
                             placeholder="/path/to/model (config.json + model.safetensors)",
                             help="A folder in Hugging Face layout: config.json, safetensors "
                                  "weights and tokenizer files. Nothing is downloaded.")
        if st.button("Open", key="pretrained_open", disabled=not path.strip()):
            from core.pretrained import validate_folder
            try:
                folder = str(validate_folder(path.strip()))
            except ValueError as e:
                st.error(str(e))
                return
            folders = list(st.session_state.get(USER_FOLDERS, ()))
            if folder not in folders:
                st.session_state[USER_FOLDERS] = folders + [folder]
            st.success(f"Added {Path(folder).name} to the model list.")
