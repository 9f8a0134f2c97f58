"""What the ViT page's AppTest suites share: opening the page on a model (a checkpoint, or a small
random pretrained ViT folder added to the picker as a user's opened folder), with URL parameters
and a tab, and reading its figures back."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from app_helpers import APP, decode, figures, ok, title

TABS = ("One head", "All heads", "Rollout", "Soft vs hard", "Positions")


def open_page(model: str | None, folders=(), view: str | None = None, params: dict | None = None,
              check: bool = True) -> AppTest:
    """The ViT page as a fresh session: `model` chosen (a checkpoint name, or a pretrained
    folder's name with its folder in `folders`), the tab `view` open, `params` in the URL."""
    at = AppTest.from_file(str(APP), default_timeout=90)
    if model is not None:
        at.session_state["model"] = model
    if folders:
        at.session_state["pretrained_folders"] = [str(f) for f in folders]
    if view:
        at.session_state["vit_view"] = view
    for key, value in (params or {}).items():
        at.query_params[key] = str(value)
    at.switch_page("pages/vit.py").run()
    if check:
        ok(at)
    return at


def show(at: AppTest, view: str) -> AppTest:
    """Open another tab (the tabs are lazy: only the open one runs)."""
    at.session_state["vit_view"] = view
    at.run()
    ok(at)
    return at


def heat(fig, k: int = 0) -> np.ndarray:
    """The k-th attention layer drawn over the image, as pixels."""
    traces = [t for t in fig["data"] if t.get("name") == "attention"]
    return decode(traces[k]["z"])


def upsampled(row, g: int, p: int) -> np.ndarray:
    """A map over the patches (N,) -> the pixel map (g·p, g·p) an overlay draws."""
    return np.kron(torch.as_tensor(row).double().numpy().reshape(g, g), np.ones((p, p)))


def titled(at, start: str) -> list[dict]:
    return [f for f in figures(at) if title(f).replace("<br>", " ").startswith(start)]


def prediction_text(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith(("**Prediction", "**The ")))


def png(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt)
    return buf.getvalue()


def pretrained_vit(folder: Path, **overrides) -> Path:
    """A small random ViTForImageClassification folder (tests/pretrained_helpers.vit_folder):
    32×32 colour images in a 4×4 grid of 8×8 patches, 2 layers × 4 heads, 5 classes."""
    from pretrained_helpers import vit_folder
    return vit_folder(folder, **overrides)
