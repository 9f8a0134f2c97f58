"""The explorer's building blocks, tested without Streamlit: thumbnails by max pooling
(core.pooling), the one-trace grid of every head (viz.head_mosaic), the stages figure as a
row or a 2×2 grid, hidden special tokens (ui.explorer.shown), the run's cost from the input's
token count (ui.explorer.run), and head patterns with induction scores remembered per model."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from core import head_patterns
from core.pooling import bins, block_labels, max_pool_map, pool_factor
from core.tasks.base import Inspection
from viz.head_mosaic import head_mosaic
from viz.stages import stages_figure


# ----------------------------------------------------------------------------- pooling
@pytest.mark.parametrize("n,parts", [(10, 3), (512, 48), (7, 7), (5, 9), (1, 1)])
def test_bins_cover_the_axis_without_overlap(n, parts):
    b = bins(n, parts)
    assert b[0][0] == 0 and b[-1][1] == n
    assert all(x[1] == y[0] for x, y in zip(b, b[1:]))
    sizes = [hi - lo for lo, hi in b]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1
    assert len(b) == min(n, parts)


def test_max_pool_is_the_max_of_each_block():
    rng = np.random.default_rng(0)
    w = rng.random((2, 3, 50, 37))
    small, qb, kb = max_pool_map(torch.tensor(w), 8)
    assert small.shape == (2, 3, 8, 8)
    for i, (a, b) in enumerate(qb):
        for j, (c, d) in enumerate(kb):
            np.testing.assert_allclose(small[..., i, j].numpy(), w[..., a:b, c:d].max((-1, -2)))
    same, q1, k1 = max_pool_map(torch.tensor(w), 64)
    assert torch.equal(same, torch.tensor(w)) and len(q1) == 50 and len(k1) == 37


def test_a_diagonal_survives_pooling_at_full_strength():
    w = torch.eye(512)                                                   # a self head
    small, _, _ = max_pool_map(w, 48)
    assert torch.all(small.diagonal() == 1.0)                            # a mean would be ~1/11


def test_block_labels_and_factor():
    labels = [f"t{i}" for i in range(10)]
    assert block_labels(labels, [(0, 1), (1, 4)]) == ["t0", "t1…t3 (1–3)"]
    assert pool_factor(512, 48) == 11 and pool_factor(10, 48) == 1
    with pytest.raises(ValueError):
        max_pool_map(torch.zeros(3, 3), 0)


# ----------------------------------------------------------------------------- mosaic
def _z(fig):
    return np.asarray(fig.data[0].z, dtype=float)


def test_mosaic_places_every_head_and_leaves_gaps():
    rng = np.random.default_rng(1)
    L, H, T = 3, 4, 5
    w = rng.random((L, H, T, T))
    fig = head_mosaic(w, ["L0", "L1", "L2"], selected=(2, 1), presenter=True)
    assert len(fig.data) == 1                                  # one trace, however many heads
    z, owner = _z(fig), np.asarray(fig.data[0].customdata)
    gap = (z.shape[1] - H * T) // (H - 1)
    assert z.shape == (L * T + (L - 1) * gap, H * T + (H - 1) * gap)
    for l in range(L):
        for h in range(H):
            r0, c0 = l * (T + gap), h * (T + gap)
            np.testing.assert_allclose(z[r0:r0 + T, c0:c0 + T], w[l, h], rtol=1e-6)
            assert (owner[r0:r0 + T, c0:c0 + T] == (l, h)).all()
    filled = np.zeros(z.shape, bool)
    for l in range(L):
        for h in range(H):
            filled[l * (T + gap):l * (T + gap) + T, h * (T + gap):h * (T + gap) + T] = True
    assert np.isnan(z[~filled]).all() and np.isfinite(z[filled]).all()
    rect = fig.layout.shapes[0]                                # the selected head, outlined
    assert rect.x0 < 1 * (T + gap) - 0.5 < rect.x1 - T and rect.y0 < 2 * (T + gap) < rect.y1
    json.loads(fig.to_json())


def test_mosaic_cells_are_square_and_fill_the_width():
    w = torch.rand(6, 12, 10, 10)
    fig = head_mosaic(w, [f"L{i}" for i in range(6)], width=780, presenter=True)
    m = fig.layout.margin
    rows, cols = _z(fig).shape
    cell_w = (fig.layout.width - m.l - m.r - 2) / cols
    cell_h = (fig.layout.height - m.t - m.b - 2) / rows
    assert cell_w == pytest.approx(cell_h, rel=0.02)
    assert fig.layout.width <= 780 + 2 and fig.layout.width > 0.9 * 780
    assert [t for t in fig.layout.xaxis.ticktext] == [f"H{h}" for h in range(12)]


def test_mosaic_hover_labels_only_when_small():
    q = [f"q{i}" for i in range(4)]
    small = head_mosaic(torch.rand(1, 2, 4, 4), ["L0"], q_labels=q, k_labels=q)
    assert "q1 → q2" in set(np.asarray(small.data[0].text).ravel())
    big = head_mosaic(torch.rand(2, 2, 40, 40), ["L0", "L1"], q_labels=[str(i) for i in range(40)],
                      k_labels=[str(i) for i in range(40)], max_labels_cells=1000)
    assert big.data[0].text is None


# ----------------------------------------------------------------------------- stages
def _stages(T, seed=0):
    g = torch.Generator().manual_seed(seed)
    raw = torch.randn(T, T, generator=g)
    return {"raw": raw, "scaled": raw / 2, "masked": raw / 2,
            "softmax": torch.softmax(raw / 2, -1)}


def test_stages_in_a_2x2_grid_keep_every_panel_and_scale():
    st_ = _stages(12)
    labels = [f"w{i}" for i in range(12)]
    fig = stages_figure(st_, labels, labels, presenter=True, width=780, columns=2,
                        max_height=1280)
    maps = [t for t in fig.data if t.type == "heatmap"]
    assert len(maps) == 4
    np.testing.assert_allclose(np.asarray(maps[3].z, float), st_["softmax"].numpy(), rtol=1e-6)
    tops = {tuple(fig.layout[f"yaxis{'' if n == 1 else n}"].domain) for n in range(1, 5)}
    assert len(tops) == 2                                   # two rows of two panels
    row = stages_figure(st_, labels, labels, presenter=True, width=780, columns=4)
    cell_grid = (fig.layout.width - fig.layout.margin.l - fig.layout.margin.r) / (2 * 12)
    cell_row = (row.layout.width - row.layout.margin.l - row.layout.margin.r) / (4 * 12)
    assert cell_grid > 1.5 * cell_row


def test_stages_choose_the_grid_only_when_a_row_is_too_small():
    labels = [f"w{i}" for i in range(12)]
    auto = stages_figure(_stages(12), labels, labels, presenter=True, width=780, max_height=1280)
    assert len({tuple(auto.layout[f"yaxis{'' if n == 1 else n}"].domain)
                for n in range(1, 5)}) == 2                 # 780 px, presenter: 2×2
    wide = stages_figure(_stages(6), labels[:6], labels[:6], width=1460, max_height=2000)
    assert len({tuple(wide.layout[f"yaxis{'' if n == 1 else n}"].domain)
                for n in range(1, 5)}) == 1                 # a wide screen: one row
    with pytest.raises(ValueError):
        stages_figure(_stages(3), None, None, columns=3)


# ----------------------------------------------------------------------------- shown
def _ins(T=5, special=(True, False, False, False, True)):
    g = torch.Generator().manual_seed(2)
    w = torch.softmax(torch.randn(2, T, T, generator=g), -1)                # (H, T, T)
    toks = ["[CLS]", "a", "b", "c", "[SEP]"][:T]
    return Inspection(prediction=None, attention={"m": w}, labels={"m": (toks, toks)},
                      masks={"m": torch.ones(2, T, T, dtype=torch.bool)}, tokens=toks,
                      special=list(special))


def test_hidden_tokens_drop_rows_and_columns_and_keep_the_weights():
    from ui.explorer.shown import Shown
    ins = _ins()
    keep = (1, 2, 3)
    view = Shown(ins, keep, ("[CLS]", "[SEP]"))
    w = view.weights("m")
    assert w.shape == (2, 3, 3)
    assert torch.equal(w, ins.attention["m"][:, 1:4, 1:4])          # not renormalised
    assert view.labels("m") == (["a", "b", "c"], ["a", "b", "c"])
    assert view.mask("m", 0).shape == (3, 3)
    share = view.hidden_share("m", 1)
    rows = ins.attention["m"][1, 1:4]
    assert share == pytest.approx(float((rows[:, 0] + rows[:, 4]).mean()), abs=1e-6)
    everything = Shown(ins)
    assert torch.equal(everything.weights("m"), ins.attention["m"])
    assert everything.hidden_share("m", 0) is None


def test_an_axis_of_another_length_is_not_cut():
    from ui.explorer.shown import Shown
    ins = _ins()
    view = Shown(ins, (1, 2, 3), ("[CLS]", "[SEP]"))
    cross = torch.rand(2, 7, 5)                                          # (H, Tq=7, Tk=5)
    assert view.take("x", cross).shape == (2, 7, 3)


# ----------------------------------------------------------------------------- run
class _Cfg:
    max_len, d_ff = 16, 0


class _Model:
    cfg = _Cfg()


def test_input_tokens_of_our_models_and_pretrained_ones():
    from ui.explorer.run import input_tokens

    class Plain:
        kind = "encoder"

    assert input_tokens(_Model(), Plain(), [3, 1, 2]) == 5               # + start / end
    assert input_tokens(_Model(), Plain(), list(range(40))) == 16        # at most max_len

    class Pre:
        pretrained = object()

        def encode(self, text):
            return {"input_ids": torch.zeros(1, 9, dtype=torch.long)}
    assert input_tokens(_Model(), Pre(), "whatever") == 9


def test_the_cost_grows_with_the_tokens_and_is_refused_past_the_limit():
    from core.budget import BudgetError, check
    from ui.explorer.run import cost

    class Info:
        pretrained = type("P", (), {"info": dict(n_layers=12, n_heads=12, d_model=768,
                                                 parameters=110_000_000)})()

    small, big = cost(_Model(), Info(), 128), cost(_Model(), Info(), 512)
    assert big.weights_bytes == 16 * small.weights_bytes                # T² attention
    assert big.weights_bytes == 12 * 12 * 512 * 512 * 4
    check(big)                                                           # BERT-base at 512: fine
    with pytest.raises(BudgetError, match="the limit is"):
        check(cost(_Model(), Info(), 8192))


# ----------------------------------------------------------------------------- patterns
def test_head_patterns_use_remembered_induction_without_running_the_model():
    class Boom(torch.nn.Module):
        kind = "encoder"

        def forward(self, *a, **k):
            raise AssertionError("the model must not run")

    w = torch.softmax(torch.randn(2, 6, 6), -1)
    rows = head_patterns.head_patterns(Boom(), attention={"encoder.blocks.0.self_attn": w},
                                       induction={"encoder.blocks.0.self_attn": [0.7, 0.1]})
    assert [r["induction"] for r in rows] == [0.7, 0.1]
    want = np.mean([float(w[0, i, i - 1]) for i in range(1, 6)])      # weight on i - 1
    assert rows[0]["previous"] == pytest.approx(want, abs=1e-6)
    ranked = head_patterns.rank_heads(rows, "induction")
    assert ranked[0]["head"] == 0 and not math.isnan(ranked[0]["score"])


def test_file_stem_is_safe():
    from ui.explorer.views import file_stem
    stem = file_stem("sentence-transformers/all-MiniLM-L6-v2", "encoder.blocks.0.self_attn")
    assert "/" not in stem and stem.startswith("sentence-transformers_all-MiniLM-L6-v2")
    assert file_stem("../../etc/passwd", "m").startswith("etc_passwd")
    assert file_stem("\x00\x1b", "") == "attention"
