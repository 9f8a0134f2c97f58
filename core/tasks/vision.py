"""Shared machinery of the vision tasks (digits, shapes): a ViT classifying grey square images.

Batches are {"x": (B, 1, S, S) float in [0, 1], "y": (B,) long class index}; every image is
min-max stretched per image (`normalise`), the same rule core.images.to_model_input applies to a
user's image, so a training image and the same image given to predict() agree exactly.

A user's example (predict / inspect) may be a numpy array or torch tensor (H, W) or (H, W, C),
a PIL image, PNG/JPEG bytes, or a string: a class name ("ring", "7") picks a fixed example of that
class, "sample N" the task's N-th fixed example. Anything else raises ValueError.
predict() returns class indices (ints); `class_names[i]` names them and inspect() adds the
probabilities.

Subclasses provide:
- ``sample(batch_size, generator) -> (images (B, S, S) float, labels (B,) long)`` on the CPU,
  vectorised, before normalisation;
- ``fixed_example(i) -> (image (S, S) ndarray, label)``: the i-th fixed example (app buttons, probe);
- ``eval_set(n, seed) -> (images (n, S, S), labels (n,))``: what evaluate() scores.
"""
from __future__ import annotations

import re

import numpy as np
import torch
import torch.nn.functional as F

from .. import images as img_io
from .base import FixedExamples, Inspection, LabelPairs, Picture, Task, squeeze_batch


