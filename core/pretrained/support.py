"""Which Hugging Face `model_type`s this app reads, and why the others are refused.

Kept apart from the converters (core.pretrained.registry) so that listing folders on disk
(core.pretrained.files) can say what is supported without importing any model code.
"""
from __future__ import annotations

SUPPORTED = ("bert", "gpt2", "roberta", "vit")
FAMILY = {"bert": "BERT", "roberta": "RoBERTa", "gpt2": "GPT-2", "vit": "ViT"}
_UNSUPPORTED = {"xlm-roberta": "a SentencePiece tokenizer", "camembert": "a SentencePiece "
                "tokenizer", "distilbert": "DistilBERT's own weight layout"}


def support_problem(hf: dict) -> str | None:
    """None when config.json describes a model we can load, else why not (for the picker)."""
    mt = hf.get("model_type")
    if mt in SUPPORTED:
        return None
    supported = ", ".join(SUPPORTED)
    if mt in _UNSUPPORTED:
        return f"model_type {mt!r} needs {_UNSUPPORTED[mt]}, which this app does not have " \
               f"(supported: {supported})"
    return f"model_type {mt!r} is not supported (supported: {supported})"
