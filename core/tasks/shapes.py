"""shapes: a ViT names the one small object (square, cross or ring) on a noisy image.

Each 16×16 image is uniform noise in [0, NOISE) with one 5×5 object placed entirely inside at a
random position (any pixel offset, so it usually straddles patch borders); the object's pixels
have a brightness drawn in [0.7, 1.0]. The class is the object's kind:

    square (filled)   cross (plus)    ring (circle outline)
    #####             ..#..           .###.
    #####             ..#..           #...#
    #####             #####           #...#
    #####             ..#..           #...#
    #####             ..#..           .###.

Only the patches under the object carry the answer, so a trained model's CLS attention has a
right answer to find. Generation is vectorised: the per-class stamps are indexed by label and
written at per-image offsets with advanced indexing (no loop over samples). The model sees 4×4
patches: a 4×4 grid, 16 patches plus CLS.
"""
from __future__ import annotations

import torch

from .vision import VisionTask, normalise

_ART = {
    "square": ("#####", "#####", "#####", "#####", "#####"),
    "cross": ("..#..", "..#..", "#####", "..#..", "..#.."),
    "ring": (".###.", "#...#", "#...#", "#...#", ".###."),
}
STAMPS = torch.tensor([[[c == "#" for c in row] for row in art] for art in _ART.values()],
                      dtype=torch.float32)                                # (3, 5, 5)
NOISE = 0.4
BRIGHTNESS = (0.7, 1.0)
FIXED_SEED = 20_000


class ShapesTask(VisionTask):
    name = "shapes"
    title = "Find the shape (ViT)"
    description = ("A vision transformer must name the one small shape - square, cross or ring - "
                   "hidden somewhere on a noisy image. Its attention should find the object.")
    class_names = tuple(_ART)
    image_size = 16
    patch_size = 4
    bar = {"accuracy": 0.98}
    target = {"accuracy": 0.98}
    config = dict(image_size=16, patch_size=4, channels=1, n_classes=3, d_model=64, n_heads=4,
                  n_layers=2, pos="learned")
    train_defaults = dict(steps=800, lr=3e-3, batch_size=128, warmup=100)
    typical_steps = 128      # bench/train_estimate.py: 128, 96, 128 (seeds 0-2, Dec 2026)
    zoo = {"seed": 0, "steps": 800, "preset": None, "overrides": {}}
    examples = ("square", "cross", "ring", "sample 3")
    n_fixed = 1_000_000
    noun = "shape"
    draw_hint = ("Draw a small {classes} (the model saw 5×5-pixel objects in a {size}×{size} "
                 "image: keep it to about a third of the canvas).")
    pen_width = 14

    def generate(self, batch_size: int, generator: torch.Generator):
        """(images (B, 16, 16) in [0, 1], labels (B,), top-left corners (B, 2)) on the CPU."""
        B, S, k = batch_size, self.image_size, STAMPS.size(-1)
        labels = torch.randint(0, len(STAMPS), (B,), generator=generator)  # (B,)
        corner = torch.randint(0, S - k + 1, (B, 2), generator=generator)  # (B, 2) row, col
        bright = torch.empty(B).uniform_(*BRIGHTNESS, generator=generator)  # (B,)
        images = torch.rand(B, S, S, generator=generator) * NOISE         # (B, S, S)
        rows = corner[:, :1] + torch.arange(k)                            # (B, k)
        cols = corner[:, 1:] + torch.arange(k)                            # (B, k)
        b = torch.arange(B)[:, None, None]                                # (B, 1, 1)
        window = images[b, rows[:, :, None], cols[:, None, :]]            # (B, k, k)
        stamp = STAMPS[labels]                                            # (B, k, k)
        images[b, rows[:, :, None], cols[:, None, :]] = torch.where(
            stamp > 0, bright[:, None, None], window)                     # object over noise
        return images, labels, corner

    def sample(self, batch_size: int, generator: torch.Generator):
        images, labels, _ = self.generate(batch_size, generator)
        return images, labels

    def eval_set(self, n: int, seed: int):
        images, labels, _ = self.generate(n, torch.Generator().manual_seed(seed))
        return images, labels                                             # (n, 16, 16), (n,)

    def fixed_example(self, i: int):
        """The i-th fixed image (model-ready (16, 16) float32, normalised) and its label."""
        if not 0 <= i < self.n_fixed:
            raise ValueError(f"sample {i} does not exist; use 0..{self.n_fixed - 1}")
        images, labels, _ = self.generate(1, torch.Generator().manual_seed(FIXED_SEED + i))
        return normalise(images)[0].numpy(), int(labels[0])


TASK = ShapesTask()
