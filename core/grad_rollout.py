"""Gradient-weighted attention rollout for ViT classifiers: a class-specific map of where the
model looked (after Chefer, Gur & Wolf 2021, "Generic attention-model explainability").

For each layer l, with A_l (H, T, T) the attention and G_l = ∂ logit_c / ∂ A_l its gradient:

    Ā_l = mean over heads of (G_l ⊙ A_l)⁺                  (T, T)   the positive part

rule="rollout" (default): each Ā_l's rows are renormalised to sum 1 (a row with no positive
    weight is left empty), then rolled out exactly as core.analysis.attention_rollout does:
    0.5·Ā + 0.5·I, rows renormalised, R = Â_L ··· Â_1.
rule="chefer": the paper's update R ← R + Ā_l R from R = I (no renormalisation).

Row 0 of R (CLS) over the patch tokens, as a (grid, grid) map, is the class map. Works on our
ViT and on pretrained ones (core.pretrained); the model is not changed.
"""
from __future__ import annotations

import torch

from .analysis import attention_rollout

RULES = ("rollout", "chefer")


def class_relevance(model, images: torch.Tensor, target: int | None = None,
                    head_mask: dict | None = None):
    """(logits (n_classes,), target, [(name, A_l (H, T, T), G_l (H, T, T))] over the layers)
    for one image (1, C, H, W) or (C, H, W); target None = the predicted class."""
    if model.kind != "vit" or getattr(model, "head", None) is None:
        raise ValueError("gradient-weighted rollout needs a ViT classifier (a model with a "
                         "class head)")
    if images.dim() == 3:
        images = images[None]
    if images.size(0) != 1:
        raise ValueError(f"one image at a time, got a batch of {images.size(0)}")
    names = model.attention_names()
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            # the image requires grad, so the graph exists even when the weights are frozen
            dtype = next(model.parameters()).dtype
            x = images.detach().to(model.device, dtype).requires_grad_(True)
            out = model(x, return_attention=True, head_mask=head_mask)
            logits = out.logits[0]                                           # (n_classes,)
            c = int(logits.argmax()) if target is None else int(target)
            if not 0 <= c < logits.numel():
                raise ValueError(f"class {c} is outside 0..{logits.numel() - 1}")
            att = [out.attention[n] for n in names]                          # L x (1, H, T, T)
            grads = torch.autograd.grad(logits[c], att)
    finally:
        model.train(was_training)
    layers = [(n, a[0].detach(), g[0].detach()) for n, a, g in zip(names, att, grads)]
    return logits.detach(), c, layers


def weighted_layers(layers) -> list[torch.Tensor]:
    """[Ā_l (T, T)] float64: mean over heads of the positive part of gradient × attention."""
    return [(g.double() * a.double()).clamp(min=0).mean(0) for _, a, g in layers]


def grad_rollout(model, images: torch.Tensor, target: int | None = None, rule: str = "rollout",
                 head_mask: dict | None = None) -> dict:
    """The class-specific map for `target` (default: the predicted class).

    Returns {"target": class index, "logits": (n_classes,), "relevance": (T, T) the rolled-out
    matrix R (float64), "cls": (N,) R[0, 1:] (CLS to each patch), "map": (grid, grid) the same
    as an image, "layers": [Ā_l (T, T)] the per-layer weighted maps}."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    logits, c, layers = class_relevance(model, images, target, head_mask)
    weighted = weighted_layers(layers)
    T = weighted[0].size(-1)
    if rule == "rollout":
        sums = torch.stack(weighted).sum(-1, keepdim=True)                  # (L, T, 1)
        normed = [w / s.clamp(min=1e-300) for w, s in zip(weighted, sums)]  # rows sum 1 or 0
        R = attention_rollout([w[None] for w in normed]).double()            # (T, T)
    else:
        R = torch.eye(T, dtype=torch.float64, device=weighted[0].device)
        for w in weighted:
            R = R + w @ R                                                    # (T, T)
    cls = R[0, 1:]                                                           # (N,)
    g = model.cfg.grid_size
    return {"target": c, "logits": logits, "relevance": R, "cls": cls,
            "map": cls.reshape(g, g), "layers": weighted}
