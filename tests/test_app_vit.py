"""The ViT patch attention page as a user drives it (Streamlit AppTest), and its upload handling.

Every shipped ViT checkpoint is opened. Where none ships yet, seeded untrained digits and shapes
models stand in (written to a temporary checkpoint folder): everything checked here but the
digit PNG's predicted class holds for any weights.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import ui.models
from core import analysis
from core.checkpoints import load_checkpoint, save_checkpoint
from core.tasks import TASKS
from ui.vit import inputs as vv
from viz.images import with_patch_targets
from viz.pe_grid import mosaic

from app_helpers import decode, figure, figures, title
from vit_page_helpers import heat, open_page, png, prediction_text, show, upsampled

SHIPPED = [r for r in ui.models.checkpoints(("vit",)) if r["shipped"]]


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def fallback_dir(tmp_path_factory):
    """Untrained seeded digits and shapes ViTs, for a checkout that ships none yet."""
    folder = tmp_path_factory.mktemp("vit_checkpoints")
    for name in ("digits", "shapes"):
        torch.manual_seed(0)
        model = TASKS[name].build_model()
        save_checkpoint(model, folder / f"{name}.safetensors", {"task": name})
    return folder


@pytest.fixture(params=[r["name"] for r in SHIPPED] or ["digits", "shapes"])
def checkpoint(request, fallback_dir, monkeypatch):
    """(name, path) of a ViT checkpoint the page lists."""
    if not SHIPPED:
        monkeypatch.setattr(ui.models, "CHECKPOINT_DIR", fallback_dir)
    return request.param, str(Path(ui.models.CHECKPOINT_DIR) / f"{request.param}.safetensors")


@pytest.fixture
def digits(fallback_dir, monkeypatch):
    """(name, path) of the digits checkpoint: the shipped one, else the untrained stand-in."""
    if not any(r["name"] == "digits" for r in SHIPPED):
        monkeypatch.setattr(ui.models, "CHECKPOINT_DIR", fallback_dir)
    return "digits", str(Path(ui.models.CHECKPOINT_DIR) / "digits.safetensors")


# ----------------------------------------------------------------------------- helpers
def reference(path: str, example):
    """The page's numbers recomputed outside it: (inspection, model config)."""
    model, info = load_checkpoint(path, "cpu")
    return TASKS[info["task"]].inspect(model, example), model.cfg


def digit_png(i: int, scale: int = 8) -> tuple[bytes, int]:
    """Held-out digit i as a user would photograph it: dark ink on white, 64×64 pixels."""
    image, label = TASKS["digits"].fixed_example(i)                      # (8, 8) in [0, 1]
    big = np.kron(image, np.ones((scale, scale)))                        # (64, 64)
    return png((255 * (1.0 - big)).round().astype(np.uint8)), label


# ----------------------------------------------------------------------------- tests
def test_opens_on_every_vit_checkpoint(checkpoint):
    name, path = checkpoint
    at = open_page(name)
    assert at.sidebar.selectbox(key="model").value == name
    assert not at.error
    titles = [title(f) for f in figures(at)]
    for part in ("what the model sees", "prediction:", "layer 0 · head 0 · query CLS"):
        assert any(t.startswith(part) for t in titles), (part, titles)
    ins, cfg = reference(path, "sample 0")
    g, p = cfg.grid_size, cfg.patch_size
    # one head: the CLS row of layer 0 head 0, CLS column dropped
    row = ins.attention["encoder.blocks.0.self_attn"][0, 0]              # (1 + N,)
    np.testing.assert_allclose(heat(figure(at, "layer 0 · head 0")), upsampled(row[1:], g, p),
                               atol=1e-6)
    assert f"`{ins.classes[ins.prediction]}`" in prediction_text(at)
    # only the open tab runs: no rollout or position figure yet
    assert not [t for t in titles if t.startswith(("rollout", "learned"))]
    show(at, "Rollout")
    assert any(title(f).startswith("rollout from CLS") for f in figures(at))
    # the position tab: the ViT paper's figure, one g×g block per patch of a g²×g² mosaic
    show(at, "Positions")
    learned = [f for f in figures(at) if title(f).startswith("learned")]
    sincos = figure(at, "2-D sin-cos")
    assert len(learned) == (cfg.pos == "learned")
    for fig in learned + [sincos]:
        [panels] = [t for t in fig["data"] if t["type"] == "heatmap"]
        assert decode(panels["z"]).shape == (g * g, g * g)
    if learned:
        from core.similarity import position_similarity
        model, _ = load_checkpoint(path, "cpu")
        np.testing.assert_allclose(decode(learned[0]["data"][0]["z"]),
                                   mosaic(position_similarity(model).numpy(), g), atol=1e-6)


