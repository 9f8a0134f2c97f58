"""Pretrained vision transformers as tasks: what the ViT page needs of a model it did not train.

A Task (core/tasks/base.py) is the contract every page reads. A pretrained ViT (ViTModel or
ViTForImageClassification, loaded by core.pretrained) has no training data, so its task
implements the exploring half only (`trains` is False): parse, inspect, the test images.

    pt = load_pretrained(folder)
    task = task_for(pt)                                  # VisionModelTask
    ins = task.inspect(pt.model, task.parse("test image 0"))
    ins.attention["encoder.blocks.0.self_attn"]          # (H, 1 + N, 1 + N), token 0 = [CLS]
    ins.picture.image                                    # (S, S, 3) what the model saw, in [0, 1]
    ins.picture.pixels                                   # (1, 3, S, S) its normalised input

Inputs (parse): a test image ("test image 2" or its name, see core.pretrained.test_images),
PNG/JPEG bytes (core.images.load_rgb: size, type and pixel-count checks), or an array / tensor /
PIL image (H, W), (H, W, 1|3|4). A transparent pixel (a drawing canvas) is background: white.
Every image becomes RGB uint8 (H, W, 3); the model's preprocessor (preprocessor_config.json:
resize, rescale, normalise) makes its input, and the picture shown is that input before the
normalisation, so the page draws exactly the pixels the model read.
"""
from __future__ import annotations

import numpy as np
import torch

from ..images import MAX_SIDE, load_rgb
from ..tasks.base import (FixedExamples, Inspection, Picture, Task, scores_and_masks,
                          squeeze_batch)
from . import test_images
from .imageprep import _as_array

BACKGROUND = 255.0          # a transparent pixel of a drawing is white paper


