"""Test images for a pretrained vision model, made here: no photo ships with the app and nothing
is downloaded, so the ViT page offers pictures it can draw itself, named for what they are.

    names()                          # ["synthetic: three shapes on white", ...]
    image = make(0, size=224)        # (224, 224, 3) uint8 RGB

None of them is a photograph: an ImageNet classifier has no class for a checkerboard, and what
it answers for one says what it makes of an unfamiliar picture, not how good it is. Two come
from the shipped tasks' data (a held-out handwritten digit and a shapes-task image), enlarged
without smoothing, so their pixels stay visible as blocks. numpy only (the two task images
read core.tasks, imported when asked for).
"""
from __future__ import annotations

import numpy as np


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) coordinates in [0, 1) of each pixel centre, each (size, size)."""
    t = (np.arange(size) + 0.5) / size
    return np.meshgrid(t, t, indexing="ij")


def _canvas(size: int, colour=(255, 255, 255)) -> np.ndarray:
    out = np.empty((size, size, 3), dtype=np.uint8)                      # (S, S, 3)
    out[...] = colour
    return out


def three_shapes(size: int) -> np.ndarray:
    """A red square (top left), a green triangle (top right), a blue disc (bottom)."""
    y, x = _grid(size)
    img = _canvas(size)
    img[(y > 0.12) & (y < 0.40) & (x > 0.10) & (x < 0.38)] = (220, 40, 40)
    tri = (y > 0.12) & (y < 0.42) & (np.abs(x - 0.73) < (y - 0.12) * 0.6)
    img[tri] = (40, 170, 60)
    img[(y - 0.72) ** 2 + (x - 0.50) ** 2 < 0.16 ** 2] = (40, 80, 220)
    return img


def disc(size: int) -> np.ndarray:
    """One orange disc off centre on a mid-grey background."""
    y, x = _grid(size)
    img = _canvas(size, (128, 128, 128))
    img[(y - 0.35) ** 2 + (x - 0.65) ** 2 < 0.18 ** 2] = (245, 140, 20)
    return img


def checkerboard(size: int, squares: int = 8) -> np.ndarray:
    """Black and white squares, `squares` per side."""
    y, x = _grid(size)
    on = (np.floor(y * squares) + np.floor(x * squares)) % 2 == 0               # (S, S)
    return np.repeat(np.where(on, 255, 0).astype(np.uint8)[..., None], 3, axis=-1)


def gradient(size: int) -> np.ndarray:
    """Red grows to the right, green downwards, blue the other way: no object at all."""
    y, x = _grid(size)
    rgb = np.stack([x, y, 1.0 - (x + y) / 2], axis=-1)                  # (S, S, 3)
    return np.round(255 * rgb).astype(np.uint8)


def stripes(size: int, period: float = 0.125) -> np.ndarray:
    """Diagonal dark-blue and yellow stripes."""
    y, x = _grid(size)
    on = np.floor((x + y) / period) % 2 == 0                            # (S, S)
    return np.where(on[..., None], np.uint8([250, 210, 40]), np.uint8([20, 30, 90]))


def _enlarge(grey: np.ndarray, size: int) -> np.ndarray:
    """A small grey image in [0, 1] -> (size, size, 3) uint8, nearest neighbour (blocks stay)."""
    h, w = grey.shape
    rows, cols = np.arange(size) * h // size, np.arange(size) * w // size
    big = grey[rows][:, cols]                                            # (S, S)
    return np.repeat(np.round(255 * big).astype(np.uint8)[..., None], 3, axis=-1)


def digit(size: int) -> np.ndarray:
    """The digits task's first held-out 3 (8×8), dark ink on white as on paper."""
    from ..tasks.digits import TASK
    return _enlarge(1.0 - TASK.class_example(3), size)


def shape_on_noise(size: int) -> np.ndarray:
    """The shapes task's first ring on noise (16×16), bright on dark as the task draws it."""
    from ..tasks.shapes import TASK
    return _enlarge(TASK.class_example(TASK.class_names.index("ring")), size)


# (name shown in the picker, maker)
IMAGES = (
    ("synthetic: three shapes on white", three_shapes),
    ("synthetic: an orange disc on grey", disc),
    ("synthetic: checkerboard", checkerboard),
    ("synthetic: colour gradient (no object)", gradient),
    ("synthetic: diagonal stripes", stripes),
    ("digits task: a handwritten 3 (8×8, enlarged)", digit),
    ("shapes task: a ring on noise (16×16, enlarged)", shape_on_noise),
)


def names() -> list[str]:
    return [name for name, _ in IMAGES]


def make(i: int, size: int) -> np.ndarray:
    """Test image i as (size, size, 3) uint8 RGB; ValueError for an index that does not exist."""
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < len(IMAGES):
        raise ValueError(f"test image {i!r} does not exist; there are {len(IMAGES)} "
                         f"(0..{len(IMAGES) - 1})")
    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 4096:
        raise ValueError(f"size must be an integer in 8..4096, got {size!r}")
    return IMAGES[int(i)][1](size)
