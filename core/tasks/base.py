"""What every task knows: its model, its data, its loss, its metrics, and a user's own input.

A task is the unit the app, the trainer and the command line share. Subclasses live one per
file in core/tasks/ and register in core.tasks.TASKS.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..config import CONFIGS
from ..models import build_model

IGNORE = -100   # target value that the loss skips (padding, prompt positions)


@dataclass
class Inspection:
    """One example run through a model, ready for the explorer page.

    prediction: the task's natural output (e.g. [1, 2, 3], "579", "2026-11-22", 20 floats, a class).
    attention:  {module name: (H, Tq, Tk)} weights of the single example (batch dim removed).
    labels:     {module name: (query labels, key labels)} token labels for both axes.
    scores / masks: {module name: (H, Tq, Tk) scaled scores / bool mask or None} when asked.
    tokens:     the input's token labels (for captions); extra: task-specific bits (probs, ...).
    """
    prediction: object
    attention: dict
    labels: dict
    scores: dict | None = None
    masks: dict | None = None
    tokens: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)


class Task:
    """Base class. Subclasses set the class attributes and implement the methods marked so."""

    name = "task"
    title = "Task"
    description = ""
    kind = "encoder"                 # model kind: encoder | decoder | seq2seq | vit
    metrics = ("accuracy",)          # names evaluate() returns, the first is the headline
    lower_is_better: tuple = ()      # metric names where smaller is better (e.g. "mse")
    bar: dict = {}                   # the shipped checkpoint's bar, e.g. {"exact": 0.99}
    target: dict = {}                # default early-stop target for live training
    config: dict = {}                # default architecture (fields of the kind's config)
    train_defaults = dict(steps=1000, lr=3e-3, batch_size=128, warmup=100)
    examples: tuple = ()             # example inputs (strings) for the app's buttons
    max_input_len = 64               # longest user input accepted (characters or tokens)

    # -- model -------------------------------------------------------------------------------
    def make_config(self, preset: str | None = None, **overrides):
        cls = CONFIGS[self.kind]
        base = dict(self.config)
        if preset:
            return cls.preset(preset, **{**{k: v for k, v in base.items()
                                            if k not in ("d_model", "n_heads", "n_layers")},
                                         **overrides})
        return cls(**{**base, **overrides})

    def build_model(self, preset: str | None = None, device=None, **overrides):
        model = build_model(self.make_config(preset, **overrides))
        return model if device is None else model.to(device)

    # -- data (implement) --------------------------------------------------------------------
    def batch(self, batch_size: int, generator: torch.Generator, device) -> dict:
        """A training batch as a dict of tensors on `device`, drawn with `generator` (CPU)."""
        raise NotImplementedError

    def loss(self, model, batch: dict) -> torch.Tensor:
        """Default: cross-entropy of model(batch["x"]) logits against batch["y"], IGNORE skipped."""
        logits = model(batch["x"]).logits                                 # (B, T, V)
        return F.cross_entropy(logits.transpose(1, 2), batch["y"], ignore_index=IGNORE)

    # -- scoring and use (implement) ---------------------------------------------------------
    def evaluate(self, model, n: int = 2000, seed: int = 1234) -> dict:
        raise NotImplementedError

    def parse(self, text: str):
        """Turn the app's input box text into one example in the task's natural form, or raise
        ValueError with a message for the user."""
        raise NotImplementedError

    def predict(self, model, examples: list) -> list:
        raise NotImplementedError

    def inspect(self, model, example, head_mask=None, return_scores: bool = False) -> Inspection:
        raise NotImplementedError

    def decoding_setup(self, example):
        """A core.decode.DecodeSetup for the masked-decoding page (causal tasks only)."""
        raise ValueError(f"the {self.name} task has no step-by-step decoding")

    @property
    def decodes(self) -> bool:
        """True when the masked-decoding page can step through this task's model."""
        return type(self).decoding_setup is not Task.decoding_setup

    def probe(self, device) -> tuple:
        """(model inputs tuple, Inspection-style labels) of a fixed input for training snapshots."""
        raise NotImplementedError

    def probe_labels(self, model) -> dict:
        """{name: (query labels, key labels)} of the probe input, for every name in
        model.attention_names()."""
        _, labels = self.probe(model.device)
        return {name: labels[name] for name in model.attention_names()}

    # -- helpers -----------------------------------------------------------------------------
    def meets_bar(self, metrics: dict, bar: dict | None = None) -> bool:
        bar = self.bar if bar is None else bar
        return all(metrics.get(k, float("inf")) <= v if k in self.lower_is_better
                   else metrics.get(k, float("-inf")) >= v for k, v in bar.items())


def squeeze_batch(attention: dict) -> dict:
    """{name: (1, H, Tq, Tk)} -> {name: (H, Tq, Tk)} on the CPU."""
    return {k: v[0].detach().float().cpu() for k, v in attention.items()}


def scores_and_masks(out, wanted: bool) -> tuple:
    """A batch-of-one model output -> (scores {name: (H, Tq, Tk)}, masks {name: bool (H, Tq, Tk)
    or None}) on the CPU, or (None, None) when the scores were not asked for."""
    if not wanted:
        return None, None
    masks = {k: None if m is None else m.expand(out.scores[k].shape)[0].cpu()   # (H, Tq, Tk)
             for k, m in out.masks.items()}
    return squeeze_batch(out.scores), masks