class VisionModelTask(Task):
    """Exploring a pretrained ViT on test images, uploads and drawings.

    parse(example) -> RGB uint8 (H, W, 3); inspect -> an Inspection over [CLS] + patches with
    the class probabilities where the model has a classifier (prediction None without one).
    """

    kind = "vit"
    noun = "picture"
    pen_width = 12
    draw_hint = ("Draw anything: the model reads the drawing in colour, resized to "
                 "{size}×{size} pixels.")

    def __init__(self, pretrained):
        info = pretrained.info
        if info.get("modality") != "image":
            raise ValueError(f"{info['architecture']} reads text, not images")
        self.pretrained = pretrained
        cfg = pretrained.model.cfg
        prep = pretrained.preprocessor
        if prep is not None and (prep.height, prep.width) != (cfg.image_size,) * 2 \
                and prep.do_resize:
            raise ValueError(f"its preprocessor_config.json makes {prep.height}×{prep.width} "
                             f"images, but the model reads {cfg.image_size}×{cfg.image_size}")
        self.name = self.title = info["name"]
        self.size, self.grid, self.patch = cfg.image_size, cfg.grid_size, cfg.patch_size
        labels = info.get("labels")
        self.class_names = tuple(labels) if labels else (
            tuple(f"class {i}" for i in range(cfg.n_classes)) if info.get("has_logits") else ())
        self.examples = tuple(test_images.names())
        self.max_input_len = MAX_SIDE                # longest side of an image, pixels
        what = (f"a classifier over {len(self.class_names):,} classes" if self.class_names
                else "no classifier (ViTModel: features only)")
        self.description = (f"{info['architecture']} ({info['parameters']:,} parameters, "
                            f"{cfg.n_layers} layers × {cfg.n_heads} heads, {self.grid}×"
                            f"{self.grid} patches of {self.patch}×{self.patch} pixels, {what}), "
                            f"read from {info['source']}.")

    # -- inputs --------------------------------------------------------------------------------
    def fixed_examples(self) -> FixedExamples:
        """The synthetic test images, by number and name; none has a right answer."""
        return FixedExamples(len(self.examples), "test image {}", lambda i: None,
                             names=self.examples)

    def hint(self, size: int) -> str:
        return self.draw_hint.format(size=size)

    def parse(self, example) -> np.ndarray:
        """One example -> RGB uint8 (H, W, 3), or ValueError with a message for the user."""
        if isinstance(example, str):
            return self._named(example)
        if example is None:
            raise ValueError("no image given")
        if isinstance(example, (bytes, bytearray, memoryview)):
            return load_rgb(example)                                     # (H, W, 3) uint8
        if isinstance(example, np.ndarray) and example.dtype == np.uint8 \
                and example.ndim == 3 and example.shape[-1] == 4:
            return _over_white(example)
        x, _ = _as_array(example)                                        # (H, W, 3) 0..255
        return np.round(x).astype(np.uint8)

    def _named(self, text: str) -> np.ndarray:
        t = " ".join(text.split()).lower()
        names = [n.lower() for n in self.examples]
        number = self.fixed_examples().number(t)
        if number is None and t in names:
            number = names.index(t)
        if number is None:
            raise ValueError(f"{text.strip()[:40]!r} is not an image; use 'test image N' "
                             f"(0..{len(self.examples) - 1}) or a test image's name")
        return test_images.make(number, self.size)

    # -- exploring -----------------------------------------------------------------------------
    def pixels(self, rgb: np.ndarray) -> torch.Tensor:
        """RGB uint8 (H, W, 3) -> the model's input (1, C, S, S), as its preprocessor says."""
        x = self.pretrained.preprocessor(rgb)                             # (1, C, h, w)
        C, S = self.pretrained.model.cfg.channels, self.size
        if tuple(x.shape[1:]) != (C, S, S):
            raise ValueError(f"this model reads {S}×{S} images and its preprocessor does not "
                             f"resize; this image is {rgb.shape[1]}×{rgb.shape[0]} pixels")
        return x

    def shown(self, pixels: torch.Tensor) -> np.ndarray:
        """The model's input without the normalisation: (S, S, 3) (or (S, S) for one channel)
        in [0, 1], the patch grid's pixels exactly."""
        prep, x = self.pretrained.preprocessor, pixels[0].double()          # (C, S, S)
        if prep.do_normalize:
            C = x.size(0)
            x = x * torch.tensor(prep.std[:C], dtype=x.dtype).view(C, 1, 1) \
                + torch.tensor(prep.mean[:C], dtype=x.dtype).view(C, 1, 1)
        x = x / (prep.rescale * 255.0) if prep.do_rescale else x / 255.0
        img = x.clamp(0, 1).permute(1, 2, 0).numpy()                       # (S, S, C)
        edge = self.grid * self.patch
        img = img[:edge, :edge]
        return img[..., 0] if img.shape[-1] == 1 else img

    @torch.no_grad()
    def inspect(self, model, example, head_mask=None, return_scores: bool = False) -> Inspection:
        pixels = self.pixels(self.parse(example))                           # (1, C, S, S)
        out = model(pixels.to(model.device), return_attention=True,
                    return_scores=return_scores, head_mask=head_mask)
        labels = self.pretrained.patch_labels()                             # [CLS] + patches
        scores, masks = scores_and_masks(out, return_scores)
        probs = prediction = None
        if out.logits is not None:
            probs = torch.softmax(out.logits[0].float(), -1).cpu()          # (C,)
            prediction = int(probs.argmax())
        return Inspection(
            prediction=prediction, attention=squeeze_batch(out.attention),
            labels={name: (labels, labels) for name in out.attention},
            scores=scores, masks=masks, tokens=labels, probs=probs,
            classes=list(self.class_names) or None,
            special=[True] + [False] * (len(labels) - 1),
            picture=_picture(self, pixels))

    @torch.no_grad()
    def predict(self, model, examples: list) -> list:
        """The class index of each image (a model with a classifier only)."""
        if not isinstance(examples, (list, tuple)) or not examples:
            raise ValueError("predict() takes a non-empty list of images")
        if model.head is None:
            raise ValueError(f"{self.name} has no classifier: it predicts nothing")
        x = torch.cat([self.pixels(self.parse(e)) for e in examples])       # (B, C, S, S)
        return [int(c) for c in model(x.to(model.device)).logits.argmax(-1).cpu()]


def _picture(task: VisionModelTask, pixels: torch.Tensor) -> Picture:
    return Picture(image=task.shown(pixels), grid=task.grid, patch_size=task.patch,
                   pixels=pixels.detach().cpu())


def _over_white(rgba: np.ndarray) -> np.ndarray:
    """RGBA uint8 (H, W, 4) -> RGB uint8 over white paper (a canvas's transparent background)."""
    if min(rgba.shape[:2]) < 2 or max(rgba.shape[:2]) > MAX_SIDE:
        raise ValueError(f"the image is {rgba.shape[1]}×{rgba.shape[0]} pixels; each side must "
                         f"be 2..{MAX_SIDE}")
    a = rgba[..., 3:].astype(np.float64) / 255.0                           # (H, W, 1)
    rgb = rgba[..., :3].astype(np.float64) * a + BACKGROUND * (1.0 - a)
    return np.round(rgb).astype(np.uint8)
