"""The switchable map (viz/head_switch.py): every head sent once, at display precision, and
plotly's own buttons showing each head. Figures are read back from the JSON plotly sends (what
the browser gets), and compared with the float64 weights they were built from."""
from __future__ import annotations

import copy
import json
import re

import numpy as np
import plotly.io as pio
import pytest

from tests.app_helpers import decode
from viz.attention import attention_heatmap
from viz.head_switch import (NoRoom, level_dtype, multi_head_heatmap, nice_ticks, quantise,
                             tick_text)
from viz.theme import PRESENTER_SIZES


def layer(rng, H, Tq, Tk=None, causal=False):
    """Softmax rows of random logits: (H, Tq, Tk) float64 and the (Tq, Tk) mask or None."""
    Tk = Tq if Tk is None else Tk
    logits = rng.normal(0.0, 2.0, (H, Tq, Tk))
    mask = np.tril(np.ones((Tq, Tk), bool)) if causal else None
    if mask is not None:
        logits = np.where(mask, logits, -np.inf)
    w = np.exp(logits - logits.max(-1, keepdims=True))
    return w / w.sum(-1, keepdims=True), mask


def sent(fig) -> dict:
    """The figure as the browser receives it (strict JSON: NaN would be an error)."""
    def reject(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(pio.to_json(fig, validate=False), parse_constant=reject)


def weights_of(trace: dict) -> np.ndarray:
    """A head trace's levels decoded to weights with the mapping its meta carries."""
    m, levels = trace["meta"], decode(trace["z"]).astype(np.float64)
    return np.where(levels == m["masked"], np.nan, m["base"] + levels * m["step"])


def press(spec: dict, h: int) -> dict:
    """What plotly does on a click of button h ("update": restyle all traces, relayout)."""
    spec = copy.deepcopy(spec)
    button = [b for m in spec["layout"]["updatemenus"] for b in m["buttons"]][h]
    assert button["method"] == "update"
    for key, values in button["args"][0].items():
        for trace, value in zip(spec["data"], values):
            trace[key] = value
    for path, value in button["args"][1].items():
        node, parts = spec["layout"], re.findall(r"[^.\[\]]+", path)
        for p in parts[:-1]:
            node = node[int(p)] if p.isdigit() else node.setdefault(p, {})
        node[int(parts[-1]) if parts[-1].isdigit() else parts[-1]] = value
    return spec


def shown(spec: dict) -> list[int]:
    return [i for i, t in enumerate(spec["data"][:spec["layout"]["meta"]["heads"]])
            if t.get("visible") is True]


@pytest.mark.parametrize("T, dtype", [(16, "u2"), (512, "u1")])
def test_every_head_decodes_to_its_weights_within_half_a_level(T, dtype):
    w, mask = layer(np.random.default_rng(1), 12, T, causal=True)
    spec = sent(multi_head_heatmap(w, None, None, head=0, mask=mask))
    for h in range(12):
        trace = spec["data"][h]
        assert trace["z"]["dtype"] == dtype and trace["name"] == f"H{h}"
        got, step = weights_of(trace), trace["meta"]["step"]
        assert np.array_equal(np.isnan(got), ~mask)                 # masked cells, exactly
        err = np.abs(got - w[h])[mask]
        assert err.max() <= step / 2 * (1 + 1e-6), (h, err.max(), step)
        spread = w[h][mask].max() - w[h][mask].min()               # 255 or 65535 levels
        assert step == pytest.approx(spread / (254 if dtype == "u1" else 65534))


def test_payload_of_a_12_head_layer_at_512_tokens_is_a_few_mb():
    w, mask = layer(np.random.default_rng(2), 12, 512, causal=True)
    fig = multi_head_heatmap(w, [f"t{i}" for i in range(512)], None, head=3, mask=mask,
                             title="layer 0 · head {head}")
    size = len(pio.to_json(fig, validate=False))
    # 12 * 512 * 512 levels of one byte = 3.1 MB, base64 4/3 of that, plotly escapes "/"
    assert 4.0e6 < size < 5.2e6, size
    assert size < 0.2 * 12 * 512 * 512 * 8                   # float64 JSON would be 5x more


def test_256_tokens_fit_at_two_bytes_a_level_and_three_decimals():
    assert level_dtype(12, 256, 256) == np.uint16 and level_dtype(12, 512, 512) == np.uint8
    w, _ = layer(np.random.default_rng(3), 12, 256)
    spec = sent(multi_head_heatmap(w, None, None))
    assert len(json.dumps(spec)) < 2.6e6
    for t in spec["data"][:12]:
        assert t["meta"]["step"] / 2 <= 0.0005 and "%{z:.3f}" in t["meta"]["hover"]


@pytest.mark.parametrize("h", [0, 4, 11])
def test_button_h_shows_exactly_head_h(h):
    w, mask = layer(np.random.default_rng(4), 12, 10, causal=True)
    spec = sent(multi_head_heatmap(w, list("abcdefghij"), None, head=7, mask=mask,
                                   title="Encoder · layer 1 · head {head}"))
    assert shown(spec) == [7]
    after = press(spec, h)
    assert shown(after) == [h]
    step = after["data"][h]["meta"]["step"]
    np.testing.assert_allclose(weights_of(after["data"][h])[mask], w[h][mask], atol=step / 2)
    assert re.search(rf"head {h}\b", after["layout"]["title"]["text"])
    labels = [b["label"] for m in after["layout"]["updatemenus"] for b in m["buttons"]]
    assert labels == [f"<b>[H{i}]</b>" if i == h else f"H{i}" for i in range(12)]
    overlay = [t for t in after["data"][12:] if t.get("visible") is True]
    assert len(overlay) == 1 and np.array_equal(decode(overlay[0]["z"]).astype(bool), ~mask)
    assert after["layout"]["shapes"][0]["visible"] is True          # the "×" marks


def test_colours_and_colour_bar_are_in_weights():
    w, _ = layer(np.random.default_rng(5), 3, 20)
    fixed = sent(multi_head_heatmap(w, None, None))
    auto = sent(multi_head_heatmap(w, None, None, zmin=None, zmax=None))
    for h in range(3):
        for spec, (lo, hi) in ((fixed, (0.0, 1.0)), (auto, (w[h].min(), w[h].max()))):
            t = spec["data"][h]
            m = t["meta"]
            # the colour of a level is that of its weight on the [lo, hi] scale
            assert m["base"] + t["zmin"] * m["step"] == pytest.approx(lo, abs=1e-9)
            assert m["base"] + t["zmax"] * m["step"] == pytest.approx(hi, abs=1e-9)
            bar = t["colorbar"]
            as_weights = [m["base"] + v * m["step"] for v in bar["tickvals"]]
            np.testing.assert_allclose(as_weights, [float(s) for s in bar["ticktext"]],
                                       atol=1e-9)
            assert lo - 1e-9 <= as_weights[0] and as_weights[-1] <= hi + 1e-9
    assert fixed["data"][0]["colorbar"]["ticktext"] == ["0", "0.2", "0.4", "0.6", "0.8", "1"]


def test_one_overlay_per_distinct_mask():
    w, mask = layer(np.random.default_rng(6), 4, 6, causal=True)
    per_head = np.stack([mask, mask, np.ones_like(mask), mask.T])   # (H, Tq, Tk)
    spec = sent(multi_head_heatmap(w, None, None, mask=per_head, head=2))
    overlays = spec["data"][4:]
    assert len(overlays) == 2                                       # causal and its transpose
    assert all(t["hoverinfo"] == "skip" and t["showscale"] is False for t in overlays)
    assert not any(t.get("visible") is True for t in overlays)      # head 2 masks nothing
    assert [press(spec, 3)["data"][i].get("visible") for i in (4, 5)] == [False, True]
    assert len(spec["layout"]["shapes"]) == 2
    assert np.isnan(weights_of(spec["data"][3])).sum() == (~mask.T).sum()


def test_same_look_as_attention_heatmap():
    w, mask = layer(np.random.default_rng(7), 2, 12, 30, causal=True)
    q, k = [f"q{i}" for i in range(12)], [f"k{j}" for j in range(30)]
    one = attention_heatmap(w[0], q, k, mask=mask, presenter=True, title="head 0")
    many = multi_head_heatmap(w, q, k, mask=mask, presenter=True, title="head {head}")
    lo, lm = one.layout, many.layout
    cell = (lm.width - lm.margin.l - lm.margin.r) / 30
    assert cell == pytest.approx((lm.height - lm.margin.t - lm.margin.b) / 12, rel=0.02)
    assert lm.margin.l == lo.margin.l and lm.margin.t == lo.margin.t   # same labels, title
    assert list(lm.xaxis.ticktext) == list(lo.xaxis.ticktext)
    assert lm.yaxis.autorange == "reversed" and lm.yaxis.scaleanchor == "x"
    assert lm.xaxis.tickfont.size == PRESENTER_SIZES.tick
    assert lm.plot_bgcolor == lo.plot_bgcolor                       # masked cells: grey
    assert lm.width <= 780 and lm.height <= 640                     # a 1280x720 projector
    assert lm.updatemenus[0].font.size == PRESENTER_SIZES.legend
    assert lm.updatemenus[0].x > 1                                  # right of the map


def test_the_buttons_stand_in_columns_beside_the_map():
    w, _ = layer(np.random.default_rng(8), 12, 256)
    fig = multi_head_heatmap(w, None, None, presenter=True)
    assert len(fig.layout.updatemenus) == 1                         # 12 fit beside the map
    plot = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    assert plot > 400                                               # the map stays big
    w, _ = layer(np.random.default_rng(8), 32, 4)
    spec = sent(multi_head_heatmap(w, None, None, presenter=True, head=31))
    menus = spec["layout"]["updatemenus"]
    assert len(menus) > 1 and sum(len(m["buttons"]) for m in menus) == 32
    assert all(m["direction"] == "down" for m in menus)
    assert shown(press(spec, 20)) == [20]
    labels = [b["label"] for m in press(spec, 20)["layout"]["updatemenus"] for b in m["buttons"]]
    assert labels.count("<b>[H20]</b>") == 1 and "<b>[H31]</b>" not in labels


def test_quantise_edge_cases():
    w = np.array([[[0.25, 0.25], [0.25, 0.25]], [[0.0, 1.0], [0.5, 0.5]]])   # (2, 2, 2)
    blocked = np.array([[[False, True], [False, False]], [[True, True], [True, True]]])
    qz = quantise(w, blocked, np.uint8)
    back = qz.weights()
    assert np.isnan(back[0, 0, 1]) and np.allclose(back[0][~blocked[0]], 0.25)  # constant
    assert np.isnan(back[1]).all()                                  # a head masked everywhere
    with pytest.raises(ValueError, match="finite"):
        quantise(np.array([[[np.nan, 1.0]]]))
    with pytest.raises(ValueError, match="head 3"):
        multi_head_heatmap(np.ones((3, 2, 2)) / 2, None, None, head=3)
    with pytest.raises(ValueError, match="heads, queries, keys"):
        multi_head_heatmap(np.ones((2, 2)) / 2, None, None)


def test_nice_ticks_and_their_text():
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    ticks = nice_ticks(0.0012, 0.0475)
    assert ticks[0] >= 0.0012 and ticks[-1] <= 0.0475 and 3 <= len(ticks) <= 6
    assert [tick_text(t, 0.01) for t in (0.0, 0.03)] == ["0", "0.03"]
    assert tick_text(1.0, 0.2) == "1" and tick_text(0.005, 0.005) == "0.005"


def test_a_map_too_narrow_for_its_buttons_says_so():
    """Plotly places buttons at most two plot widths right of the plot (x <= 3): a tall, narrow
    map (a long output reading a 1-2 character input) has no room, and says so (the app then
    draws one head per run); one a little wider still gets its buttons within plotly's range."""
    rng = np.random.default_rng(0)
    narrow = rng.random((4, 12, 2))                                   # (H, Tq, Tk)
    with pytest.raises(NoRoom, match="no room"):
        multi_head_heatmap(narrow / narrow.sum(-1, keepdims=True), None, None, max_height=300)
    wider = rng.random((4, 12, 3))                                    # (H, Tq, Tk)
    fig = multi_head_heatmap(wider / wider.sum(-1, keepdims=True), None, None, max_height=300)
    assert all(-2 <= menu.x <= 3 for menu in fig.layout.updatemenus)