def test_changing_the_test_image_changes_prediction_and_overlay(digits):
    name, path = digits
    at = open_page(name)
    before_text, before = prediction_text(at), heat(figure(at, "layer 0 · head 0"))
    probs_before = decode(figure(at, "prediction:")["data"][0]["y"])
    at.number_input(key="image").set_value(7).run()
    assert not at.exception
    assert "test image 7" in prediction_text(at) and prediction_text(at) != before_text
    after = heat(figure(at, "layer 0 · head 0"))
    assert not np.allclose(before, after)
    assert not np.allclose(probs_before, decode(figure(at, "prediction:")["data"][0]["y"]))
    ins, cfg = reference(path, "sample 7")
    row = ins.attention["encoder.blocks.0.self_attn"][0, 0]
    np.testing.assert_allclose(after, upsampled(row[1:], cfg.grid_size, cfg.patch_size),
                               atol=1e-6)
    # out-of-range input is bounded by the widget
    at.number_input(key="image").set_value(10**9).run()
    assert not at.exception


def test_query_patch_layer_and_head_select_the_overlay(digits):
    name, path = digits
    at = open_page(name)
    cls_map = heat(figure(at, "layer 0 · head 0 · query CLS"))
    ins, cfg = reference(path, "sample 0")
    g, p = cfg.grid_size, cfg.patch_size
    last = cfg.n_layers - 1
    head = cfg.n_heads - 1
    at.selectbox(key="layer").set_value(last)
    at.selectbox(key="head").set_value(head)
    at.selectbox(key="query").set_value("patch 5").run()
    assert not at.exception
    fig = figure(at, f"layer {last} · head {head} · query patch 5")
    row = ins.attention[f"encoder.blocks.{last}.self_attn"][head, 1 + 5]  # (1 + N,)
    np.testing.assert_allclose(heat(fig), upsampled(row[1:], g, p), atol=1e-6)
    assert not np.allclose(heat(fig), cls_map)
    # the query patch is outlined, and every patch is a click target with its number
    [rect] = [s for s in fig["layout"]["shapes"] if s.get("type") == "rect"]
    r, c = divmod(5, g)
    assert (rect["x0"], rect["y0"]) == (c * p - 0.5, r * p - 0.5)
    [targets] = [t for t in fig["data"] if t.get("name") == "patches"]
    assert list(decode(targets["customdata"])) == list(range(g * g))
    # all heads: one panel per (layer, head) for that query
    show(at, "All heads")
    assert at.selectbox(key="query").value == "patch 5"
    grid = [f for f in figures(at) if any(t.get("name") == "attention" for t in f["data"])
            and not title(f)]
    assert len(grid) == 1
    panels = [t for t in grid[0]["data"] if t.get("name") == "attention"]
    assert len(panels) == cfg.n_layers * cfg.n_heads
    np.testing.assert_allclose(decode(panels[-1]["z"]), upsampled(row[1:], g, p), atol=1e-6)


def test_rollout_matches_core_for_every_fusion(digits):
    name, path = digits
    at = open_page(name, view="Rollout")
    ins, cfg = reference(path, "sample 0")
    _, stacked = analysis.stack_layers(ins.attention, "self_attn")       # (L, H, T, T)
    for fusion, discard in (("mean", 0.0), ("max", 0.9), ("min", 0.5)):
        at.slider(key="discard").set_value(discard)
        at.button_group(key="fusion").set_value(fusion).run()
        assert not at.exception
        fig = figure(at, f"rollout from CLS · {fusion} over heads · discard {discard:.0%}")
        flow = analysis.attention_rollout(list(stacked), fusion, discard)  # (T, T)
        np.testing.assert_allclose(heat(fig), upsampled(flow[0, 1:], cfg.grid_size,
                                                        cfg.patch_size), atol=1e-6)


