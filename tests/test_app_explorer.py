"""The attention explorer page, driven through Streamlit's AppTest as a user would.

Every shipped encoder / decoder / encoder-decoder checkpoint opens; the heatmap shows exactly the
weights core computes for the typed input, layer and head; bad input gives a message, never a
traceback; the statistics table, the ablation view and the seq2seq attention kinds work.
ATTNVIZ_TEST_CHECKPOINTS=folder runs the suite against another checkpoint folder.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

import ui.models
from core import analysis
from core.checkpoints import load_checkpoint
from core.tasks import TASKS

from app_helpers import APP, decode, ok
from app_helpers import figures as charts
from explorer_helpers import plain
from explorer_helpers import shown as one_head

KINDS = ("encoder", "decoder", "seq2seq")
if os.environ.get("ATTNVIZ_TEST_CHECKPOINTS"):
    ui.models.CHECKPOINT_DIR = Path(os.environ["ATTNVIZ_TEST_CHECKPOINTS"])
ROWS = [r for r in ui.models.checkpoints(KINDS) if r["shipped"]]
BY_KIND = {kind: next((r for r in ROWS if r["kind"] == kind), None) for kind in KINDS}
BY_NAME = {r["name"]: r for r in ROWS}


def need(kind: str) -> dict:
    row = BY_KIND[kind]
    if row is None:
        pytest.skip(f"no shipped {kind} checkpoint in {ui.models.CHECKPOINT_DIR}")
    return row


def model_of(row):
    model, _ = load_checkpoint(row["path"], "cpu")
    return model


def app_test():
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    return at.switch_page("pages/explorer.py").run()


@pytest.fixture(scope="module")
def at():
    """One explorer session shared by the tests (each sets the model, input and view it needs)."""
    if not ROWS:
        pytest.skip(f"no shipped checkpoint in {ui.models.CHECKPOINT_DIR}")
    return app_test()


def open_(at, row, text=None, view="One head"):
    """Select the model, type the text (default: the task's first example), open the view."""
    at.selectbox(key="model").set_value(row["name"]).run()
    text = TASKS[row["task"]].examples[0] if text is None else text
    at.text_input(key="input").input(text).run()
    at.session_state["view"] = view
    return at.run()


def z_of(spec: dict, trace: int = 0) -> np.ndarray:
    return decode(spec["data"][trace]["z"])


def heatmap_z(at) -> np.ndarray:
    """The weights the one-head map shows (the head the browser is asked to show, decoded
    from the levels sent; compare within TOL, half a level)."""
    return one_head(at)["weights"]


TOL = 1e-4          # at least half a level of the one-head map at two bytes a level


def expected(row, text, name, head) -> np.ndarray:
    task = TASKS[row["task"]]
    ins = task.inspect(model_of(row), task.parse(text), return_scores=True)
    w = ins.attention[name][head].numpy().astype(np.float64)               # (Tq, Tk)
    mask = (ins.masks or {}).get(name)
    return w if mask is None else np.where(mask[head].numpy(), w, np.nan)


def prediction_shown(at) -> bool:
    return any(m.value.startswith("**Prediction") for m in at.markdown)


# ----------------------------------------------------------------------------- every model
def test_every_shipped_checkpoint_opens(at):
    for row in ROWS:
        open_(at, row)
        ok(at)
        assert not at.error, (row["name"], [e.value for e in at.error])
        assert prediction_shown(at), row["name"]
        assert heatmap_z(at).size > 0


# ----------------------------------------------------------------------------- the heatmap
def test_typed_input_shows_its_own_weights(at):
    row = need("encoder")
    task = TASKS[row["task"]]
    first, second = task.examples[0], task.examples[-1]
    name = f"{'encoder' if row['kind'] != 'decoder' else 'decoder'}.blocks.0.self_attn"
    open_(at, row, first)
    at.selectbox(key="layer").set_value(0)
    at.selectbox(key="head").set_value(0).run()
    before = heatmap_z(at)
    np.testing.assert_allclose(before, expected(row, first, name, 0), atol=TOL)
    open_(at, row, second)
    after = heatmap_z(at)
    np.testing.assert_allclose(after, expected(row, second, name, 0), atol=TOL)
    assert before.shape != after.shape or not np.allclose(before, after, equal_nan=True)


@pytest.mark.parametrize("kind", ["encoder", "decoder"])
def test_layer_and_head_pick_that_heads_weights(at, kind):
    row = need(kind)
    task, cfg = TASKS[row["task"]], row["config"]
    text = task.examples[0]
    open_(at, row, text)
    layer, head = cfg.n_layers - 1, cfg.n_heads - 1
    at.selectbox(key="layer").set_value(layer)
    at.selectbox(key="head").set_value(head).run()
    ok(at)
    shown = heatmap_z(at)
    np.testing.assert_allclose(shown, expected(row, text, f"{kind}.blocks.{layer}.self_attn",
                                               head), atol=TOL)
    at.selectbox(key="head").set_value(0).run()
    assert not np.allclose(shown, heatmap_z(at), equal_nan=True)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("text", ["abc", "", "   ", "1" * 300, "3 1 2 \x00 ☃"])
def test_bad_input_gives_a_message(at, text):
    row = BY_NAME.get("sort") or need("encoder")
    open_(at, row, text)
    ok(at)
    assert at.error, f"no error shown for {text!r}"
    assert not at.get("plotly_chart")


def test_input_over_the_box_limit_is_refused():
    """A paste far beyond the box's own limit still ends in a message, not a hang."""
    if not ROWS:
        pytest.skip("no shipped checkpoint")
    at = app_test()
    at.selectbox(key="model").set_value(ROWS[0]["name"]).run()
    at.text_input(key="input").input("9" * 5000).run()
    ok(at)
    assert at.error


# ----------------------------------------------------------------------------- statistics
def test_statistics_table_has_a_row_per_head(at):
    for row in (r for r in (BY_KIND["encoder"], BY_KIND["seq2seq"]) if r is not None):
        open_(at, row, view="Statistics")
        ok(at)
        model = model_of(row)
        table = at.dataframe[0].value
        assert len(table) == len(model.attention_names()) * model.cfg.n_heads
        assert {"entropy", "mean_distance", "first_token", "previous"} <= set(table.columns)


def test_grid_pick_opens_that_head(at):
    row = need("encoder")
    open_(at, row, view="All heads")
    cfg = row["config"]
    at.selectbox(key="grid_pick").set_value(f"L{cfg.n_layers - 1} H{cfg.n_heads - 1}").run()
    ok(at)
    assert at.selectbox(key="layer").value == cfg.n_layers - 1
    assert at.selectbox(key="head").value == cfg.n_heads - 1


# ----------------------------------------------------------------------------- ablation
def test_ablating_an_early_head_changes_later_attention(at):
    row = need("encoder")
    text = TASKS[row["task"]].examples[-1]
    open_(at, row, text, view="Ablation")
    at.selectbox(key="layer").set_value(row["config"].n_layers - 1).run()
    at.multiselect(key="ablate").select("L0 H0 self_attn").run()
    ok(at)
    assert not at.error
    maps = [c for c in charts(at) if c["data"][0]["type"] == "heatmap"]
    assert len(maps) == 2                                     # before, after
    before, after = z_of(maps[0]), z_of(maps[1])
    assert before.shape == after.shape and not np.allclose(before, after)
    moved = at.dataframe[0].value
    assert "L0 H0 self_attn" not in set(moved["head"])        # the ablated head is left out
    assert len(moved) == len(model_of(row).attention_names()) * row["config"].n_heads - 1
    assert sum(m.value.startswith("**Prediction") for m in at.markdown) == 3


def test_every_head_off_says_so_instead_of_an_empty_table(at):
    row = need("encoder")
    open_(at, row, TASKS[row["task"]].examples[0], view="Ablation")
    box = at.multiselect(key="ablate")
    box.set_value(list(box.options)).run()
    ok(at)
    assert not at.dataframe
    assert any("Every head is switched off" in c.value for c in at.caption)


def test_an_ablated_head_contributes_nothing():
    """Core check: head_mask zeroes exactly that head's output before the output projection."""
    row = need("encoder")
    model = model_of(row)
    mha = model.encoder.blocks[0].self_attn
    x = torch.randn(1, 7, mha.d_model)                                    # (1, T, D)
    rec = {}
    with torch.no_grad():
        mha(x, record=rec)
        v = mha._split(mha.v_proj(x))                                     # (1, H, T, d)
        per_head = rec["weights"] @ v                                     # (1, H, T, d)
        per_head[:, 0] = 0.0
        want = mha.out_proj(per_head.transpose(1, 2).reshape(1, 7, mha.d_model))
        mask = analysis.head_mask(model, off=[("encoder.blocks.0.self_attn", 0)])
        got, _ = mha(x, head_mask=mask["encoder.blocks.0.self_attn"])
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_attention_change_compares_the_common_block():
    a = {"m": torch.full((2, 3, 3), 0.5)}
    b = {"m": torch.full((2, 4, 4), 0.5)}
    b["m"][1, 0, 0] = 0.9
    rows = analysis.attention_change(a, b, skip=[("m", 0)])
    assert [(r["head"], r["compared"]) for r in rows] == [(1, (3, 3))]
    assert rows[0]["max_change"] == pytest.approx(0.4)
    assert analysis.attention_change(a, a)[0]["max_change"] == 0.0


# ----------------------------------------------------------------------------- seq2seq
def test_seq2seq_shows_three_attention_kinds(at):
    row = need("seq2seq")
    task = TASKS[row["task"]]
    open_(at, row, task.examples[0])
    kinds = at.selectbox(key="module").options
    assert len(kinds) == 3
    assert any("cross-attention" in k.lower() for k in kinds)
    ins = task.inspect(model_of(row), task.parse(task.examples[0]))
    for key in ("encoder.self_attn", "decoder.self_attn", "decoder.cross_attn"):
        at.selectbox(key="module").set_value(key).run()
        ok(at)
        name = f"{key.split('.')[0]}.blocks.0.{key.split('.')[1]}"
        assert heatmap_z(at).shape == tuple(ins.attention[name].shape[-2:])
        title = plain(charts(at)[0]["layout"]["title"]["text"])
        assert title.startswith(("Encoder self", "Decoder masked", "Cross-attention"))


def test_clicking_a_statistics_row_selects_that_head(monkeypatch):
    """The table's on_select callback sets module / layer / head (AppTest cannot click rows)."""
    from ui.explorer import stats as ev
    state = {"stats_table": {"selection": {"rows": [2], "columns": []}},
             "explorer_stats_index": [("encoder.self_attn", 0, 0), ("encoder.self_attn", 0, 1),
                                      ("decoder.cross_attn", 1, 3)]}
    monkeypatch.setattr(ev.st, "session_state", state)
    ev._stats_pick()
    assert (state["module"], state["layer"], state["head"]) == ("decoder.cross_attn", 1, 3)


# ----------------------------------------------------------------------------- sine
def test_sine_sample_picker_and_pasted_values(at):
    row = BY_NAME.get("sine")
    if row is None:
        pytest.skip("no shipped sine checkpoint")
    task = TASKS["sine"]
    open_(at, row)
    at.number_input(key="sample").set_value(3).run()
    ok(at)
    assert at.text_input(key="input").value == "3"
    forecast = [c for c in charts(at) if c["data"][0]["type"] == "scatter"]
    assert prediction_shown(at) and forecast                         # the forecast chart
    names = {t.get("name") for t in forecast[0]["data"]}
    assert {"input", "forecast"} <= names
    name = "decoder.blocks.0.self_attn"
    np.testing.assert_allclose(heatmap_z(at), expected(row, "3", name, 0), atol=TOL)
    pasted = ", ".join(f"{v:.3f}" for v in task.sample(7)[0])
    at.text_input(key="input").input(pasted).run()
    ok(at)
    assert not at.error and prediction_shown(at)
    at.text_input(key="input").input("1, 2, 3").run()
    assert at.error                                  # 3 values, not 100


def test_switching_task_resets_the_selection(at):
    """Layer / head indices of one task's model mean nothing in another's: back to the start,
    even though the URL still holds the old ones."""
    enc, dec = need("encoder"), need("decoder")
    open_(at, enc)
    at.selectbox(key="layer").set_value(enc["config"].n_layers - 1)
    at.selectbox(key="head").set_value(enc["config"].n_heads - 1).run()
    open_(at, dec)
    ok(at)
    assert (at.selectbox(key="layer").value, at.selectbox(key="head").value) == (0, 0)
    if BY_KIND["seq2seq"] is not None:
        open_(at, BY_KIND["seq2seq"])
        assert at.selectbox(key="module").value == "decoder.cross_attn"   # alignment first
