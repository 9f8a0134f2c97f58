"""The rest of the lecture: model sizes (core/model_sizes.py), softmax saturation
(core/saturation.py) and their figures (viz/lecture.py), the block diagram (viz/block.py)."""
import math

import numpy as np
import pytest
import torch

from core.model_sizes import DATA, human, published_sizes, size_table
from core.saturation import softmax_saturation
from viz.block import block_figure, contribution_figure
from viz.lecture import model_size_figure, saturation_figure


def test_published_sizes_are_the_papers_numbers_with_sources():
    rows = {r["model"]: r for r in published_sizes()}
    expected = {"Transformer base": 65e6, "Transformer big": 213e6, "BERT base": 110e6,
                "BERT large": 340e6, "GPT-2 small": 117e6, "GPT-2": 1542e6, "GPT-3": 175e9,
                "ViT-B/16": 86e6, "ViT-L/16": 307e6}
    assert {k: rows[k]["parameters"] for k in expected} == {k: int(v) for k, v in expected.items()}
    for r in rows.values():
        assert r["source"] and ("arXiv:" in r["source"] or "OpenAI" in r["source"])
    assert "arXiv:1706.03762" in rows["Transformer base"]["source"]
    assert "arXiv:2005.14165" in rows["GPT-3"]["source"]


def test_size_table_merges_ours_sorted_and_rejects_bad_rows(tmp_path):
    table = size_table({"sort": 25_930, "dates": 250_000})
    sizes = [r["parameters"] for r in table]
    assert sizes == sorted(sizes) and table[0]["model"] == "sort" and table[0]["ours"]
    assert table[-1]["model"] == "GPT-3" and table[-1]["size"] == "175 B"
    assert [human(n) for n in (999, 25_930, 65_000_000, 1_542_000_000)] == \
        ["999", "25.9 k", "65 M", "1.54 B"]
    with pytest.raises(ValueError):
        size_table({"broken": 0})
    bad = tmp_path / "sizes.csv"
    bad.write_text(DATA.read_text().replace("65000000", "sixty-five million"))
    with pytest.raises(ValueError, match=":2:"):
        published_sizes(bad)


def test_model_size_figure_log_axis_ours_highlighted():
    table = size_table({"sort": 25_930})
    fig = model_size_figure(table, presenter=True)
    (bar,) = fig.data
    np.testing.assert_array_equal(bar.x, [r["parameters"] for r in table])
    assert fig.layout.xaxis.type == "log"
    ours = [i for i, r in enumerate(table) if r["ours"]]
    assert all(bar.marker.color[i] == "#e4002b" for i in ours)
    assert all(bar.marker.color[i] != "#e4002b" for i in range(len(table)) if i not in ours)
    ratio = 175e9 / 25_930
    assert f"{ratio:,.0f} times" in fig.layout.title.text.replace("<br>", " ")


def test_saturation_matches_the_variance_argument():
    r = softmax_saturation(dims=(4, 64, 1024), n_keys=16, n_queries=2000, seed=0)
    for d, raw_std, scaled_std in zip(r["d"], r["raw"]["score_std"], r["scaled"]["score_std"]):
        assert raw_std == pytest.approx(math.sqrt(d), rel=0.05)      # Var(q·k) = d
        assert scaled_std == pytest.approx(1.0, rel=0.05)
    raw, scaled = r["raw"]["max_weight"], r["scaled"]["max_weight"]
    assert raw[0] < raw[1] < raw[2] and raw[2] > 0.9                 # saturates
    assert max(scaled) - min(scaled) < 0.05 and scaled[2] < 0.5      # stays put
    assert r["raw"]["entropy"][2] < 0.15 < 0.7 < r["scaled"]["entropy"][2]
    again = softmax_saturation(dims=(4, 64, 1024), n_keys=16, n_queries=2000, seed=0)
    assert again == r
    with pytest.raises(ValueError):
        softmax_saturation(dims=(0,))


def test_saturation_figure_title_reads_the_data():
    r = softmax_saturation(dims=(8, 512), n_queries=256)
    fig = saturation_figure(r, presenter=True)
    title = fig.layout.title.text.replace("<br>", " ")
    assert f"{r['raw']['max_weight'][-1]:.0%}" in title and "d = 512" in title
    assert f"{r['scaled']['max_weight'][-1]:.0%}" in title
    assert fig.layout.yaxis2.type == "log" and fig.layout.xaxis.type == "log"


def test_block_figures_draw_each_sublayer_with_its_size():
    rel = [("self_attn", torch.tensor([0.1, 0.3])), ("ff", torch.tensor([0.5, 0.7]))]
    fig = block_figure(rel, pre_ln=True, presenter=True)
    texts = [a.text for a in fig.layout.annotations]
    assert "adds 0.20×|x|" in texts and "adds 0.60×|x|" in texts
    assert sum(t == "⊕" for t in texts) == 2
    assert sum(t == "LayerNorm" for t in texts) == 2                   # one per branch
    widths = [sh.line.width for sh in fig.layout.shapes if sh.type == "path"]
    assert widths[1] > widths[0]                                       # bigger adds thicker
    post = block_figure(rel, pre_ln=False)
    assert "post-LN" in post.layout.title.text
    bars = contribution_figure(rel, ["a", "b"], presenter=True)
    np.testing.assert_allclose(bars.data[1].y, [0.5, 0.7])
    assert [t.name for t in bars.data] == ["self-attention", "feed-forward"]
    with pytest.raises(ValueError):
        contribution_figure(rel, ["a"])
