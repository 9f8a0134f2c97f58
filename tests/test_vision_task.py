"""The pretrained-ViT task (core.pretrained.vision_task): task_for gives it for image models;
inspect equals a plain forward of our model and transformers' eager ViT on the same pixels; the
pixels follow the folder's preprocessor_config.json; the picture shown is the model's input
before normalisation (colours kept); every kind of image parses or is refused with a message;
the synthetic test images."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from core.pretrained import load_pretrained
from core.pretrained import test_images as ti
from core.pretrained.tasks import task_for
from core.pretrained.vision_task import VisionModelTask
from pretrained_helpers import T, max_diff, reference, vit_folder
from properties import NASTY, PROPERTY, outcome, texts
from vit_page_helpers import png

MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])   # vit_folder's


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return vit_folder(tmp_path_factory.mktemp("vit_cls"))


@pytest.fixture(scope="module")
def pt(folder):
    return load_pretrained(folder, device="cpu")


def rgb(h=32, w=32, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_task_for_a_vit_is_an_explore_only_vision_task(pt):
    task = task_for(pt)
    assert isinstance(task, VisionModelTask)
    assert task.kind == "vit" and not task.trains and not task.decodes
    assert task.class_names == tuple(pt.info["labels"]) == tuple(f"LABEL_{i}" for i in range(5))
    tests = task.fixed_examples()
    assert len(tests) == len(ti.IMAGES) and list(tests.names) == ti.names()
    assert tests.input(2) == "test image 2" and tests.expected(2) is None
    assert "5 classes" in task.description and "4×4 patches of 8×8" in task.description


@pytest.mark.parametrize("example", ["test image 0", "synthetic: checkerboard", "array 50×70",
                                     "png", "grey"])
def test_inspect_equals_a_plain_forward_and_transformers(pt, folder, example):
    task = task_for(pt)
    given_ = {"array 50×70": rgb(50, 70, 1), "png": png(rgb(40, 40, 2)),
              "grey": np.linspace(0, 1, 24 * 24, dtype=np.float32).reshape(24, 24)}.get(
        example, example)
    ins = task.inspect(pt.model, given_, return_scores=True)
    x = pt.preprocess(task.parse(given_))["images"]                      # (1, 3, 32, 32)
    with torch.no_grad():
        out = pt.model(x, return_attention=True)
        ref = reference(folder, T.ViTForImageClassification)(pixel_values=x,
                                                             output_attentions=True)
    names = pt.model.attention_names()
    for name, hf in zip(names, ref.attentions):
        assert torch.equal(ins.attention[name], out.attention[name][0])  # (H, 17, 17)
        assert max_diff(ins.attention[name], hf[0]) < 1e-4               # transformers, eager
        assert ins.labels[name] == (pt.patch_labels(), pt.patch_labels())
    assert set(ins.scores) == set(names)
    assert torch.allclose(ins.probs, out.logits[0].softmax(-1), atol=1e-6)
    assert max_diff(ins.probs, ref.logits[0].softmax(-1)) < 1e-4
    assert ins.prediction == int(out.logits[0].argmax())
    assert ins.classes == list(pt.info["labels"]) and ins.expected is None
    assert ins.special == [True] + [False] * 16 and ins.tokens[0] == "[CLS]"
    assert torch.equal(ins.picture.pixels, x)
    assert (ins.picture.grid, ins.picture.patch_size) == (4, 8)


def test_pixels_follow_the_preprocessor_config_and_the_picture_keeps_the_colours(pt, folder):
    task = task_for(pt)
    proc = T.AutoImageProcessor.from_pretrained(str(folder))
    for image, tol in ((rgb(32, 32, 3), 1e-6), (rgb(50, 70, 4), 1.01 / 255 / 0.224)):
        ours = task.inspect(pt.model, image).picture.pixels
        ref = proc(images=image, return_tensors="pt")["pixel_values"]    # transformers (PIL)
        assert max_diff(ours, ref) < tol                                 # one 8-bit step resized
    red = np.zeros((64, 64, 3), dtype=np.uint8)
    red[..., 0] = 255
    pic = task.inspect(pt.model, png(red)).picture
    assert pic.image.shape == (32, 32, 3)                                # the model's size
    np.testing.assert_allclose(pic.image[..., 0], 1.0, atol=1e-6)        # still red
    np.testing.assert_allclose(pic.image[..., 1:], 0.0, atol=1e-6)
    # the picture is the input before normalisation: (image - mean) / std = pixels
    back = (pic.image - MEAN) / STD                                       # (32, 32, 3)
    np.testing.assert_allclose(back.transpose(2, 0, 1), pic.pixels[0].numpy(), atol=1e-5)


def test_another_config_gives_other_pixels(tmp_path):
    folder = vit_folder(tmp_path / "half")
    spec = json.loads((folder / "preprocessor_config.json").read_text())
    spec.update(image_mean=[0.5, 0.5, 0.5], image_std=[0.25, 0.25, 0.25], do_resize=True)
    (folder / "preprocessor_config.json").write_text(json.dumps(spec))
    pt = load_pretrained(folder, device="cpu")
    image = rgb(32, 32, 5)
    pixels = task_for(pt).inspect(pt.model, image).picture.pixels[0]     # (3, 32, 32)
    want = (image.transpose(2, 0, 1) / 255.0 - 0.5) / 0.25
    np.testing.assert_allclose(pixels.numpy(), want, atol=1e-5)


def test_a_preprocessor_that_disagrees_with_the_model_is_refused(tmp_path):
    folder = vit_folder(tmp_path / "bad")
    spec = json.loads((folder / "preprocessor_config.json").read_text())
    spec["size"] = {"height": 64, "width": 64}
    (folder / "preprocessor_config.json").write_text(json.dumps(spec))
    with pytest.raises(ValueError, match="makes 64×64 images, but the model reads 32×32"):
        task_for(load_pretrained(folder, device="cpu"))


def test_parse_reads_every_kind_of_image(pt):
    task = task_for(pt)
    assert np.array_equal(task.parse("test image 2"), ti.make(2, 32))
    assert np.array_equal(task.parse("  SYNTHETIC:  checkerboard "), ti.make(2, 32))
    image = rgb(20, 30, 6)
    assert np.array_equal(task.parse(png(image)), image)                  # PNG bytes
    assert np.array_equal(task.parse(image), image)
    canvas = np.zeros((10, 10, 4), dtype=np.uint8)                       # transparent ...
    canvas[2:4, 2:4] = (0, 0, 255, 255)                                  # ... but a blue dot
    drawn = task.parse(canvas)
    assert (drawn[0, 0] == 255).all() and tuple(drawn[2, 2]) == (0, 0, 255)
    grey = task.parse(np.full((8, 8), 0.5))                              # floats in [0, 1]
    assert grey.shape == (8, 8, 3) and (grey == 128).all()


@pytest.mark.parametrize("bad, message", [
    ("", "is not an image"), ("   ", "is not an image"), ("test image 99", "is not an image"),
    ("a cat", "is not an image"), (None, "no image given"), (b"", "empty"),
    (b"GIF89a junk", "not a PNG or JPEG"), (np.full((8, 8, 3), np.nan), "NaN"),
    (np.zeros((1, 1, 3), dtype=np.uint8), "each side"),
    (np.zeros((5000, 2, 3), dtype=np.uint8), "each side"),
    (np.zeros((8, 8, 2)), "C = 1, 3 or 4"), (b"\x00" * 2_100_000, "at most 2.0 MB")])
def test_parse_refuses_junk_with_a_message(pt, bad, message):
    with pytest.raises(ValueError, match=message):
        task_for(pt).inspect(pt.model, bad)


def test_a_vit_model_without_classifier_predicts_nothing(tmp_path):
    pt = load_pretrained(vit_folder(tmp_path / "bare", classifier=False), device="cpu")
    task = task_for(pt)
    ins = task.inspect(pt.model, "test image 0")
    assert ins.prediction is None and ins.probs is None and ins.classes is None
    assert len(ins.attention) == 2 and ins.picture.pixels.shape == (1, 3, 32, 32)
    assert task.class_names == () and "no classifier" in task.description
    with pytest.raises(ValueError, match="no classifier"):
        task.predict(pt.model, ["test image 0"])


def test_predict_gives_the_classes_inspect_gives(pt):
    task = task_for(pt)
    images = ["test image 0", rgb(40, 40, 7), png(rgb(32, 32, 8))]
    assert task.predict(pt.model, images) == [task.inspect(pt.model, im).prediction
                                              for im in images]


@pytest.mark.parametrize("size", [16, 32, 224])
def test_synthetic_test_images(size):
    made = [ti.make(i, size) for i in range(len(ti.IMAGES))]
    for image in made:
        assert image.shape == (size, size, 3) and image.dtype == np.uint8
        assert image.min() < image.max()                                 # something to see
    assert len({m.tobytes() for m in made}) == len(made) == len(set(ti.names()))
    assert all(n.startswith(("synthetic:", "digits task:", "shapes task:")) for n in ti.names())
    for bad in (-1, len(ti.IMAGES), 1.5, True, "0"):
        with pytest.raises(ValueError, match="does not exist"):
            ti.make(bad, size)
    with pytest.raises(ValueError, match="size"):
        ti.make(0, 10 ** 6)


def test_the_task_images_come_from_the_shipped_tasks():
    from core.tasks import TASKS
    digit = ti.make(5, 64)[..., 0] / 255.0                                # nearest, 8× blocks
    np.testing.assert_allclose(digit[::8, ::8], 1.0 - TASKS["digits"].class_example(3),
                               atol=1 / 255)
    ring = ti.make(6, 64)[..., 0] / 255.0                                 # 4× blocks
    np.testing.assert_allclose(ring[::4, ::4], TASKS["shapes"].class_example(2), atol=1 / 255)


@PROPERTY
@given(value=st.one_of(texts(), st.sampled_from(NASTY),
                       st.integers(0, 40).map(lambda n: f"test image {n}"),
                       hnp.arrays(st.sampled_from([np.uint8, np.float32, np.int64]),
                                  hnp.array_shapes(min_dims=1, max_dims=3, max_side=6))))
def test_parse_gives_an_rgb_image_or_a_message(pt, value):
    image = outcome(task_for(pt).parse, value)
    if image is not None:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 3
