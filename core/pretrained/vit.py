"""Hugging Face ViT (ViTModel, ViTForImageClassification) as our own ViT, and its converter.

HF's ViT is ours: a patch projection (their Conv2d with kernel = stride = patch size is our
Linear on flattened (C, p, p) patches), a CLS token, learned position embeddings over 1 + N
tokens, pre-LN blocks, a final LayerNorm, and a classifier on the CLS token. Attention keys:
`encoder.blocks.{i}.self_attn`, (B, H, 1 + N, 1 + N), token 0 = CLS. A ViTModel has no
classifier: `.logits` is None and `.hidden` holds the features. The pooler is not used.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..config import ViTConfig
from ..models.vit import ViT
from .convert import PRETRAINED_LIMITS, Plan, find_prefix, hf_float, hf_int, make_config
from .files import PretrainedError


@dataclass(frozen=True)
class PretrainedViTConfig(ViTConfig):
    LIMITS = PRETRAINED_LIMITS
    classifier: bool = True


class PretrainedViT(ViT):
    """Our ViT; without a classifier in the checkpoint it has no head (`.logits` None)."""

    def __init__(self, cfg: PretrainedViTConfig):
        super().__init__(cfg)
        if not cfg.classifier:
            self.head = None


def plan(hf: dict, names) -> Plan:
    p = find_prefix(names, "embeddings.cls_token", ("vit.", ""))
    d, L = hf_int(hf, "hidden_size"), hf_int(hf, "num_hidden_layers")
    ff, C = hf_int(hf, "intermediate_size"), hf_int(hf, "num_channels", 3)
    size, patch = hf.get("image_size", 224), hf.get("patch_size", 16)
    if not isinstance(size, int) or not isinstance(patch, int):
        raise PretrainedError("only square images and patches are supported (image_size and "
                              "patch_size must be single integers)")
    classifier = "classifier.weight" in names
    n_classes = 1
    if classifier:
        n_classes = _classifier_rows(hf)
    cfg = make_config(PretrainedViTConfig, d_model=d, n_heads=hf_int(hf, "num_attention_heads"),
                      n_layers=L, d_ff=ff, norm="pre", image_size=size, patch_size=patch,
                      channels=C, n_classes=n_classes, pos="learned",
                      norm_eps=hf_float(hf, "layer_norm_eps", 1e-12),
                      activation=hf.get("hidden_act", "gelu"), classifier=classifier)
    N = cfg.n_patches
    qkv_bias = bool(hf.get("qkv_bias", True))
    out = Plan(cfg, lambda: PretrainedViT(cfg))
    e = p + "embeddings."
    out.add("patch_embed.weight", e + "patch_embeddings.projection.weight", (d, C, patch, patch),
            lambda t: t.reshape(d, C * patch * patch))
    out.add("patch_embed.bias", e + "patch_embeddings.projection.bias", (d,))
    out.add("cls_token", e + "cls_token", (1, 1, d))
    out.add("pos_embed", e + "position_embeddings", (1, 1 + N, d), lambda t: t[0])
    for i in range(L):
        ours, theirs = f"encoder.blocks.{i}.", f"{p}encoder.layer.{i}."
        out.norm(ours + "norm1", theirs + "layernorm_before", d)
        for q, t in (("q", "query"), ("k", "key"), ("v", "value")):
            out.linear(f"{ours}self_attn.{q}_proj", f"{theirs}attention.attention.{t}", d, d,
                       bias=qkv_bias)
        out.linear(ours + "self_attn.out_proj", theirs + "attention.output.dense", d, d)
        out.norm(ours + "norm2", theirs + "layernorm_after", d)
        out.linear(ours + "ff.fc1", theirs + "intermediate.dense", ff, d)
        out.linear(ours + "ff.fc2", theirs + "output.dense", d, ff)
    out.norm("encoder.norm", p + "layernorm", d)
    if classifier:
        out.linear("head", "classifier", n_classes, d)
    labels = hf.get("id2label")
    if classifier and isinstance(labels, dict):
        out.info["labels"] = [str(labels.get(str(i), labels.get(i, f"class {i}")))
                              for i in range(n_classes)]
    return out


def _classifier_rows(hf: dict) -> int:
    labels = hf.get("id2label")
    if isinstance(labels, dict) and labels:
        return len(labels)
    return hf_int(hf, "num_labels", 2)
