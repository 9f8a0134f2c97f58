"""Gradient-weighted attention rollout against an independent float64 NumPy computation, on our
ViT and on a pretrained ViT whose attention and gradients come from transformers itself."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from conftest import tiny_model
from core.grad_rollout import grad_rollout


def reference_rollout(attn, grads, rule: str) -> np.ndarray:
    """NumPy float64: Ā = mean_h (G ⊙ A)⁺; "rollout": rows of Ā renormalised, 0.5Ā + 0.5I,
    renormalised, multiplied from the first layer up; "chefer": R ← R + Ā R."""
    T = attn[0].shape[-1]
    R = np.eye(T)
    for a, g in zip(attn, grads):
        abar = np.maximum(np.asarray(g, np.float64) * np.asarray(a, np.float64), 0).mean(0)
        if rule == "chefer":
            R = R + abar @ R
            continue
        s = abar.sum(-1, keepdims=True)
        abar = np.divide(abar, s, out=np.zeros_like(abar), where=s > 0)
        m = 0.5 * abar + 0.5 * np.eye(T)
        m = m / m.sum(-1, keepdims=True)
        R = m @ R
    return R


def attention_and_grads(model, x, target):
    """A_l and dlogit/dA_l of our model in float64 (a copy), by autograd."""
    m = copy.deepcopy(model).double().eval()
    out = m(x.double(), return_attention=True)
    att = [out.attention[n] for n in m.attention_names()]
    grads = torch.autograd.grad(out.logits[0, target], att)
    return [a[0].detach().numpy() for a in att], [g[0].numpy() for g in grads]


@pytest.mark.parametrize("rule", ["rollout", "chefer"])
def test_our_vit_matches_the_float64_reference(rule):
    model = tiny_model("vit", "cpu", seed=3)
    x = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    out = grad_rollout(model, x, target=2, rule=rule)
    att, grads = attention_and_grads(model, x, 2)
    ref = reference_rollout(att, grads, rule)
    assert np.abs(out["relevance"].numpy() - ref).max() < 1e-5 * max(1.0, np.abs(ref).max())
    assert out["map"].shape == (4, 4) and torch.equal(out["map"].flatten(), out["cls"])
    assert out["target"] == 2


def test_rollout_rows_sum_to_one_and_targets_differ():
    model = tiny_model("vit", "cpu", seed=4)
    x = torch.randn(1, 2, 8, 8, generator=torch.Generator().manual_seed(1))
    a = grad_rollout(model, x)
    assert a["target"] == int(model(x).logits.argmax())
    assert torch.allclose(a["relevance"].sum(-1), torch.ones(17, dtype=torch.float64))
    assert (a["relevance"] >= 0).all()
    others = [grad_rollout(model, x, target=c)["cls"] for c in range(5) if c != a["target"]]
    assert max(float((o - a["cls"]).abs().max()) for o in others) > 1e-4
    assert model.training is False and all(p.grad is None for p in model.parameters())


def test_refuses_models_without_a_class_head():
    with pytest.raises(ValueError, match="needs a ViT classifier"):
        grad_rollout(tiny_model("decoder-tokens", "cpu"), torch.zeros(1, 4, dtype=torch.long))
    model = tiny_model("vit", "cpu")
    with pytest.raises(ValueError, match="rule must be one of"):
        grad_rollout(model, torch.zeros(1, 2, 8, 8), rule="lrp")
    with pytest.raises(ValueError, match="outside 0..4"):
        grad_rollout(model, torch.zeros(1, 2, 8, 8), target=9)


def test_pretrained_vit_matches_transformers_gradients(tmp_path):
    """Attention and gradients taken from transformers' own ViT, combined in NumPy."""
    from pretrained_helpers import T, reference, vit_folder
    from core.pretrained import load_pretrained
    folder = vit_folder(tmp_path, seed=5)
    pt = load_pretrained(folder, device="cpu")
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    ours = grad_rollout(pt.model, x, target=1)
    ref = reference(folder, T.ViTForImageClassification)
    r = ref(pixel_values=x, output_attentions=True)
    grads = torch.autograd.grad(r.logits[0, 1], r.attentions)
    want = reference_rollout([a[0].detach().numpy() for a in r.attentions],
                             [g[0].numpy() for g in grads], "rollout")
    assert np.abs(ours["relevance"].numpy() - want).max() < 1e-4
    assert ours["map"].shape == (4, 4)
