"""Which Hugging Face `model_type`s we read, with their converter and tokenizer.

bert (BERT, MiniLM and other BERT-layout checkpoints), roberta (BERT's layout with byte-level
BPE and offset positions), gpt2, vit. XLM-RoBERTa / CamemBERT share RoBERTa's weights layout
but need a SentencePiece tokenizer, which is not implemented: they are refused by name.
"""
from __future__ import annotations

from pathlib import Path

from . import bert, gpt2, vit
from .bpe import load_bpe
from .support import FAMILY, SUPPORTED, support_problem  # noqa: F401  (re-exported)
from .wordpiece import load_wordpiece

PLANS = {"bert": bert.plan, "roberta": bert.plan, "gpt2": gpt2.plan, "vit": vit.plan}
assert set(PLANS) == set(SUPPORTED), "core.pretrained.support.SUPPORTED must list every plan"


def text_tokenizer(model_type: str, folder: Path, max_length: int):
    """The tokenizer for a text model, or None for an image model."""
    if model_type == "bert":
        return load_wordpiece(folder, max_length)
    if model_type == "roberta":
        return load_bpe(folder, max_length, ("<s>",), ("</s>",), pad_token="<pad>")
    if model_type == "gpt2":
        return load_bpe(folder, max_length)
    return None
