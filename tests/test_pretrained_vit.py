"""ViT checkpoints (ViTForImageClassification, ViTModel) in our modules, against transformers
eager within 1e-4; image preprocessing against transformers' (PIL) ViT image processor."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from pretrained_helpers import T, max_diff, reference, vit_folder
from core.pretrained import load_pretrained

TOL = 1e-4


@pytest.fixture(scope="module")
def vit(tmp_path_factory):
    return vit_folder(tmp_path_factory.mktemp("vit"))


def run_both(folder, cls, pixels):
    pt = load_pretrained(folder, device="cpu")
    ref = reference(folder, cls)
    with torch.no_grad():
        out = pt.model(pixels, return_attention=True)
        r = ref(pixel_values=pixels, output_attentions=True, output_hidden_states=True)
    return pt, out, r


def test_vit_classifier_equals_transformers(vit):
    pixels = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    pt, out, r = run_both(vit, T.ViTForImageClassification, pixels)
    assert max_diff(out.logits, r.logits) < TOL
    # transformers' last hidden_states entry is before the final LayerNorm; ours is after it.
    final = pt.model.encoder.norm(r.hidden_states[-1])
    assert max_diff(out.hidden, final) < TOL
    names = pt.model.attention_names()
    assert len(names) == 2 and all(out.attention[n].shape == (2, 4, 17, 17) for n in names)
    assert max(max_diff(out.attention[n], a) for n, a in zip(names, r.attentions)) < TOL
    assert pt.info["n_patches"] == 16 and pt.info["max_length"] == 17
    assert pt.info["labels"] == [f"LABEL_{i}" for i in range(5)]
    assert pt.patch_labels()[:3] == ["[CLS]", "0,0", "0,1"]


def test_vit_model_without_classifier_equals_transformers(tmp_path):
    folder = vit_folder(tmp_path, classifier=False, seed=2, qkv_bias=False)
    pixels = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    pt, out, r = run_both(folder, T.ViTModel, pixels)
    assert out.logits is None and pt.info["has_logits"] is None
    assert max_diff(out.hidden, r.last_hidden_state) < TOL
    names = pt.model.attention_names()
    assert max(max_diff(out.attention[n], a) for n, a in zip(names, r.attentions)) < TOL
    assert float(pt.model.encoder.blocks[0].self_attn.q_proj.bias.detach().abs().max()) == 0.0
    from core.grad_rollout import grad_rollout
    with pytest.raises(ValueError, match="needs a ViT classifier"):
        grad_rollout(pt.model, pixels)


def test_preprocessing_matches_the_transformers_processor(vit):
    pt = load_pretrained(vit, device="cpu")
    proc = T.AutoImageProcessor.from_pretrained(str(vit))
    rng = np.random.default_rng(0)
    for shape in [(32, 32, 3), (50, 70, 3), (20, 18, 3)]:
        img = rng.integers(0, 256, size=shape, dtype=np.uint8)
        ours = pt.preprocess(img)["images"]
        ref = proc(images=img, return_tensors="pt")["pixel_values"]
        assert ours.shape == ref.shape == (1, 3, 32, 32)
        exact = shape[:2] == (32, 32)
        # At the model's size nothing is resized: the same numbers. Resized: PIL's and torch's
        # antialiased bilinear filters round a few pixels to the neighbouring 8-bit level.
        level = 1 / 255 / 0.224                     # one 8-bit step after normalisation
        assert max_diff(ours, ref) < (1e-6 if exact else 1.01 * level)
        assert exact or float((ours - ref).abs().mean()) < 0.25 * level


def test_preprocessing_reads_png_bytes_grey_and_float_images(vit):
    from PIL import Image
    pt = load_pretrained(vit, device="cpu")
    rgb = np.zeros((32, 32, 3), dtype=np.uint8)
    rgb[..., 0] = 255                                          # pure red
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    from_png = pt.preprocess(buf.getvalue())["images"]
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    want = (torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1) - mean) / std
    assert max_diff(from_png, want.expand(1, 3, 32, 32)) < 1e-6
    grey = pt.preprocess(np.full((32, 32), 0.5, dtype=np.float32))["images"]   # [0, 1] floats
    assert max_diff(grey, ((0.5 - mean) / std).expand(1, 3, 32, 32)) < 1e-6
    with pytest.raises(ValueError, match="not a PNG or JPEG"):
        pt.preprocess(b"not an image")
    with pytest.raises(ValueError, match="NaN"):
        pt.preprocess(np.full((32, 32), np.nan))
    with pytest.raises(ValueError, match="reads images, not text"):
        pt.tokenize("hello")


def test_vit_classifier_head_mask_changes_the_logits(vit):
    pt = load_pretrained(vit, device="cpu")
    x = pt.preprocess(np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    plain = pt.model(**x).logits
    off = pt.model(**x, head_mask={"encoder.blocks.0.self_attn": torch.tensor([0., 1, 1, 1])})
    assert max_diff(plain, off.logits) > 1e-4
    assert pt.model.positional_encoding().shape == (16, 32)
