"""The ViT page on pretrained ViTs (small random Hugging Face folders, offline), as a user drives
it: the picker offers a folder the user opened and a model in the local HF cache; the overlay per
head, every head, rollout beside the class map for a chosen class, soft versus hard attention,
the learned position-embedding mosaic; uploads keep their colours; a ViTModel (no classifier)
and a classifier with many classes. Every number is recomputed outside the page."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from core import analysis
from core.grad_rollout import grad_rollout
from core.hard_attention import hard_attention
from core.pretrained import load_pretrained
from core.pretrained.tasks import task_for
from core.similarity import position_similarity
from viz.pe_grid import mosaic

from app_helpers import decode, figure, figures, ok, title
from vit_page_helpers import (heat, open_page, png, prediction_text, pretrained_vit, show,
                              titled, upsampled)

NAME = "tiny-vit"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return pretrained_vit(tmp_path_factory.mktemp("hf") / NAME)


@pytest.fixture(scope="module")
def ref(folder):
    """(Pretrained, task) loaded outside the page."""
    pt = load_pretrained(folder, device="cpu")
    return pt, task_for(pt)


def stacked(ins):
    return analysis.stack_layers(ins.attention, "self_attn")[1]          # (L, H, T, T)


def test_an_opened_folder_is_offered_and_each_head_is_drawn(folder, ref):
    pt, task = ref
    at = open_page(NAME, [folder])
    assert at.sidebar.selectbox(key="model").value == NAME
    assert any("Pretrained **ViTForImageClassification**" in c.value for c in at.sidebar.caption)
    box = at.selectbox(key="image")
    assert list(box.options) == list(task.fixed_examples().names)
    ins = task.inspect(pt.model, "test image 0")
    assert f"`{ins.classes[ins.prediction]}`" in prediction_text(at)
    assert "synthetic: three shapes on white" in prediction_text(at)
    # the picture in colour, as the model read it (resized, before normalisation)
    [shown] = [t for t in figure(at, "what the model sees")["data"] if t["type"] == "image"]
    np.testing.assert_array_equal(decode(shown["z"]),
                                  np.round(ins.picture.image * 255).astype(np.uint8))
    for layer, head, query in ((0, 0, "CLS"), (1, 3, "patch 5")):
        at.selectbox(key="layer").set_value(layer)
        at.selectbox(key="head").set_value(head)
        at.selectbox(key="query").set_value(query).run()
        ok(at)
        q = 0 if query == "CLS" else 6
        fig = figure(at, f"layer {layer} · head {head} · query {query}")
        np.testing.assert_allclose(heat(fig), upsampled(stacked(ins)[layer, head, q, 1:], 4, 8),
                                   atol=1e-6)
    # every head of every layer for that query
    show(at, "All heads")
    [grid] = [f for f in figures(at) if not title(f) and len(f["data"]) > 2]
    panels = [t for t in grid["data"] if t.get("name") == "attention"]
    assert len(panels) == 8
    np.testing.assert_allclose(decode(panels[7]["z"]), upsampled(stacked(ins)[1, 3, 6, 1:], 4, 8),
                               atol=1e-6)


def test_rollout_beside_the_class_map_of_a_chosen_class(folder, ref):
    pt, task = ref
    ins = task.inspect(pt.model, "test image 0")
    at = open_page(NAME, [folder], view="Rollout")
    [roll] = titled(at, "rollout from CLS · mean over heads · discard 0%")
    flow = analysis.attention_rollout(list(stacked(ins)))               # (T, T)
    np.testing.assert_allclose(heat(roll), upsampled(flow[0, 1:], 4, 8), atol=1e-6)
    assert at.selectbox(key="vit_class").value == "the predicted class"
    maps = {}
    for choice in ["the predicted class"] + [c for c in ins.classes if c != ins.classes[
            ins.prediction]][:2]:
        at.selectbox(key="vit_class").set_value(choice).run()
        ok(at)
        target = ins.prediction if choice == "the predicted class" else ins.classes.index(choice)
        [fig] = titled(at, f"class map: {ins.classes[target]}")
        want = grad_rollout(pt.model, ins.picture.pixels, target=target)["cls"]  # (N,)
        np.testing.assert_allclose(heat(fig), upsampled(want, 4, 8), atol=1e-5)
        maps[target] = heat(fig)
        assert titled(at, "rollout from CLS")                           # still beside it
    first, *others = maps.values()
    assert all(not np.allclose(first, m) for m in others)               # the class matters


def test_soft_versus_hard_attention_per_head(folder, ref):
    pt, task = ref
    ins = task.inspect(pt.model, "test image 0")
    at = open_page(NAME, [folder], view="Soft vs hard")
    soft = stacked(ins)[0, :, 0, 1:]                                     # (H, N) layer 0, CLS
    [fig] = [f for f in figures(at) if sum(t.get("name") == "attention"
                                           for t in f["data"]) == 8]
    for mode, seed in (("argmax", 0), ("sample", 3), ("sample", 4)):
        if mode == "sample":
            at.button_group(key="vit_hard").set_value("sample").run()
            at.number_input(key="vit_seed").set_value(seed).run()
            ok(at)
            [fig] = [f for f in figures(at) if sum(t.get("name") == "attention"
                                                   for t in f["data"]) == 8]
        idx, _ = hard_attention(soft, mode=mode, seed=seed)
        hard = [t for t in fig["data"] if t.get("name") == "attention"][1::2]
        for h, trace in enumerate(hard):
            lit = np.argwhere(decode(trace["z"]) > 0)                    # one 8×8 patch lit
            r, c = divmod(int(idx[h]), 4)
            assert (lit.min(0) == (r * 8, c * 8)).all() and (lit.max(0) == (r * 8 + 7,
                                                                            c * 8 + 7)).all()
        assert mode == "argmax" or any(f"seed {seed}" in c.value for c in at.main.caption)


def test_the_learned_position_embeddings_as_the_vit_paper_draws_them(folder, ref):
    pt, _ = ref
    at = open_page(NAME, [folder], view="Positions")
    [fig] = titled(at, "learned: cosine similarity")
    np.testing.assert_allclose(decode(fig["data"][0]["z"]),
                               mosaic(position_similarity(pt.model).numpy(), 4), atol=1e-6)
    assert fig["layout"]["xaxis"]["title"]["text"] == "patch column"
    assert fig["layout"]["yaxis"]["title"]["text"] == "patch row"


def test_a_colour_upload_keeps_its_colours(folder, ref):
    pt, task = ref
    image = np.zeros((48, 64, 3), dtype=np.uint8)
    image[:, :32] = (255, 0, 0)
    image[:, 32:] = (0, 0, 255)
    at = open_page(NAME, [folder])
    at.button_group(key="vit_source").set_value("upload").run()
    at.file_uploader(key="vit_upload").upload("flag.png", png(image), "image/png").run()
    ok(at)
    assert not at.error and "upload `flag.png`" in prediction_text(at)
    ins = task.inspect(pt.model, png(image))
    [shown] = [t for t in figure(at, "what the model sees")["data"] if t["type"] == "image"]
    z = decode(shown["z"])                                               # (32, 32, 3)
    assert tuple(z[16, 2]) == (255, 0, 0) and tuple(z[16, 29]) == (0, 0, 255)
    np.testing.assert_allclose(heat(figure(at, "layer 0 · head 0")),
                               upsampled(stacked(ins)[0, 0, 0, 1:], 4, 8), atol=1e-6)


def test_a_vit_model_without_classifier_shows_attention_and_no_class_map(tmp_path):
    bare = pretrained_vit(tmp_path / "bare-vit", classifier=False)
    at = open_page("bare-vit", [bare], view="Rollout")
    assert "has no classifier" in prediction_text(at)
    assert titled(at, "rollout from CLS") and not titled(at, "class map")
    assert not [s for s in at.selectbox if s.key == "vit_class"]
    assert not titled(at, "prediction:")


def test_many_classes_show_the_top_five_in_a_table(tmp_path):
    many = pretrained_vit(tmp_path / "many-vit", num_labels=40)
    pt = load_pretrained(many, device="cpu")
    ins = task_for(pt).inspect(pt.model, "test image 0")
    at = open_page("many-vit", [many])
    [table] = [d.value for d in at.dataframe if "class" in d.value.columns]
    top = ins.probs.topk(5)
    assert list(table["class"]) == [ins.classes[i] for i in top.indices.tolist()]
    np.testing.assert_allclose(table["probability"], top.values.numpy(), atol=1e-6)
    assert not titled(at, "prediction:")                                 # no 40-bar chart


def test_more_than_four_heads_pick_the_heads_to_compare(tmp_path):
    wide = pretrained_vit(tmp_path / "wide-vit", num_attention_heads=8)
    at = open_page("wide-vit", [wide], view="Soft vs hard")
    assert at.multiselect(key="vit_heads").value == [0, 1, 2, 3]
    at.multiselect(key="vit_heads").set_value([1, 6]).run()
    ok(at)
    [fig] = [f for f in figures(at) if any(t.get("name") == "attention" for t in f["data"])]
    names = [a["text"] for a in fig["layout"]["annotations"]]
    assert "head 1" in names and "head 6" in names and "head 0" not in names
    assert sum(t.get("name") == "attention" for t in fig["data"]) == 4


def test_a_model_in_the_local_hugging_face_cache(folder, tmp_path, monkeypatch):
    import ui.pretrained
    snapshot = tmp_path / "hub" / "models--someone--tiny-vit" / "snapshots" / "abc123"
    shutil.copytree(folder, snapshot)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    ui.pretrained._listed.clear()
    try:
        at = open_page("someone/tiny-vit")
        assert at.sidebar.selectbox(key="model").value == "someone/tiny-vit"
        assert titled(at, "layer 0 · head 0 · query CLS") and not at.error
    finally:
        ui.pretrained._listed.clear()


def test_grad_rollout_for_our_own_classifier(monkeypatch):
    """The class map on a checkpoint of ours (the digits task): the picked class's map."""
    import ui.models
    from core.tasks import TASKS
    from ui.vit import controls
    rows = [r for r in ui.models.checkpoints(("vit",)) if r["task"] == "digits"]
    if not rows:
        pytest.skip("no digits checkpoint")
    model, _ = ui.models.load(rows[0])
    ins = TASKS["digits"].inspect(model, "sample 0")
    at = open_page(rows[0]["name"], view="Rollout")
    other = next(c for c in ins.classes if c != ins.classes[ins.prediction])
    at.selectbox(key=controls.CLASS).set_value(other).run()
    ok(at)
    [fig] = titled(at, f"class map: {other}")
    want = grad_rollout(model, ins.picture.pixels, target=ins.classes.index(other))["cls"]
    np.testing.assert_allclose(heat(fig), upsampled(want, 4, 2), atol=1e-5)
    assert torch.equal(ins.picture.pixels[0, 0], torch.as_tensor(ins.picture.image))
