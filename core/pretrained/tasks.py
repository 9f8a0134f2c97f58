"""Pretrained text models as tasks: what the explore pages need of a model they did not train.

A Task (core/tasks/base.py) is the contract every page reads. A pretrained model has no training
data, so its task implements the exploring half only (`trains` is False): parse, inspect, the
example buttons, and for GPT-2 step-by-step decoding.

    pt = load_pretrained(folder)
    task = task_for(pt)                                  # TextModelTask for BERT / GPT-2
    ins = task.inspect(pt.model, task.parse("The cat sat on the mat."))
    ins.labels["encoder.blocks.0.self_attn"]             # (['[CLS]', 'the', ...], same)
    ins.special                                          # [True, False, ..., True]
"""
from __future__ import annotations

import torch

from ..decode import DecodeSetup
from ..tasks.base import Inspection, Task, scores_and_masks, squeeze_batch
from .vision_task import VisionModelTask

MAX_CHARS = 20_000          # longer texts are refused before tokenizing
TOP_K = 5                   # next-token / masked-token candidates shown as the prediction

_EXAMPLES = {
    "encoder": ("The cat sat on the mat because it was tired.",
                "The animal didn't cross the street because it was too wide.",
                "Paris is the capital of [MASK].",
                "She said that the keys, which were on the table, were gone."),
    "decoder": ("The quick brown fox jumps over the lazy dog. The quick brown fox",
                "Once upon a time, there was a",
                "Alice gave the book to Bob. Then Bob gave the book to",
                "1, 2, 3, 4, 5,"),
}


class TextModelTask(Task):
    """Exploring a pretrained BERT-family encoder or GPT-2 decoder on the user's own text.

    parse(text) -> the text, checked (not empty, within the model's length in tokens);
    inspect -> an Inspection over the word pieces, `special` marking [CLS]/[SEP]/<|endoftext|>.
    """

    def __init__(self, pretrained):
        info = pretrained.info
        if info.get("modality", "text") != "text":
            raise ValueError(f"{info['architecture']} reads images, not text")
        self.pretrained = pretrained
        self.name = info["name"]
        self.title = info["name"]
        self.kind = info["kind"]                          # "encoder" | "decoder"
        self.max_input_len = int(info["max_length"])
        self.examples = _EXAMPLES[self.kind]
        self.description = (f"{info['architecture']} ({info['parameters']:,} parameters, "
                            f"{info['n_layers']} layers × {info['n_heads']} heads), read from "
                            f"{info['source']}. Type any text, up to {self.max_input_len} tokens.")
        self.input_label = f"Text for **{self.name}** (up to {self.max_input_len} tokens)"

    # -- exploring -----------------------------------------------------------------------------
    def parse(self, text: str) -> str:
        if not isinstance(text, str):
            raise ValueError("type some text")
        if len(text) > MAX_CHARS:
            raise ValueError(f"the text is {len(text):,} characters long; at most "
                             f"{MAX_CHARS:,} are read")
        if not text.strip():
            raise ValueError("type some text")
        self.encode(text)                                 # ValueError past max_length
        return text

    def encode(self, text: str) -> dict:
        """The model's inputs for one text: {input_ids (1, T), attention_mask (1, T), ...}."""
        return self.pretrained.tokenize(text)

    @torch.no_grad()
    def inspect(self, model, example, head_mask=None, return_scores: bool = False) -> Inspection:
        inputs = {k: v.to(model.device) for k, v in self.encode(example).items()}
        out = model(**inputs, return_attention=True, return_scores=return_scores,
                    head_mask=head_mask)
        ids = inputs["input_ids"][0].tolist()                             # T
        labels = self.pretrained.tokens(ids)
        scores, masks = scores_and_masks(out, return_scores)
        prediction, probs, classes = self._prediction(out.logits, ids)
        return Inspection(
            prediction=prediction, attention=squeeze_batch(out.attention),
            labels={name: (labels, labels) for name in out.attention},
            scores=scores, masks=masks, tokens=labels, probs=probs, classes=classes,
            special=self.pretrained.special_mask(ids))

    def _prediction(self, logits, ids) -> tuple:
        """(prediction text, probs, classes) from the model's head, or (None, None, None)."""
        if logits is None:                                # a bare encoder (MiniLM): no head
            return None, None, None
        if self.kind == "decoder":                        # GPT-2: the next token
            p = logits[0, -1].float().softmax(-1).cpu()                       # (V,)
            top = p.topk(min(TOP_K, p.numel()))
            words = self.pretrained.tokens(top.indices.tolist())
            text = ", ".join(f"“{w}” {v:.0%}" for w, v in zip(words, top.values.tolist()))
            return f"next token: {text}", p, None
        vocab = getattr(self.pretrained.tokenizer, "vocab", {})
        mask_id = vocab.get("[MASK]", vocab.get("<mask>"))
        where = [i for i, t in enumerate(ids) if t == mask_id]
        if mask_id is None or not where:                  # an MLM head, but nothing masked
            return None, None, None
        parts = []
        for i in where:
            p = logits[0, i].float().softmax(-1)                              # (V,)
            top = p.topk(min(TOP_K, p.numel()))
            words = self.pretrained.tokens(top.indices.tolist())
            parts.append(" / ".join(f"{w} {v:.0%}" for w, v in zip(words, top.values.tolist())))
        return "[MASK] → " + "; ".join(parts), None, None

    # -- decoding (GPT-2) ----------------------------------------------------------------------
    def decoding_setup(self, example) -> DecodeSetup:
        if self.kind != "decoder":
            raise ValueError(f"{self.name} is an encoder: it reads a whole text at once and "
                             "does not write one token at a time")
        ids = self.encode(example)["input_ids"][:1].cpu()                 # (1, T0)
        room = self.max_input_len - ids.size(1)
        if room < 1:
            raise ValueError(f"the prompt is {ids.size(1)} tokens long; this model handles "
                             f"{self.max_input_len} tokens in all, so it has no room to write")
        return DecodeSetup(prompt=ids, labels=self.pretrained.tokens,
                           eos_id=self.pretrained.info.get("eos_id"),
                           max_new_tokens=min(20, room))

    @property
    def decodes(self) -> bool:
        return self.kind == "decoder"


def task_for(pretrained) -> Task:
    """The exploring task of a loaded pretrained model: TextModelTask for BERT-family and GPT-2,
    core.pretrained.vision_task.VisionModelTask for a ViT."""
    if pretrained.info.get("modality", "text") == "text":
        return TextModelTask(pretrained)
    return VisionModelTask(pretrained)
