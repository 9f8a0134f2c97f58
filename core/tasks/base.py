"""The task contract: everything the pages, the trainer and the command line need from a task.

A task is one file in core/tasks/ defining TASK, an instance of a Task subclass, plus its line in
core.tasks._MODULES. Pages never branch on a task's name: what differs between tasks is said here,
by attributes, methods and the typed fields of an Inspection.

To EXPLORE a model (explorer, decoding and ViT pages) a task needs:
    name, title, description, kind ("encoder" | "decoder" | "seq2seq" | "vit"), examples,
    max_input_len, parse(text) -> example, inspect(model, example, ...) -> Inspection.
  Optional: answer(example) (the right answer, where the task can tell it), fixed_examples()
    (held-out examples offered by number), decoding_setup(example) (step-by-step decoding;
    `decodes` says whether a task has it), input_label, predict(model, examples).
To TRAIN a model (Train page, python -m core.train, python -m core.zoo) it also needs:
    config / make_config / build_model, batch, loss, evaluate, metrics, lower_is_better, bar,
    target, train_defaults, zoo (see zoo_recipe), probe(device) for the attention snapshots.
  `trains` says whether a task has them. A task over a pretrained model, with no training data,
  implements the first list only (trains is then False) and appears on the explore pages alone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from ..config import CONFIGS
from ..models import build_model

IGNORE = -100   # target value that the loss skips (padding, prompt positions)


@dataclass(frozen=True)
class Forecast:
    """A real-valued continuation: the inputs, the model's forecast, the truth where known and
    the baseline (repeating the last `period` values)."""
    inputs: list
    forecast: list
    truth: list | None = None
    baseline: list | None = None
    period: int | None = None


@dataclass(frozen=True)
class Picture:
    """What a vision model saw: the image as shown (grey (S, S) or colour (S, S, 3) ndarray in
    [0, 1], at the model's resolution, before any normalisation) and its patch grid; `pixels`
    is the model's own input (1, C, S, S) on the CPU (for gradient methods), where known."""
    image: object
    grid: int
    patch_size: int
    pixels: object = None


@dataclass
class Inspection:
    """One example run through a model, ready for the pages.

    prediction: the task's natural output (e.g. [1, 2, 3], "579", "2026-11-22", 20 floats, a class).
    attention:  {module name: (H, Tq, Tk)} weights of the single example (batch dim removed).
    labels:     {module name: (query labels, key labels)} token labels for both axes.
    scores / masks: {module name: (H, Tq, Tk) scaled scores / bool mask or None} when asked.
    tokens:     the input's token labels (for captions).
    The typed fields below are None where they do not apply to the task.
    """
    prediction: object
    attention: dict
    labels: dict
    scores: dict | None = None
    masks: dict | None = None
    tokens: list = field(default_factory=list)
    expected: object = None            # the right answer (Task.answer), comparable by ==
    probs: torch.Tensor | None = None  # (T, C) per output position, or (C,) of a classifier
    classes: list | None = None        # the names of probs' last axis (vocabulary, class names)
    confidence: list | None = None     # the probability of each token the model wrote
    prompt_len: int | None = None      # tokens of the prompt (decoder-only text tasks)
    outputs: list | None = None        # labels of the tokens the decoder wrote (seq2seq)
    decoder_inputs: list | None = None  # labels of the decoder's inputs: <bos> + output so far
    forecast: Forecast | None = None   # a real-valued forecast (sine)
    picture: Picture | None = None     # the image a vision model saw
    special: list | None = None        # True at special tokens ([CLS], [SEP], <|endoftext|>):
                                       # a view may hide them; the weights are unchanged


@dataclass(frozen=True)
class FixedExamples:
    """Held-out examples a page offers by number: example i is typed `text.format(i)` (what
    parse() reads) and its right answer is expected(i)."""
    count: int
    text: str
    expected_of: Callable[[int], object]
    names: tuple = ()                  # what example i is, for a picker (empty: numbers only)

    def __len__(self) -> int:
        return self.count

    def input(self, i: int) -> str:
        if not 0 <= int(i) < self.count:
            raise ValueError(f"example {i} does not exist; there are {self.count}")
        return self.text.format(int(i))

    def expected(self, i: int):
        return self.expected_of(int(i))

    def number(self, text: str) -> int | None:
        """The i such that input(i) == text (spaces aside), or None."""
        pattern = re.escape(self.text).replace(r"\{\}", r"(\d{1,9})")
        m = re.fullmatch(pattern, " ".join(str(text).split()), flags=re.IGNORECASE)
        return int(m.group(1)) if m and int(m.group(1)) < self.count else None


class LabelPairs(dict):
    """{attention module name: (query labels, key labels)} that answers any module name a model
    of the task can have (a deeper model than the default too): a name not listed gets the pair
    of its kind - `encoder` (encoder self-attention), `self_attn` (decoder self-attention),
    `cross_attn` - or else `default`."""

    def __init__(self, default=None, names=(), **kinds):
        super().__init__({n: default for n in names})
        self.default, self.kinds = default, kinds

    def __missing__(self, name):
        kind = "encoder" if name.startswith("encoder.") else name.rsplit(".", 1)[-1]
        pair = self.kinds.get(kind, self.default)
        if pair is None:
            raise KeyError(name)
        return pair


@dataclass(frozen=True)
class ZooRecipe:
    """How `python -m core.zoo` trains a task's shipped checkpoint (Task.zoo, checked)."""
    seed: int = 0
    steps: int | None = None            # None: train_defaults["steps"]
    preset: str | None = None
    overrides: dict = field(default_factory=dict)
    lr: float | None = None
    batch_size: int | None = None
    target: dict | None = None          # stop early at this target (None: train every step)


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
    batch_help: str | None = None    # the Train page's help on "Batch size", where it differs
    zoo: dict = {}                   # the shipped checkpoint's recipe: fields of ZooRecipe
    typical_steps: int | None = None  # steps a live run with train_defaults and the default
    #                                   config usually takes to the target (the Train page's
    #                                   time estimate); None: unknown
    needs_positions = False          # True: the answer depends on where each input token is and
    #                                   the input is read by unmasked attention, so a model with
    #                                   no positional encoding cannot learn it (see cannot_learn)
    examples: tuple = ()             # example inputs (strings) for the app's buttons
    max_input_len = 64               # longest user input accepted (characters or tokens)
    input_label = ""                 # the input box's label ("" : "Input for <title>")

    # -- model -------------------------------------------------------------------------------
    def make_config(self, preset: str | None = None, **overrides):
        cls = CONFIGS[self.kind]
        base = dict(self.config)
        if preset:
            return cls.preset(preset, **{**{k: v for k, v in base.items()
                                            if k not in ("d_model", "n_heads", "n_layers")},
                                         **overrides})
        return cls(**{**base, **overrides})

    def small_config(self, layers: int = 1):
        """A tiny model of this task's kind (tests, quick measurements): d_model 16, 2 heads and
        `layers` layers for the transformer kinds; a task of another kind overrides this."""
        return self.make_config(d_model=16, n_heads=2, n_layers=int(layers))

    def build_model(self, preset: str | None = None, device=None, **overrides):
        model = build_model(self.make_config(preset, **overrides))
        return model if device is None else model.to(device)

    @property
    def zoo_recipe(self) -> ZooRecipe:
        """`zoo` as a ZooRecipe; TypeError naming the field when it has one ZooRecipe lacks."""
        return ZooRecipe(**self.zoo)

    # -- exploring (implement parse and inspect) ---------------------------------------------
    def parse(self, text: str):
        """Turn the app's input box text into one example in the task's natural form, or raise
        ValueError with a message for the user."""
        raise NotImplementedError

    def inspect(self, model, example, head_mask=None, return_scores: bool = False) -> Inspection:
        raise NotImplementedError

    def answer(self, example):
        """The right answer for a parsed example where the task can tell it, else None."""
        return None

    def answer_problem(self, text: str) -> str | None:
        """Why an output the model wrote cannot be a right answer whatever the input (a date
        that does not exist), in words for the pages, or None (the default: no such check)."""
        return None

    def fixed_examples(self) -> FixedExamples | None:
        """Held-out examples the pages offer by number, or None (the default)."""
        return None

    def predict(self, model, examples: list) -> list:
        raise NotImplementedError

    def decoding_setup(self, example):
        """A core.decode.DecodeSetup for the masked-decoding page (causal tasks only)."""
        raise ValueError(f"the {self.name} task has no step-by-step decoding")

    @property
    def decodes(self) -> bool:
        """True when the masked-decoding page can step through this task's model."""
        return type(self).decoding_setup is not Task.decoding_setup

    # -- training (implement batch, evaluate and probe; loss has a default) ------------------
    @property
    def trains(self) -> bool:
        """True when the task has training data (the Train page, the CLI and the zoo)."""
        return type(self).batch is not Task.batch

    def batch(self, batch_size: int, generator: torch.Generator, device) -> dict:
        """A training batch as a dict of tensors on `device`, drawn with `generator` (CPU)."""
        raise NotImplementedError

    def batches(self, batch_size: int, generator: torch.Generator, device):
        """One run's training batches, endlessly: batch() each time unless a task keeps state
        across a run's batches (dates_rnn's pools of examples cut by length). The run owns the
        iterator, so nothing is shared between runs."""
        while True:
            yield self.batch(batch_size, generator, device)

    def loss(self, model, batch: dict) -> torch.Tensor:
        """Default: cross-entropy of model(batch["x"]) logits against batch["y"], IGNORE skipped."""
        logits = model(batch["x"]).logits                                 # (B, T, V)
        return F.cross_entropy(logits.transpose(1, 2), batch["y"], ignore_index=IGNORE)

    def evaluate(self, model, n: int = 2000, seed: int = 1234) -> dict:
        raise NotImplementedError

    def probe(self, device) -> tuple:
        """(model inputs tuple, LabelPairs) of a fixed input for the training snapshots."""
        raise NotImplementedError

    def probe_labels(self, model) -> dict:
        """{name: (query labels, key labels)} of the probe input, for exactly the names in
        model.attention_names()."""
        _, labels = self.probe(model.device)
        return {name: labels[name] for name in model.attention_names()}

    def cannot_learn(self, cfg) -> str | None:
        """Why a model of `cfg` cannot learn this task, in words for the Train page, or None.
        Without a positional encoding, attention is permutation-equivariant: where order
        matters (needs_positions), no number of steps helps."""
        if not (self.needs_positions and getattr(cfg, "pos", None) == "none"):
            return None
        return ("Without a positional encoding this model cannot learn the task, however long "
                "it trains. Attention by itself is permutation-equivariant: shuffle the input "
                "and every position's output is shuffled the same way. To the model the input "
                "is a set of tokens, and a set has no order: positions holding the same token "
                "get the same answer, and no position can tell which place it fills. Choose a "
                "positional encoding (learned, sinusoidal or RoPE) to make order visible.")

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
