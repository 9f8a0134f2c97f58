"""The ViT page's controls: where the image comes from (a test image, a drawing or an upload),
the memoised inspection, and the layer / head / query pickers.

Streamlit glue only: the model runs through task.inspect; images are checked and converted by
core.images. Widget keys are stable ("image", "layer", "head", "query") and bound to the URL
query string (?image=3&query=patch 5): a link reopens the view.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import streamlit as st

from core.images import canvas_to_image, load_image

from ..state import DISCARD, FUSION, HEAD, LAYER, QUERY
from ..widgets import clamp, file_version, layer_head_pickers, memo

SOURCES = {"test": "Test image", "draw": "Draw", "upload": "Upload"}
CANVAS_PX = 224
MEMO_KEY = "vit_memo"                   # this page's inspections, per user (ui.widgets.memo)
PEN = "vit_pen"                         # the canvas's pen width
IMAGE = "image"                         # URL: the test image shown
KEPT = (LAYER, HEAD, QUERY, FUSION, DISCARD, PEN)   # survive a run that stops early


def keep_state() -> None:
    """Keep the view's choices across runs that stop before drawing them (an empty canvas);
    those widgets take their defaults from here, never from a value= argument."""
    for key in KEPT:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    st.session_state.setdefault(FUSION, "mean")
    st.session_state.setdefault(DISCARD, 0.0)


# ----------------------------------------------------------------------------- input
def read_upload(data) -> tuple[np.ndarray | None, str | None]:
    """An uploaded file's bytes -> (grey image (H, W), None) or (None, a message for the user).

    core.images.load_image checks the size, the type (PNG or JPEG only, by content, not name),
    the pixel count before decoding and the file's integrity."""
    try:
        grey = load_image(data)                                          # (H, W) in [0, 1]
    except ValueError as e:
        return None, f"Cannot use this file: {e}."
    if float(grey.max() - grey.min()) < 1e-3:
        return None, ("Cannot use this file: the image is one flat colour; draw or photograph "
                      "a dark shape on a light background (or light on dark).")
    return grey, None


def canvas_widget():
    """streamlit-drawable-canvas's st_canvas (bundled JS, works offline), or None where it is
    not installed or cannot register (outside `streamlit run`): a pixel grid stands in."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception:                   # noqa: BLE001 - ImportError or StreamlitAPIException
        return None
    return st_canvas


def _draw(task, size: int):
    """A drawing -> grey image, or None (with a hint) while the canvas is empty."""
    st.caption(task.hint(size))
    st_canvas = canvas_widget()
    if st_canvas is not None:
        left, right = st.columns([1, 2])
        st.session_state.setdefault(PEN, task.pen_width)
        pen = right.slider("Pen width", 4, 40, key=PEN)
        right.caption("Undo, redo and clear are on the canvas's toolbar.")
        with left:
            result = st_canvas(stroke_width=pen, stroke_color="#ffffff",
                               background_color="#000000",
                               width=CANVAS_PX, height=CANVAS_PX, return_image_data=True,
                               key=f"vit_canvas_{task.name}")
        rgba = None if result is None else result.image_data
        grey = None if rgba is None else canvas_to_image(np.asarray(rgba))  # (H, W)
    else:
        st.caption("Type 0 (dark) to 9 (bright) in the cells.")
        blank = pd.DataFrame(np.zeros((size, size), dtype=int), columns=[str(c) for c in
                                                                          range(size)])
        config = {str(c): st.column_config.NumberColumn(min_value=0, max_value=9, step=1,
                                                        width=30) for c in range(size)}
        edited = st.data_editor(blank, key=f"vit_grid_{task.name}_{size}", column_config=config,
                                num_rows="fixed", hide_index=True)
        grey = np.clip(edited.fillna(0).to_numpy(dtype=float), 0, 9) / 9.0  # (S, S)
    if grey is None or float(grey.max() - grey.min()) < 1e-3:
        st.info("The canvas is empty: draw something to classify.", icon=":material/draw:")
        return None
    return grey


def pick_input(task, cfg):
    """Source control and its widget -> (example for task.inspect or None, what it is)."""
    source = st.segmented_control("Image", list(SOURCES), format_func=SOURCES.get,
                                  key="vit_source", default="test")
    if source == "draw":
        return _draw(task, cfg.image_size), "drawing"
    if source == "upload":
        file = st.file_uploader("A PNG or JPEG image (at most 2 MB)", type=["png", "jpg", "jpeg"],
                                key="vit_upload", help="Any size: it is converted to the "
                                f"model's {cfg.image_size}×{cfg.image_size} grey input.")
        if file is None:
            st.info(f"Upload an image of a {task.noun}.")
            return None, ""
        grey, message = read_upload(file.getvalue())
        if message:
            st.error(message, icon=":material/error:")
        else:
            st.image(grey, width=120, caption="your file, in grey", clamp=True)
        shown = "".join(c for c in file.name[:40] if c.isprintable() and c not in "`\\")
        return grey, f"upload `{shown}`"
    tests = task.fixed_examples()
    if not tests:
        st.warning(f"The {task.name} task has no test images; draw or upload one.")
        return None, ""
    if not 0 <= int(st.session_state.get(IMAGE, 0) or 0) < len(tests):
        st.session_state[IMAGE] = 0
    i = int(st.number_input(f"Test image (0–{len(tests) - 1})", 0, len(tests) - 1, key=IMAGE,
                            step=1, help="Images the model never trained on",
                            bind="query-params"))
    return tests.input(i), f"test image {i}"


def _digest(example) -> str:
    if isinstance(example, str):
        return example
    arr = np.ascontiguousarray(example)
    return f"{arr.shape}:{hashlib.sha1(arr.tobytes()).hexdigest()}"


def inspection(row, model, task, example):
    """task.inspect(model, example), memoised per user by (checkpoint, file version, image); None
    with a message shown when the image cannot be used."""
    key = (row["path"], file_version(row["path"]), _digest(example))
    try:
        return memo(MEMO_KEY, key, lambda: task.inspect(model, example))
    except ValueError as e:
        st.error(f"The model cannot use this image: {e}", icon=":material/error:")
        return None


def query_options(n_patches: int) -> list[str]:
    return ["CLS"] + [f"patch {k}" for k in range(n_patches)]


def pick_head(model, n_patches: int):
    """Layer, head and query selectboxes -> (layer, head, query token index, 0 = CLS)."""
    c1, c2, c3 = st.columns([1, 1, 2])
    layer, head = layer_head_pickers(c1, c2, model.cfg.n_layers, model.cfg.n_heads)
    queries = query_options(n_patches)
    clamp(QUERY, queries)
    query = c3.selectbox("Query token (or click a patch below)", queries, key=QUERY,
                         bind="query-params",
                         help="The token whose attention row is drawn: CLS, which the "
                              "classifier reads, or one patch (row-major)")
    return layer, head, queries.index(query)
