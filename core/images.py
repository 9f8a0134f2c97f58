"""A user's own image, made ready for a vision model: uploads, drawing canvases, plain arrays.

    grey = load_image(uploaded_bytes)              # (H, W) float32 in [0, 1]; ValueError if unusable
    grey = canvas_to_image(canvas_rgba)            # (H, W) from a drawing canvas (RGBA uint8)
    x = to_model_input(grey, size=8, fit=True)     # (8, 8): bright object on dark, stretched to [0, 1]

Only torch, numpy and PIL: no Streamlit. Every way an input can be unusable (empty, too large,
not PNG/JPEG, corrupt, truncated, a decompression bomb, NaN values, wrong shape) raises ValueError
with a message a user can act on.
"""
from __future__ import annotations

import io
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

MAX_BYTES = 2_000_000
MAX_PIXELS = 4096 * 4096
MAX_SIDE = 4096
MAX_VALUE = 1e30                          # far below float32's limit (3.4e38): no overflow
FORMATS = ("PNG", "JPEG")
_LUMA = np.array([0.299, 0.587, 0.114])   # ITU-R 601 grey, as PIL's convert("L")


def load_image(data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """PNG or JPEG bytes -> grey image (H, W) float32 in [0, 1].

    The size in bytes and the pixel count (read from the header, before decoding) are checked
    first, so a small file that would decode to gigabytes is refused. Transparency follows
    canvas_to_image: transparent pixels are background.
    """
    return _decode(data, max_bytes, max_pixels, _grey_from_pil)


def load_rgb(data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """PNG or JPEG bytes -> colour image (H, W, 3) uint8, with load_image's checks (for
    pretrained vision models, which read RGB; transparency is dropped as PIL's RGB does)."""
    return _decode(data, max_bytes, max_pixels,
                   lambda img: np.asarray(img.convert("RGB"), dtype=np.uint8))


def _decode(data, max_bytes: int, max_pixels: int, finish):
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"expected the image file's bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise ValueError("the image file is empty")
    if len(data) > max_bytes:
        raise ValueError(f"the image file is {len(data) / 1e6:.1f} MB; at most "
                         f"{max_bytes / 1e6:.1f} MB is accepted")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as img:
                w, h = img.size
                if w * h > max_pixels or w < 1 or h < 1:
                    raise ValueError(f"the image is {w}×{h} pixels; at most {max_pixels:,} "
                                     "pixels are accepted")
                if min(w, h) < 2 or max(w, h) > MAX_SIDE:          # as as_grey for arrays
                    raise ValueError(f"the image is {w}×{h} pixels; each side must be "
                                     f"2..{MAX_SIDE}")
                img.load()
                return finish(img)
    except ValueError:
        raise
    except Image.UnidentifiedImageError:
        raise ValueError("not a PNG or JPEG image (the file could not be recognised)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError("the image has too many pixels to decode safely") from None
    except Exception as e:   # truncated or corrupt data: OSError, SyntaxError, struct.error ...
        raise ValueError(f"the image file is damaged or truncated ({type(e).__name__}: "
                         f"{str(e)[:120]})") from None


def _grey_from_pil(img: Image.Image) -> np.ndarray:
    """Any PIL mode -> (H, W) float32 in [0, 1]."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):           # 16-bit / float greys
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max(initial=0.0)
        arr = arr / (65535.0 if top > 255 else 255.0) if top > 1 else arr
        return np.clip(arr, 0, 1).astype(np.float32)
    if "A" in img.mode or "transparency" in img.info:
        return _grey_from_array(np.asarray(img.convert("RGBA")))
    return np.asarray(img.convert("L"), dtype=np.float32) / 255.0


def canvas_to_image(rgba: np.ndarray) -> np.ndarray:
    """A drawing canvas (H, W, 4) RGBA uint8 -> grey (H, W) float32 in [0, 1].

    Transparent pixels are background: where any pixel is transparent the image is the ink
    coverage (alpha), so strokes of any colour come out bright on a dark background. A fully
    opaque canvas is read by its brightness (to_model_input's invert="auto" fixes the polarity).
    """
    arr = _to_numpy(rgba)
    if arr.ndim != 3 or arr.shape[-1] != 4:
        raise ValueError(f"a canvas must be an (H, W, 4) RGBA array, got shape {arr.shape}")
    return _grey_from_array(arr)


def _to_numpy(image) -> np.ndarray:
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    elif isinstance(image, Image.Image):
        return _grey_from_pil(image)
    if not isinstance(image, np.ndarray):
        try:
            image = np.asarray(image)
        except Exception:
            raise ValueError(f"cannot read {type(image).__name__} as an image") from None
    if image.dtype == bool:
        image = image.astype(np.float32)
    if not (np.issubdtype(image.dtype, np.integer) or np.issubdtype(image.dtype, np.floating)):
        raise ValueError(f"image values must be numbers, got dtype {image.dtype}")
    return image


def _grey_from_array(arr: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 1), (H, W, 3) or (H, W, 4) numbers -> (H, W) float32 grey (not clipped).
    The shape is checked before any conversion; NaN, infinities and values beyond ±MAX_VALUE
    (which float32 would turn into infinities) raise ValueError."""
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] in (1, 3, 4))):
        raise ValueError(f"an image must be (H, W) or (H, W, C) with C = 1, 3 or 4; got shape "
                         f"{arr.shape}")
    integer = np.issubdtype(arr.dtype, np.integer)
    x = arr.astype(np.float64)
    if x.size and not np.isfinite(x).all():
        raise ValueError("the image contains NaN or infinite values")
    if x.size and np.abs(x).max() > MAX_VALUE:
        raise ValueError(f"the image's values are too large (at most ±{MAX_VALUE:g})")
    if integer and x.ndim == 3 and x.shape[-1] == 4:
        x = x / 255.0                                                    # RGBA uint8 convention
    if x.ndim == 3 and x.shape[-1] == 1:
        x = x[..., 0]                                                    # (H, W)
    elif x.ndim == 3 and x.shape[-1] in (3, 4):
        grey = x[..., :3] @ _LUMA                                        # (H, W)
        if x.shape[-1] == 4:
            alpha = np.clip(x[..., 3], 0.0, 1.0)                         # (H, W)
            if (alpha < 1.0).any():
                grey = alpha                                             # ink coverage
        x = grey
    return x.astype(np.float32)


def as_grey(image, max_side: int = MAX_SIDE) -> np.ndarray:
    """Bytes (PNG/JPEG), a PIL image, or an array / tensor (H, W) or (H, W, C) -> (H, W) float32.

    Values keep their scale (to_model_input stretches them); NaN, infinities, empty or
    oversized arrays raise ValueError.
    """
    if isinstance(image, (bytes, bytearray, memoryview)):
        return load_image(image)
    grey = _grey_from_array(_to_numpy(image))                            # (H, W)
    if grey.size == 0:
        raise ValueError("the image is empty")
    if max(grey.shape) > max_side:
        raise ValueError(f"the image is {grey.shape[1]}×{grey.shape[0]} pixels; each side may "
                         f"be at most {max_side}")
    if min(grey.shape) < 2:
        raise ValueError(f"the image is {grey.shape[1]}×{grey.shape[0]} pixels; each side must "
                         "be at least 2")
    if not np.isfinite(grey).all():
        raise ValueError("the image contains NaN or infinite values")
    return grey


def stretch(x: np.ndarray) -> np.ndarray:
    """Min-max stretch to [0, 1] (a flat image becomes all zeros) — as the vision tasks'
    training batches are normalised (core.tasks.vision.normalise)."""
    lo, hi = float(x.min()), float(x.max())
    if hi - lo < 1e-8:
        return np.zeros_like(x, dtype=np.float32)
    return ((x - lo) / (hi - lo)).astype(np.float32)


def needs_inversion(grey: np.ndarray) -> bool:
    """True when the background (the median of the border pixels) is brighter than mid-grey:
    dark-on-light, the opposite of the training data."""
    g = stretch(grey)
    border = np.concatenate([g[0], g[-1], g[1:-1, 0], g[1:-1, -1]])
    return float(np.median(border)) > 0.5


def _fit_content(x: np.ndarray, margin: float, threshold: float = 0.2) -> np.ndarray:
    """Crop to the bounding box of the bright content, then pad to a centred square."""
    rows = np.flatnonzero((x > threshold).any(axis=1))
    cols = np.flatnonzero((x > threshold).any(axis=0))
    if rows.size == 0:
        return x
    x = x[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]                    # (h, w)
    side = int(round(max(x.shape) * (1 + 2 * margin)))
    top, left = (side - x.shape[0]) // 2, (side - x.shape[1]) // 2
    out = np.zeros((side, side), dtype=np.float32)                       # (side, side)
    out[top:top + x.shape[0], left:left + x.shape[1]] = x
    return out


def _pad_square(x: np.ndarray) -> np.ndarray:
    h, w = x.shape
    side = max(h, w)
    out = np.zeros((side, side), dtype=np.float32)                       # (side, side)
    out[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = x
    return out


def resize(x: np.ndarray, size: int) -> np.ndarray:
    """(H, W) -> (size, size): the mean over each output pixel's area when shrinking (how the
    digits data were made: on-pixels counted per 4×4 block), bilinear when enlarging."""
    if x.shape == (size, size):
        return x.astype(np.float32)
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None, None]  # (1, 1, H, W)
    if min(x.shape) >= size:
        out = F.interpolate(t, size=(size, size), mode="area")           # (1, 1, size, size)
    else:
        out = F.interpolate(t, size=(size, size), mode="bilinear", antialias=True,
                            align_corners=False)                         # (1, 1, size, size)
    return out[0, 0].numpy()


def to_model_input(image, size: int, invert="auto", fit: bool = False,
                   margin: float = 0.0) -> np.ndarray:
    """Any accepted image -> (size, size) float32 in [0, 1], bright object on a dark background.

    invert: "auto" (invert when the border is bright, see needs_inversion), True or False.
    fit: when the image is not already size×size, crop to the content's bounding box and centre
    it in a square with `margin` (a fraction of the content's size) before resizing — how the
    digits data were made. Non-square images are padded to a square (never stretched). The
    result is min-max stretched, like the tasks' training images.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    if invert not in ("auto", True, False):
        raise ValueError(f"invert must be 'auto', True or False, got {invert!r}")
    x = stretch(as_grey(image))                                          # (H, W) in [0, 1]
    if invert is True or (invert == "auto" and needs_inversion(x)):
        x = 1.0 - x
    if x.shape != (size, size):
        x = _fit_content(x, margin) if fit else _pad_square(x)
        x = resize(x, size)                                              # (size, size)
    return stretch(x)


__all__ = ["load_image", "load_rgb", "canvas_to_image", "as_grey", "to_model_input",
           "needs_inversion", "stretch", "resize", "MAX_BYTES", "MAX_PIXELS", "FORMATS"]