def test_uploaded_digit_png(digits):
    name, path = digits
    data, _ = digit_png(3)
    at = open_page(name)
    at.button_group(key="vit_source").set_value("upload").run()
    assert not at.exception and any("Upload an image" in i.value for i in at.info)
    at.file_uploader(key="vit_upload").upload("digit.png", data, "image/png").run()
    assert not at.exception and not at.error
    assert "upload `digit.png`" in prediction_text(at)
    grey, message = vv.read_upload(TASKS["digits"], data)
    assert message is None and grey.shape == (8, 8)                     # the model's input
    ins, _ = reference(path, grey)
    assert f"`{ins.classes[ins.prediction]}`" in prediction_text(at)
    # a bad file in the same widget: a message, no traceback, no stale result
    at.file_uploader(key="vit_upload").clear().upload("notes.png", b"not an image",
                                                      "image/png").run()
    assert not at.exception
    assert any("PNG or JPEG" in e.value for e in at.error)
    assert not any(m.value.startswith("**Prediction") for m in at.markdown)


@pytest.mark.skipif(not any(r["name"] == "digits" for r in SHIPPED),
                    reason="needs the trained digits checkpoint")
def test_trained_model_reads_uploaded_digits(digits):
    """Held-out digits enlarged 8× and drawn dark on white, as a user's file would be: after
    load_image and the task's conversion (invert, crop, shrink) most are still read right."""
    model, _ = load_checkpoint(digits[1], "cpu")
    task = TASKS["digits"]
    right = 0
    for i in range(12):
        data, label = digit_png(i)
        grey, message = vv.read_upload(task, data)
        assert message is None
        right += task.inspect(model, grey).prediction == label
    assert right >= 10, f"{right}/12 uploaded digits read right"   # 12/12 when written


def test_bad_uploads_get_clear_messages():
    good = digit_png(0)[0]
    huge = png(np.zeros((4100, 4100), dtype=np.uint8))                   # 16.8 M pixels, small file
    cases = {
        b"hello, I am a text file\n": "not a PNG or JPEG",
        good[: len(good) // 2]: "damaged or truncated",
        huge: "pixels are accepted",
        b"": "empty",
        b"\x00" * 2_500_000: "at most 2.0 MB",
        png(np.full((32, 32), 200, dtype=np.uint8)): "one flat colour",
    }
    for data, expected in cases.items():
        grey, message = vv.read_upload(TASKS["digits"], data)
        assert grey is None
        assert message.startswith("Cannot use this file") and expected in message, message


def test_draw_tab_without_a_drawing_asks_for_one(digits, monkeypatch):
    at = open_page(digits[0])
    at.button_group(key="vit_source").set_value("draw").run()
    assert not at.exception
    assert any("canvas is empty" in i.value for i in at.info)
    if vv.canvas_widget() is not None:                # the free-hand canvas is installed
        assert [e for e in at.get("bidi_component") if e.key == "vit_canvas_digits"]
    # without the canvas package, an editable pixel grid stands in
    monkeypatch.setattr(vv, "canvas_widget", lambda: None)
    at.run()
    assert not at.exception and any("canvas is empty" in i.value for i in at.info)
    assert at.dataframe(key=f"vit_grid_digits_{TASKS['digits'].image_size}")


def test_patch_targets_sit_on_patch_centres():
    from viz.images import attention_overlay
    fig = attention_overlay(np.zeros((8, 8)), np.ones((4, 4)) / 16, 2)
    with_patch_targets(fig, 4, 4, 2, values=np.arange(16))
    scatter = fig.data[-1]
    assert list(scatter.customdata) == list(range(16))
    assert (scatter.x[5], scatter.y[5]) == (2 * 1 + 0.5, 2 * 1 + 0.5)   # patch 5: row 1, col 1
    assert all(t.hoverinfo == "skip" for t in fig.data[:-1])
    assert tuple(fig.layout.yaxis.range) == (7.5, -0.5)
