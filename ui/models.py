"""Checkpoints for the model picker: listed from the checkpoint folder, loaded once per file
version.

The folder is checkpoints/ beside the app, or the one the environment variable
ATTNVIZ_CHECKPOINT_DIR names (read when this module is first imported; tests and benchmarks may
also set `ui.models.CHECKPOINT_DIR`). Loaded models are shared read-only by every browser
session (st.cache_resource); nothing per-user is ever stored on them.

torch is imported on first use only (a model load, the device), never by importing this module:
the home page must not pay for it (issue 14, cold start).
"""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

ENV_DIR = "ATTNVIZ_CHECKPOINT_DIR"
CHECKPOINT_DIR = Path(os.environ.get(ENV_DIR) or
                      Path(__file__).resolve().parent.parent / "checkpoints")


def device():
    """The torch device models run on (ATTNVIZ_DEVICE, else CUDA, MPS or the CPU)."""
    from core.device import get_device
    return get_device(os.environ.get("ATTNVIZ_DEVICE") or None)


def _shipped() -> frozenset:
    from core.zoo import shipped_names
    return shipped_names()


def listing(kinds=None) -> tuple[list[dict], list[dict]]:
    """(usable, unreadable) checkpoint rows of the folder, from one listing.

    usable: readable checkpoints of a known task (optionally of the given model kinds), shipped
    ones first, each with "shipped". unreadable: every entry that cannot be used (whatever its
    kind), with "reason" in plain words; a readable file of a task this app does not know is
    one of them.
    """
    from core.checkpoints import list_checkpoints
    from core.tasks import TASKS
    shipped, usable, unreadable = _shipped(), [], []
    for r in list_checkpoints(CHECKPOINT_DIR):
        if r["error"] is None and r["task"] not in TASKS:
            r = {**r, "reason": f"it was trained on the task {str(r['task'])[:40]!r}, which "
                                "this app does not have"}
        if r["reason"] is not None:
            unreadable.append(r)
        elif kinds is None or r["kind"] in kinds:
            usable.append({**r, "shipped": r["name"] in shipped})
    usable.sort(key=lambda r: (not r["shipped"], r["name"]))
    return usable, unreadable


def checkpoints(kinds=None) -> list[dict]:
    """Readable checkpoints (optionally of the given model kinds), shipped ones first."""
    return listing(kinds)[0]


def broken_checkpoints() -> list[dict]:
    """Entries of the folder that cannot be used, each with "reason"."""
    return listing()[1]


@st.cache_resource(show_spinner="Loading model…", max_entries=64)
def _load(path: str, mtime: float, device_name: str):
    from core.checkpoints import load_checkpoint
    model, info = load_checkpoint(path, device_name)
    model.requires_grad_(False)
    return model, info


def load(row: dict):
    """(model, info) for a checkpoint row; a changed file (same name, new mtime) reloads.
    CheckpointError (a ValueError) with a message when it cannot be loaded."""
    from core.checkpoints import CheckpointError
    path = row["path"]
    try:
        return _load(path, os.path.getmtime(path), str(device()))
    except (OSError, CheckpointError) as e:
        raise CheckpointError(str(e)) from None


def label(row: dict) -> str:
    """'sort · encoder · 45 KB' (and '· yours' for models a user saved)."""
    tag = "" if row.get("shipped") else " · yours"
    return f"{row['name']} · {row['kind']} · {row['bytes'] / 1024:.0f} KB{tag}"
