"""Links into the ViT page: each URL parameter opens the page showing CONTENT that agrees with it
(the figure's title and numbers, the prediction line), not only the widget; a change made on the
page goes back into the URL so that a reload or a shared link reopens it."""
from __future__ import annotations

import numpy as np
import pytest

import ui.models
from core import analysis
from core.grad_rollout import grad_rollout
from core.hard_attention import hard_attention
from core.pretrained import load_pretrained
from core.pretrained.tasks import task_for
from core.tasks import TASKS

from app_helpers import decode, figure, figures, ok
from vit_page_helpers import (heat, open_page, prediction_text, pretrained_vit, titled,
                              upsampled)


@pytest.fixture(scope="module")
def digits():
    """(name, model, task) of a digits checkpoint (2 layers × 4 heads, 4×4 patches of 2×2)."""
    rows = [r for r in ui.models.checkpoints(("vit",)) if r["task"] == "digits"]
    if not rows:
        pytest.skip("no digits checkpoint")
    model, _ = ui.models.load(rows[0])
    return rows[0]["name"], model, TASKS["digits"]


def att(model, task, example):
    ins = task.inspect(model, example)
    return ins, analysis.stack_layers(ins.attention, "self_attn")[1]     # (L, H, T, T)


def test_image_selects_the_test_image_shown_and_classified(digits):
    name, model, task = digits
    at = open_page(name, params={"image": 7})
    assert at.number_input(key="image").value == 7
    ins, a = att(model, task, "sample 7")
    assert "test image 7" in prediction_text(at)
    assert f"`{ins.classes[ins.prediction]}`" in prediction_text(at)
    np.testing.assert_allclose(heat(figure(at, "layer 0 · head 0 · query CLS")),
                               upsampled(a[0, 0, 0, 1:], 4, 2), atol=1e-6)
    np.testing.assert_allclose(decode(figure(at, "what the model sees")["data"][0]["z"]),
                               ins.picture.image, atol=1e-6)


def test_layer_head_and_query_select_the_overlay(digits):
    name, model, task = digits
    at = open_page(name, params={"layer": 1, "head": 2, "query": "patch 5"})
    _, a = att(model, task, "sample 0")
    fig = figure(at, "layer 1 · head 2 · query patch 5")
    np.testing.assert_allclose(heat(fig), upsampled(a[1, 2, 6, 1:], 4, 2), atol=1e-6)
    [rect] = [s for s in fig["layout"]["shapes"] if s.get("type") == "rect"]
    assert (rect["x0"], rect["y0"]) == (1 * 2 - 0.5, 1 * 2 - 0.5)          # patch 5: row 1, col 1


def test_view_opens_a_tab_with_the_query_of_the_link(digits):
    name, model, task = digits
    at = open_page(name, params={"vit_view": "All heads", "query": "patch 3"})
    assert not titled(at, "layer 0 · head 0")                            # another tab is open
    _, a = att(model, task, "sample 0")
    [grid] = [f for f in figures(at) if len(f["data"]) == 16]            # 8 panels, 2 traces
    panels = [t for t in grid["data"] if t.get("name") == "attention"]
    for k, trace in enumerate(panels):
        np.testing.assert_allclose(decode(trace["z"]), upsampled(a[k // 4, k % 4, 4, 1:], 4, 2),
                                   atol=1e-6)


@pytest.mark.parametrize("fusion, discard", [("max", "0.5"), ("min", "0.9"), ("mean", "0.25")])
def test_fusion_and_discard_select_the_rollout(digits, fusion, discard):
    name, model, task = digits
    at = open_page(name, params={"vit_view": "Rollout", "fusion": fusion, "discard": discard})
    _, a = att(model, task, "sample 0")
    d = float(discard)
    [fig] = titled(at, f"rollout from CLS · {fusion} over heads · discard {d:.0%}")
    flow = analysis.attention_rollout(list(a), head_fusion=fusion, discard_ratio=d)
    np.testing.assert_allclose(heat(fig), upsampled(flow[0, 1:], 4, 2), atol=1e-6)


def test_class_selects_the_class_map(digits):
    name, model, task = digits
    ins, _ = att(model, task, "sample 0")
    other = next(c for c in ins.classes if c != ins.classes[ins.prediction])
    at = open_page(name, params={"vit_view": "Rollout", "vit_class": other})
    assert at.selectbox(key="vit_class").value == other
    [fig] = titled(at, f"class map: {other}")
    want = grad_rollout(model, ins.picture.pixels, target=ins.classes.index(other))["cls"]
    np.testing.assert_allclose(heat(fig), upsampled(want, 4, 2), atol=1e-5)


def test_hard_mode_seed_and_layer_select_the_hard_picks(digits):
    name, model, task = digits
    at = open_page(name, params={"vit_view": "Soft vs hard", "vit_hard": "sample",
                                 "vit_seed": 3, "layer": 1, "query": "patch 2"})
    assert at.number_input(key="vit_seed").value == 3
    _, a = att(model, task, "sample 0")
    idx, _ = hard_attention(a[1, :, 3, 1:], mode="sample", seed=3)       # (H,)
    [fig] = [f for f in figures(at) if sum(t.get("name") == "attention" for t in f["data"]) == 8]
    hard = [t for t in fig["data"] if t.get("name") == "attention"][1::2]
    for h, trace in enumerate(hard):
        r, c = divmod(int(idx[h]), 4)
        lit = np.argwhere(decode(trace["z"]) > 0)
        assert (lit.min(0) == (2 * r, 2 * c)).all()
    assert any("seed 3" in c.value and "Layer 1, query patch 2" in c.value
               for c in at.main.caption)


def test_positions_view_draws_the_position_mosaics(digits):
    name, *_ = digits
    at = open_page(name, params={"vit_view": "Positions"})
    assert titled(at, "learned: cosine similarity") and titled(at, "2-D sin-cos")
    assert not titled(at, "layer 0")


def test_a_pretrained_models_test_image_by_number(tmp_path):
    folder = pretrained_vit(tmp_path / "link-vit")
    pt = load_pretrained(folder, device="cpu")
    task = task_for(pt)
    at = open_page("link-vit", [folder], params={"image": 2, "head": 3})
    assert at.selectbox(key="image").value == 2
    assert "synthetic: checkerboard" in prediction_text(at)
    ins, a = att(pt.model, task, "test image 2")
    np.testing.assert_allclose(heat(figure(at, "layer 0 · head 3")), upsampled(a[0, 3, 0, 1:],
                                                                            4, 8), atol=1e-6)


def test_changes_on_the_page_go_back_into_the_url(digits):
    name, *_ = digits
    at = open_page(name)
    assert "image" not in at.query_params                                # the default: absent
    at.number_input(key="image").set_value(5).run()
    ok(at)
    assert at.query_params["image"] == ["5"] or at.query_params["image"] == "5"
    at.number_input(key="image").set_value(0).run()
    assert "image" not in at.query_params
