"""A vision model's input as its preprocessor_config.json says: RGB, resized, rescaled,
normalised (Hugging Face's ViTImageProcessor), in torch and numpy.

    prep = ImagePreprocessor.from_folder(folder, image_size=224)
    pixels = prep(image)              # (1, 3, 224, 224) float32, ready for the ViT

`image`: PNG/JPEG bytes (decoded by core.images.load_rgb, with its size checks), a PIL image, or
an array / tensor (H, W), (H, W, 1), (H, W, 3) or (H, W, 4): uint8 in 0..255 or floats in [0, 1].
Grey images are repeated over the channels. Resizing is bilinear with antialiasing, as PIL
resizes; 8-bit inputs are rounded to 8 bits after resizing as the PIL-based processor does.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..images import MAX_SIDE, load_rgb
from .files import PretrainedError, read_json

_RESAMPLE = {0: "nearest", 2: "bilinear", 3: "bicubic"}     # PIL's codes for the modes we have


@dataclass(frozen=True)
class ImagePreprocessor:
    height: int = 224
    width: int = 224
    channels: int = 3
    mean: tuple = (0.5, 0.5, 0.5)
    std: tuple = (0.5, 0.5, 0.5)
    rescale: float = 1 / 255
    do_resize: bool = True
    do_rescale: bool = True
    do_normalize: bool = True
    resample: str = "bilinear"

    @classmethod
    def from_folder(cls, folder: Path, image_size: int, channels: int = 3):
        """From preprocessor_config.json, or ViTImageProcessor's defaults at the model's size."""
        file = Path(folder) / "preprocessor_config.json"
        if not file.is_file():
            return cls(image_size, image_size, channels, (0.5,) * channels, (0.5,) * channels)
        spec = read_json(file)
        size = spec.get("size", image_size)
        if isinstance(size, dict):
            h, w = size.get("height", size.get("shortest_edge")), size.get("width",
                                                                           size.get("shortest_edge"))
        else:
            h = w = size
        if not all(isinstance(v, int) and 0 < v <= MAX_SIDE for v in (h, w)):
            raise PretrainedError(f"preprocessor_config.json: size {size!r} is not usable")
        mean = _per_channel(spec.get("image_mean", 0.5), channels, "image_mean")
        std = _per_channel(spec.get("image_std", 0.5), channels, "image_std")
        if any(s <= 0 for s in std):
            raise PretrainedError("preprocessor_config.json: image_std must be positive")
        return cls(h, w, channels, mean, std, float(spec.get("rescale_factor", 1 / 255)),
                   bool(spec.get("do_resize", True)), bool(spec.get("do_rescale", True)),
                   bool(spec.get("do_normalize", True)),
                   _RESAMPLE.get(spec.get("resample", 2), "bilinear"))

    def __call__(self, image) -> torch.Tensor:
        """(1, C, height, width) float32 (ready for the model)."""
        x, eight_bit = _as_array(image)                                   # (H, W, 3) 0..255
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        t = t.permute(2, 0, 1)[None]                                      # (1, 3, H, W)
        if self.channels == 1:
            t = (t * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        elif self.channels != 3:
            raise ValueError(f"a model with {self.channels} channels takes no RGB images")
        if self.do_resize and tuple(t.shape[-2:]) != (self.height, self.width):
            kw = dict(antialias=True, align_corners=False) if self.resample != "nearest" else {}
            t = F.interpolate(t, size=(self.height, self.width), mode=self.resample, **kw)
            if eight_bit:
                t = t.round().clamp(0, 255)                               # PIL resizes in 8 bits
        if self.do_rescale:
            t = t * self.rescale
        if self.do_normalize:
            mean = torch.tensor(self.mean, dtype=t.dtype).view(1, -1, 1, 1)
            std = torch.tensor(self.std, dtype=t.dtype).view(1, -1, 1, 1)
            t = (t - mean) / std                                          # (1, C, h, w)
        return t

    def inputs(self, image) -> dict:
        """{"images": (1, C, h, w)}, ready for model(**inputs)."""
        return {"images": self(image)}


def _per_channel(value, channels: int, name: str) -> tuple:
    vals = [value] * channels if isinstance(value, (int, float)) else value
    if (not isinstance(vals, (list, tuple)) or len(vals) != channels
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)):
        raise PretrainedError(f"preprocessor_config.json: {name} should be {channels} numbers")
    return tuple(float(v) for v in vals)


def _as_array(image) -> tuple[np.ndarray, bool]:
    """(H, W, 3) float64 array in 0..255, and whether it came as 8-bit values."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        image = load_rgb(image)
    if hasattr(image, "convert") and hasattr(image, "size"):                # a PIL image
        image = np.asarray(image.convert("RGB"))
    if torch.is_tensor(image):
        image = image.detach().cpu().numpy()
    try:
        x = np.asarray(image)
    except Exception:
        raise ValueError(f"cannot read {type(image).__name__} as an image") from None
    if x.ndim == 3 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim == 2:
        x = np.repeat(x[..., None], 3, axis=-1)                             # grey -> RGB
    if x.ndim != 3 or x.shape[-1] not in (3, 4):
        raise ValueError(f"an image must be (H, W) or (H, W, C) with C = 1, 3 or 4; got shape "
                         f"{x.shape}")
    x = x[..., :3]
    if x.size == 0 or min(x.shape[:2]) < 2 or max(x.shape[:2]) > MAX_SIDE:
        raise ValueError(f"the image is {x.shape[1]}×{x.shape[0]} pixels; each side must be "
                         f"2..{MAX_SIDE}")
    eight_bit = x.dtype == np.uint8
    if not (eight_bit or np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)
            or x.dtype == bool):
        raise ValueError(f"image values must be numbers, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError("the image contains NaN or infinite values")
    if not eight_bit and x.max(initial=0.0) <= 1.0:
        x = x * 255.0                                                       # [0, 1] floats
    return np.clip(x, 0.0, 255.0), eight_bit
