"""Which Hugging Face `model_type`s we read, with their converter and tokenizer.

bert (BERT, MiniLM and other BERT-layout checkpoints), roberta (BERT's layout with byte-level
BPE and offset positions), gpt2, vit. XLM-RoBERTa / CamemBERT share RoBERTa's weights layout
but need a SentencePiece tokenizer, which is not implemented: they are refused by name.
"""
from __future__ import annotations

from pathlib import Path

from . import bert, gpt2, vit
from .bpe import load_bpe
from .wordpiece import load_wordpiece

PLANS = {"bert": bert.plan, "roberta": bert.plan, "gpt2": gpt2.plan, "vit": vit.plan}
FAMILY = {"bert": "BERT", "roberta": "RoBERTa", "gpt2": "GPT-2", "vit": "ViT"}
_UNSUPPORTED = {"xlm-roberta": "a SentencePiece tokenizer", "camembert": "a SentencePiece "
                "tokenizer", "distilbert": "DistilBERT's own weight layout"}


def support_problem(hf: dict) -> str | None:
    """None when config.json describes a model we can load, else why not (for the picker)."""
    mt = hf.get("model_type")
    if mt in PLANS:
        return None
    supported = ", ".join(sorted(PLANS))
    if mt in _UNSUPPORTED:
        return f"model_type {mt!r} needs {_UNSUPPORTED[mt]}, which this app does not have " \
               f"(supported: {supported})"
    return f"model_type {mt!r} is not supported (supported: {supported})"


def text_tokenizer(model_type: str, folder: Path, max_length: int):
    """The tokenizer for a text model, or None for an image model."""
    if model_type == "bert":
        return load_wordpiece(folder, max_length)
    if model_type == "roberta":
        return load_bpe(folder, max_length, ("<s>",), ("</s>",), pad_token="<pad>")
    if model_type == "gpt2":
        return load_bpe(folder, max_length)
    return None
