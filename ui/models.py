"""Checkpoints for the model picker: listed from checkpoints/, loaded once per file version.

Loaded models are shared read-only by every browser session (st.cache_resource); nothing
per-user is ever stored on them.
"""
from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
import torch

from core.checkpoints import CheckpointError, list_checkpoints, load_checkpoint
from core.device import get_device
from core.tasks import TASKS
from core.zoo import shipped_names

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"
SHIPPED = shipped_names()           # checkpoints that ship with the repo


def device() -> torch.device:
    return get_device(os.environ.get("ATTNVIZ_DEVICE") or None)


def checkpoints(kinds=None) -> list[dict]:
    """Readable checkpoints (optionally of the given model kinds), shipped ones first."""
    rows = [r for r in list_checkpoints(CHECKPOINT_DIR) if r["error"] is None
            and r["task"] in TASKS and (kinds is None or r["kind"] in kinds)]
    for r in rows:
        r["shipped"] = r["name"] in SHIPPED
    return sorted(rows, key=lambda r: (not r["shipped"], r["name"]))


def broken_checkpoints() -> list[dict]:
    return [r for r in list_checkpoints(CHECKPOINT_DIR) if r["error"] is not None]


@st.cache_resource(show_spinner="Loading model…", max_entries=64)
def _load(path: str, mtime: float, device_name: str):
    model, info = load_checkpoint(path, device_name)
    model.requires_grad_(False)
    return model, info


def load(row: dict):
    """(model, info) for a checkpoint row; a changed file (same name, new mtime) reloads."""
    path = row["path"]
    try:
        return _load(path, os.path.getmtime(path), str(device()))
    except (OSError, CheckpointError) as e:
        raise CheckpointError(str(e)) from None


def label(row: dict) -> str:
    """'sort · encoder · 45 KB' (and '· yours' for models a user saved)."""
    tag = "" if row.get("shipped") else " · yours"
    return f"{row['name']} · {row['kind']} · {row['bytes'] / 1024:.0f} KB{tag}"
