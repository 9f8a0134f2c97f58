"""Where the ViT page's image comes from: a test image (by number, or by name where the task
names them), a drawing, or an upload.

Every image goes through task.parse, so each model reads it its own way: our digits and shapes
tasks make a grey, min-max stretched S×S image; a pretrained ViT's task keeps the colours and
its preprocessor resizes and normalises them (core.pretrained.vision_task). Uploads are decoded
by core.images (PNG or JPEG by content, at most 2 MB, pixel count read from the header before
decoding, truncated or corrupt files refused), so any bad file ends in a message.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from .controls import IMAGE, PEN, PEN_COLOUR, SOURCE, url_index, write_url

SOURCES = {"test": "Test image", "draw": "Draw", "upload": "Upload"}
CANVAS_PX = 224
UPLOAD = "vit_upload"
MAX_NAME = 40                           # characters of an uploaded file's name shown


def read_upload(task, data) -> tuple[object | None, str | None]:
    """An uploaded file's bytes -> (the task's example, None) or (None, a message)."""
    try:
        example = task.parse(bytes(data))
    except ValueError as e:
        return None, f"Cannot use this file: {e}."
    x = np.asarray(example)
    if x.ndim == 2 and float(x.max() - x.min()) < 1e-3:      # grey tasks stretch each image
        return None, ("Cannot use this file: the image is one flat colour; draw or photograph "
                      "a dark shape on a light background (or light on dark).")
    return example, None


def canvas_widget():
    """streamlit-drawable-canvas's st_canvas (bundled JS, works offline), or None where it is
    not installed or cannot register (outside `streamlit run`): a pixel grid stands in."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception:                   # noqa: BLE001 - ImportError or StreamlitAPIException
        return None
    return st_canvas


def _draw(task, cfg):
    """A drawing (RGBA from the canvas, or a grey pixel grid) -> example, or None while empty.
    A colour model draws in a chosen colour on white; a grey one white on black."""
    size, colour = cfg.image_size, cfg.channels == 3
    st.caption(task.hint(size))
    st_canvas = canvas_widget()
    if st_canvas is not None:
        left, right = st.columns([1, 2])
        st.session_state.setdefault(PEN, task.pen_width)
        pen = right.slider("Pen width", 4, 40, key=PEN)
        ink = "#ffffff"
        if colour:
            st.session_state.setdefault(PEN_COLOUR, "#1f5fbf")
            ink = right.color_picker("Pen colour", key=PEN_COLOUR)
        right.caption("Undo, redo and clear are on the canvas's toolbar.")
        with left:
            result = st_canvas(stroke_width=pen, stroke_color=ink,
                               background_color="#ffffff" if colour else "#000000",
                               width=CANVAS_PX, height=CANVAS_PX, return_image_data=True,
                               key=f"vit_canvas_{task.name}")
        rgba = None if result is None else result.image_data
        drawing = None if rgba is None else np.asarray(rgba, dtype=np.uint8)  # (H, W, 4)
        empty = drawing is None or int(drawing[..., 3].max()) == 0
    else:
        st.caption("Type 0 (dark) to 9 (bright) in the cells.")
        blank = pd.DataFrame(np.zeros((size, size), dtype=int), columns=[str(c) for c in
                                                                          range(size)])
        config = {str(c): st.column_config.NumberColumn(min_value=0, max_value=9, step=1,
                                                        width=30) for c in range(size)}
        edited = st.data_editor(blank, key=f"vit_grid_{task.name}_{size}", column_config=config,
                                num_rows="fixed", hide_index=True)
        drawing = np.clip(edited.fillna(0).to_numpy(dtype=float), 0, 9) / 9.0  # (S, S)
        empty = float(drawing.max() - drawing.min()) < 1e-3
    if empty:
        st.info("The canvas is empty: draw something to show the model.", icon=":material/draw:")
        return None
    return drawing


def _upload(task, cfg):
    file = st.file_uploader("A PNG or JPEG image (at most 2 MB)", type=["png", "jpg", "jpeg"],
                            key=UPLOAD, help="Any size up to 4096×4096 pixels: it is "
                            f"converted to the model's {cfg.image_size}×{cfg.image_size} input.")
    if file is None:
        st.info(f"Upload an image of a {task.noun}.")
        return None, ""
    example, message = read_upload(task, file.getvalue())
    if message:
        st.error(message, icon=":material/error:")
        return None, ""
    shown = "".join(c for c in file.name[:MAX_NAME] if c.isprintable() and c not in "`\\")
    return example, f"upload `{shown or 'image'}`"


def _test_image(task):
    tests = task.fixed_examples()
    if not tests:
        st.warning(f"The {task.name} task has no test images; draw or upload one.")
        return None, ""
    n = len(tests)
    url_index(IMAGE, n)
    if tests.names:
        i = st.selectbox("Test image", list(range(n)), key=IMAGE, format_func=tests.names.__getitem__,
                         help="Pictures made by the app (no photo ships with it): a "
                              "classifier's answer for them says what it makes of an "
                              "unfamiliar picture. Upload a photo for a real class.")
        what = tests.names[i]
    else:
        i = int(st.number_input(f"Test image (0–{n - 1})", 0, n - 1, key=IMAGE, step=1,
                                help="Held-out images the model never trained on"))
        what = f"test image {i}"
    write_url(IMAGE, i)
    return tests.input(i), what


def pick_input(task, cfg):
    """Source control and its widget -> (example for task.inspect or None, what it is)."""
    st.session_state.setdefault(SOURCE, "test")
    source = st.segmented_control("Image", list(SOURCES), format_func=SOURCES.get, key=SOURCE,
                                  required=True) or "test"
    if source == "draw":
        return _draw(task, cfg), "drawing"
    if source == "upload":
        return _upload(task, cfg)
    return _test_image(task)