def normalise(images: torch.Tensor) -> torch.Tensor:
    """Per-image min-max stretch of (B, ..., S, S) to [0, 1]; a flat image becomes zeros."""
    flat = images.flatten(1)                                              # (B, P)
    lo = flat.min(1, keepdim=True).values
    span = flat.max(1, keepdim=True).values - lo                          # (B, 1)
    out = torch.where(span > 1e-8, (flat - lo) / span.clamp(min=1e-8), torch.zeros_like(flat))
    return out.view_as(images)


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each image (B, S, S) by its own random offset in [-max_shift, max_shift] per axis,
    filling with zeros (pad, then gather a per-image window)."""
    B, S, _ = images.shape
    m = max_shift
    padded = F.pad(images, (m, m, m, m))                                  # (B, S+2m, S+2m)
    dy = torch.randint(0, 2 * m + 1, (B,), generator=generator)           # (B,)
    dx = torch.randint(0, 2 * m + 1, (B,), generator=generator)
    rows = dy[:, None] + torch.arange(S)                                  # (B, S)
    cols = dx[:, None] + torch.arange(S)                                  # (B, S)
    b = torch.arange(B)[:, None, None]                                    # (B, 1, 1)
    return padded[b, rows[:, :, None], cols[:, None, :]]                  # (B, S, S)


class VisionTask(Task):
    """Base of the ViT image-classification tasks. Metric: accuracy (and n, the images scored)."""

    kind = "vit"
    metrics = ("accuracy",)
    class_names: tuple = ()
    image_size = 16
    patch_size = 4
    fit_content = False              # crop a user's image to its content before resizing
    fit_margin = 0.0
    max_input_len = img_io.MAX_SIDE  # longest side (pixels) of a user's image
    eval_chunk = 500
    n_fixed = 0                      # fixed (held-out) examples: fixed_example(0..n_fixed - 1)
    noun = "image"                   # what a user draws or uploads ("digit", "shape")
    draw_hint = "Draw one {noun} in the middle of the canvas."   # {noun} {size} {classes}
    pen_width = 20                   # the drawing canvas's default pen, in canvas pixels

    # -- to implement ------------------------------------------------------------------------
    def sample(self, batch_size: int, generator: torch.Generator):
        raise NotImplementedError

    def fixed_example(self, i: int):
        raise NotImplementedError

    def eval_set(self, n: int, seed: int):
        raise NotImplementedError

    # -- data --------------------------------------------------------------------------------
    def batch(self, batch_size: int, generator: torch.Generator, device) -> dict:
        x, y = self.sample(batch_size, generator)                         # (B, S, S), (B,)
        x = normalise(x).unsqueeze(1)                                     # (B, 1, S, S)
        return {"x": x.to(device), "y": y.to(device)}

    def loss(self, model, batch: dict) -> torch.Tensor:
        logits = model(batch["x"]).logits                                 # (B, C)
        return F.cross_entropy(logits, batch["y"])

    # -- scoring -----------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, model, n: int = 2000, seed: int = 1234) -> dict:
        """Accuracy on eval_set(n, seed), batched on the model's device."""
        x, y = self.eval_set(n, seed)                                     # (n, S, S), (n,)
        x = normalise(x).unsqueeze(1)                                     # (n, 1, S, S)
        was_training = model.training
        model.eval()
        device = model.device
        correct = 0
        for i in range(0, len(y), self.eval_chunk):
            logits = model(x[i:i + self.eval_chunk].to(device)).logits    # (b, C)
            correct += int((logits.argmax(-1).cpu() == y[i:i + self.eval_chunk]).sum())
        model.train(was_training)
        return {"accuracy": correct / max(1, len(y)), "n": int(len(y))}

    # -- a user's input ----------------------------------------------------------------------
    def parse(self, example, size: int | None = None) -> np.ndarray:
        """One example -> the model-ready (size, size) float32 image in [0, 1] (size defaults to
        the task's image_size), or ValueError with a message for the user."""
        size = size or self.image_size
        if isinstance(example, str):
            image = self._parse_text(example)                             # (S, S)
            return image if size == self.image_size else img_io.to_model_input(image, size, False)
        if example is None:
            raise ValueError("no image given")
        return img_io.to_model_input(example, size, invert="auto", fit=self.fit_content,
                                     margin=self.fit_margin)

    def _parse_text(self, text: str) -> np.ndarray:
        t = text.strip().lower()
        if not t:
            raise ValueError("empty input: give an image, a class name or 'sample N'")
        names = [str(c).lower() for c in self.class_names]
        if t in names:
            return self.class_example(names.index(t))
        m = re.fullmatch(r"sample\s*(\d{1,6})", t)
        if m:
            return self.fixed_example(int(m.group(1)))[0]
        raise ValueError(f"{text.strip()[:40]!r} is not an image; type a class name "
                         f"({', '.join(map(str, self.class_names))}) or 'sample N'")

    def fixed_examples(self) -> FixedExamples:
        """The held-out images, typed "sample 3"; expected: the image's class index."""
        return FixedExamples(self.n_fixed, "sample {}", lambda i: self.fixed_example(i)[1])

    def answer(self, example):
        """The class of "sample N" or of a class name's example; None for an image."""
        if not isinstance(example, str):
            return None
        t = " ".join(example.lower().split())
        names = [str(c).lower() for c in self.class_names]
        if t in names:
            return names.index(t)
        number = self.fixed_examples().number(t)
        return None if number is None else self.fixed_examples().expected(number)

    def hint(self, size: int) -> str:
        """What to draw, for the page's drawing canvas."""
        return self.draw_hint.format(noun=self.noun, size=size,
                                     classes="/".join(map(str, self.class_names)))

    def class_example(self, label: int) -> np.ndarray:
        """The first fixed example whose class is `label`."""
        for i in range(1000):
            image, y = self.fixed_example(i)
            if y == label:
                return image
        raise ValueError(f"no example of class {self.class_names[label]!r}")

    def _inputs(self, examples, size: int | None = None) -> torch.Tensor:
        if not isinstance(examples, (list, tuple)):
            raise ValueError("predict() takes a list of images; wrap a single image in a list: "
                             "[image]")
        if len(examples) == 0:
            raise ValueError("no images given")
        arrays = []
        for i, ex in enumerate(examples):
            try:
                arrays.append(self.parse(ex, size))
            except ValueError as e:
                raise ValueError(f"image {i}: {e}" if len(examples) > 1 else str(e)) from None
        return torch.from_numpy(np.stack(arrays)).unsqueeze(1)           # (B, 1, S, S)

    @torch.no_grad()
    def predict(self, model, examples: list) -> list:
        """Class index (int) of each image; class_names[i] is its name."""
        x = self._inputs(examples, model.cfg.image_size)                  # (B, 1, S, S)
        out = [model(x[i:i + self.eval_chunk].to(model.device)).logits.argmax(-1).cpu()
               for i in range(0, len(x), self.eval_chunk)]
        return [int(c) for c in torch.cat(out)]

    def token_labels(self, cfg=None) -> list[str]:
        """["CLS", "p0", ... "p{N-1}"] for the model's patch grid (the task default without cfg)."""
        n = cfg.n_patches if cfg is not None else (self.image_size // self.patch_size) ** 2
        return ["CLS"] + [f"p{i}" for i in range(n)]

    @torch.no_grad()
    def inspect(self, model, example, head_mask=None, return_scores: bool = False) -> Inspection:
        """One image through the ViT: attention {name: (H, 1+N, 1+N)}, token 0 = CLS, then the
        patches row-major; probs (C,), classes, and the picture: the model-ready image, its grid."""
        x = self._inputs([example], model.cfg.image_size).to(model.device)  # (1, 1, S, S)
        out = model(x, return_attention=True, return_scores=return_scores, head_mask=head_mask)
        probs = torch.softmax(out.logits[0].float(), -1).cpu()            # (C,)
        pred = int(probs.argmax())
        cfg = model.cfg
        labels = self.token_labels(cfg)
        return Inspection(
            prediction=pred,
            attention=squeeze_batch(out.attention),
            labels={name: (labels, labels) for name in out.attention},
            scores=squeeze_batch(out.scores) if return_scores else None,
            masks={name: None for name in out.attention} if return_scores else None,
            tokens=labels, expected=self.answer(example), probs=probs,
            classes=[str(c) for c in self.class_names],
            picture=Picture(image=x[0, 0].cpu().numpy(), grid=cfg.grid_size,
                            patch_size=cfg.patch_size, pixels=x.cpu()))

    def probe(self, device) -> tuple:
        """The first fixed example, (images (1, 1, S, S),) and the labels of every module."""
        image, _ = self.fixed_example(0)
        x = torch.from_numpy(image)[None, None].to(device)                # (1, 1, S, S)
        labels = self.token_labels()
        return (x,), LabelPairs((labels, labels))
