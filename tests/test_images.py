"""core.images: uploads (PNG/JPEG only, size and bomb guards), canvases, resizing for a model."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from core.images import (as_grey, canvas_to_image, load_image, load_rgb, needs_inversion, resize,
                         stretch, to_model_input)


def _encode(array: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt, **kw)
    return buf.getvalue()


def _gradient(h=20, w=30) -> np.ndarray:
    """(h, w) uint8: a diagonal ramp, so any flip or transpose would show."""
    r, c = np.indices((h, w))
    return ((r * 5 + c * 3) % 256).astype(np.uint8)


# -- uploads ---------------------------------------------------------------------------------
def test_png_round_trip_is_exact():
    grey = _gradient()
    out = load_image(_encode(grey, "PNG"))
    assert out.shape == grey.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, grey / 255.0, atol=1e-6)


def test_jpeg_round_trip_is_close_and_rgb_becomes_grey():
    grey = np.kron(np.array([[0, 255], [255, 0]], np.uint8), np.ones((16, 16), np.uint8))
    rgb = np.repeat(grey[:, :, None], 3, axis=2)                          # (32, 32, 3)
    out = load_image(_encode(rgb, "JPEG", quality=95))
    assert out.shape == (32, 32)
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert np.abs(out - grey / 255.0).mean() < 0.03


def test_png_with_transparency_reads_transparent_as_background():
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[3:6, 4:9] = (20, 20, 200, 255)                                   # an opaque blue stroke
    out = load_image(_encode(rgba, "PNG"))
    assert out[4, 5] == pytest.approx(1.0) and out[0, 0] == 0.0


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"hello, this is a text file\n" * 10, "not a png or jpeg"),
    (bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)), "not a png or jpeg"),
])
def test_foreign_bytes_are_refused_readably(data, words):
    with pytest.raises(ValueError) as e:
        load_image(data)
    assert words in str(e.value).lower()


def test_gif_is_refused_even_though_pil_reads_it():
    buf = io.BytesIO()
    Image.fromarray(_gradient()).save(buf, format="GIF")
    with pytest.raises(ValueError, match="PNG or JPEG"):
        load_image(buf.getvalue())


def test_truncated_png_is_refused():
    data = _encode(np.random.default_rng(1).integers(0, 256, (64, 64), dtype=np.uint8), "PNG")
    with pytest.raises(ValueError, match="damaged or truncated"):
        load_image(data[: len(data) // 2])


def test_oversized_bytes_are_refused_before_decoding():
    data = _encode(_gradient(), "PNG")
    with pytest.raises(ValueError, match="MB"):
        load_image(data, max_bytes=len(data) - 1)
    assert load_image(data, max_bytes=len(data)).shape == (20, 30)


def _png_claiming(width: int, height: int) -> bytes:
    """A real PNG whose header claims width × height pixels (a decompression-bomb shape)."""
    data = bytearray(_encode(np.zeros((1, 1), np.uint8), "PNG"))
    start = 8 + 8                                                         # signature, IHDR len+type
    data[start:start + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12:start + 13])) & 0xFFFFFFFF
    data[start + 13:start + 17] = struct.pack(">I", crc)
    return bytes(data)


@pytest.mark.parametrize("w, h", [(100_000, 100_000), (5000, 5000)])
def test_huge_dimensions_are_refused_from_the_header(w, h):
    with pytest.raises(ValueError, match="pixels"):
        load_image(_png_claiming(w, h))


def test_not_bytes_is_refused():
    with pytest.raises(ValueError, match="bytes"):
        load_image("picture.png")


# -- arrays and canvases ---------------------------------------------------------------------
@pytest.mark.parametrize("bad, words", [
    (np.zeros((0, 5)), "empty"),
    (np.zeros(10), "(H, W)"),
    (np.zeros((2, 4, 4, 4)), "(H, W)"),
    (np.zeros((4, 4, 2)), "(H, W)"),
    (np.array([[np.nan, 0.0], [1.0, 0.0]]), "NaN"),
    (np.array([[np.inf, 0.0], [1.0, 0.0]]), "infinite"),
    (np.array([["a", "b"], ["c", "d"]]), "numbers"),
    (np.zeros((1, 9)), "at least 2"),
    (np.zeros((5000, 3)), "at most"),
])
def test_bad_arrays_are_refused(bad, words):
    with pytest.raises(ValueError) as e:
        as_grey(bad)
    assert words.lower() in str(e.value).lower()


def test_canvas_strokes_of_any_colour_become_bright_on_dark():
    rgba = np.zeros((40, 40, 4), np.uint8)                                # transparent canvas
    rgba[10:30, 18:22] = (0, 0, 0, 255)                                   # a black stroke
    rgba[5:8, 5:8] = (255, 255, 255, 128)                                 # half-transparent white
    out = canvas_to_image(rgba)
    assert out.shape == (40, 40)
    assert out[20, 20] == pytest.approx(1.0) and out[0, 0] == 0.0
    assert out[6, 6] == pytest.approx(128 / 255, abs=1e-6)
    with pytest.raises(ValueError, match="RGBA"):
        canvas_to_image(np.zeros((4, 4, 3), np.uint8))


def test_opaque_canvas_is_read_by_brightness():
    rgba = np.full((8, 8, 4), 255, np.uint8)                              # opaque white
    rgba[2:6, 3] = (0, 0, 0, 255)
    out = canvas_to_image(rgba)
    assert out[0, 0] == pytest.approx(1.0) and out[3, 3] == 0.0
    assert needs_inversion(out)


# -- model input -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(8, 8), (37, 23), (100, 100), (3, 200)])
def test_to_model_input_shape_and_range(shape):
    rng = np.random.default_rng(0)
    out = to_model_input(rng.random(shape) * 7 - 2, 16)                   # any scale is stretched
    assert out.shape == (16, 16) and out.dtype == np.float32
    assert out.min() == pytest.approx(0.0) and out.max() == pytest.approx(1.0)


def test_auto_inversion_makes_dark_on_light_bright_on_dark():
    img = np.ones((32, 32))
    img[8:24, 14:18] = 0.0                                                # dark bar on white
    out = to_model_input(img, 8)
    assert out[4, 3:5].mean() > 0.5 and out[0, 0] == 0.0                 # bar bright, border dark
    same = to_model_input(1.0 - img, 8)
    np.testing.assert_allclose(out, same, atol=1e-6)
    kept = to_model_input(img, 8, invert=False)
    assert kept[0, 0] == 1.0


def test_fit_crops_to_content_and_keeps_aspect():
    big = np.zeros((100, 100))
    big[60:90, 10:25] = 1.0                                               # 30 tall, 15 wide, off-centre
    out = to_model_input(big, 8, fit=True)
    cols = np.flatnonzero(out.max(0) > 0.5)
    assert out[:, 0].max() < 0.1 and out[:, -1].max() < 0.1              # padded left and right
    assert set(cols) <= set(range(2, 6)) and out[:, 3:5].min() > 0.9      # centred, full height
    plain = to_model_input(big, 8, fit=False)
    assert plain[:4].max() < 0.1                                          # not cropped: top empty


def test_model_sized_input_is_only_stretched():
    x = np.random.default_rng(2).random((8, 8)).astype(np.float32)
    x[0, :] = 0.0                                                         # dark border: no inversion
    np.testing.assert_allclose(to_model_input(x, 8, fit=True), stretch(x), atol=1e-7)


def test_tensor_pil_and_bytes_inputs_agree():
    grey = _gradient(16, 16)
    a = to_model_input(grey, 8, invert=False)
    b = to_model_input(torch.from_numpy(grey), 8, invert=False)
    c = to_model_input(Image.fromarray(grey), 8, invert=False)
    d = to_model_input(_encode(grey, "PNG"), 8, invert=False)
    for other in (b, c, d):
        np.testing.assert_allclose(a, other, atol=1e-6)


def test_resize_averages_when_shrinking():
    x = np.kron(np.eye(2), np.ones((4, 4))).astype(np.float32)            # (8, 8) two blocks
    np.testing.assert_allclose(resize(x, 2), np.eye(2), atol=1e-6)
    with pytest.raises(ValueError, match="size"):
        to_model_input(x, 0)
    with pytest.raises(ValueError, match="invert"):
        to_model_input(x, 4, invert="yes")


@pytest.mark.parametrize("h, w", [(1, 1), (1, 40), (40, 1), (3, 5000)])
def test_files_with_a_side_under_2_or_over_4096_pixels_are_refused(h, w):
    """A 1×1 or one-row upload says why (it would otherwise be stretched into a flat image)."""
    data = _encode(np.random.default_rng(0).integers(0, 256, (h, w), dtype=np.uint8), "PNG")
    for load in (load_image, load_rgb):
        with pytest.raises(ValueError, match=f"{w}×{h} pixels; each side must be 2..4096"):
            load(data)
    assert load_rgb(_encode(np.zeros((2, 4096), np.uint8), "PNG")).shape == (2, 4096, 3)
