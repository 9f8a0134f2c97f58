"""What the AppTest suites share: the app's path, a traceback check and plotly figure readers."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

APP = Path(__file__).resolve().parents[1] / "app.py"


def ok(at) -> None:
    """No traceback in the last run."""
    assert not at.exception, [e.value for e in at.exception]


def figures(at) -> list[dict]:
    """Every plotly chart on the page, as figure JSON."""
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


def title(fig) -> str:
    return (fig["layout"].get("title") or {}).get("text") or ""


def figure(at, start: str) -> dict:
    """The one figure whose title starts with `start`."""
    found = [f for f in figures(at) if title(f).startswith(start)]
    assert len(found) == 1, (start, [title(f) for f in figures(at)])
    return found[0]


def decode(z) -> np.ndarray:
    """A figure array: plotly 7 writes numpy arrays as {"dtype", "bdata", "shape"}."""
    if isinstance(z, dict):
        a = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"])
        shape = [int(s) for s in str(z.get("shape", a.size)).split(",")]
        return a.reshape(shape)
    return np.asarray(z, dtype=float)
