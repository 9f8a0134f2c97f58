"""Real pretrained transformers (BERT family, RoBERTa, GPT-2, ViT) from local Hugging Face
files, rebuilt from our own modules so every attention head is ours to record and ablate.

    from core.pretrained import load_pretrained, list_cached_models, validate_folder
    pt = load_pretrained("/path/to/folder")        # or a model name in the local HF cache
    out = pt.model(**pt.tokenize("Hello world"), return_attention=True)

Only torch, numpy and safetensors: no transformers, no tokenizers, no network.
"""
from .convert import MAX_WEIGHT_BYTES
from .files import PretrainedError, bundled_models, cache_roots, list_cached_models, \
    validate_folder
from .imageprep import ImagePreprocessor
from .loader import Pretrained, load_pretrained
from .registry import PLANS, support_problem

SUPPORTED_MODEL_TYPES = tuple(sorted(PLANS))

__all__ = ["load_pretrained", "Pretrained", "PretrainedError", "list_cached_models",
           "bundled_models", "cache_roots", "validate_folder", "support_problem",
           "ImagePreprocessor", "MAX_WEIGHT_BYTES", "SUPPORTED_MODEL_TYPES"]
