"""Reading the explorer's one-head map in AppTest: a switchable figure (ui.head_switch) with every
head of the layer as integer levels, one head visible when it was built, and a component told
which head the browser must show. What the user sees is that head's trace, decoded."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

import ui.models
from app_helpers import decode, figures

ONE_HEAD = "one_head_map"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SHIPPED = {r["name"]: r for r in ui.models.checkpoints(("encoder", "decoder", "seq2seq"))
           if r["shipped"]}      # the shipped transformer checkpoints the explorer opens


def need(name: str) -> dict:
    """The shipped checkpoint's row, or skip the test when it is not there."""
    if name not in SHIPPED:
        pytest.skip(f"no shipped {name} checkpoint")
    return SHIPPED[name]


def plain(text: str | None) -> str:
    """A plotly title without its markup: '<b>a<br>b</b>' -> 'a b'."""
    return " ".join(re.sub(r"<[^>]+>", " ", text or "").split())


def switch_figure(at) -> dict:
    """The one switchable map on the page (layout.meta.heads set)."""
    found = [f for f in figures(at) if "heads" in (f["layout"].get("meta") or {})]
    assert len(found) == 1, f"{len(found)} switchable maps on the page"
    return found[0]


def switch_components(at) -> list:
    """The head-switch components on the page (the sidebar's theme watcher is another one)."""
    return [c for c in at.get("bidi_component")
            if c.proto.component_name.endswith("attention_head_switch")]


def asked_head(at) -> int:
    """The head the page asked the browser to show (the component's data)."""
    found = switch_components(at)
    assert len(found) == 1, f"{len(found)} head-switch components on the page"
    return int(json.loads(found[0].proto.json)["head"])


def head_weights(fig: dict, h: int) -> tuple[np.ndarray, float]:
    """Head h's weights decoded from its levels (NaN on masked cells), and the error bound
    (half a level)."""
    meta = fig["data"][h]["meta"]
    assert meta["head"] == h
    levels = decode(fig["data"][h]["z"]).astype(np.float64)             # (Tq, Tk)
    w = meta["base"] + levels * meta["step"]
    return np.where(levels == meta["masked"], np.nan, w), meta["step"] / 2 + 1e-9


def head_title(fig: dict, h: int) -> str:
    """The title the map shows for head h (its button writes it), markup removed."""
    for menu in fig["layout"].get("updatemenus") or []:
        for b in menu["buttons"]:
            if plain(b["label"]).strip("[]") == f"H{h}":
                return plain(b["args"][1]["title.text"])
    raise AssertionError(f"no button for head {h}")


def shown(at) -> dict:
    """What the one-head map shows: {"head", "title", "weights", "tol", "fig"}."""
    fig = switch_figure(at)
    h = asked_head(at)
    w, tol = head_weights(fig, h)
    return {"head": h, "title": head_title(fig, h), "weights": w, "tol": tol, "fig": fig}
