"""The Positional encodings page as a user drives it (Streamlit AppTest)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.positional import sinusoidal_encoding

from app_helpers import APP, decode, figures, title


@pytest.fixture
def at():
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("pages/positional.py").run()
    assert not at.exception
    return at


def encoding_heatmap(at) -> dict:
    [fig] = [f for f in figures(at) if title(f).startswith("sinusoidal encoding")]
    return fig


def test_opens_with_every_chart(at):
    titles = [title(f) for f in figures(at)]
    assert len(titles) >= 8                          # + learned-table charts once a model ships
    for part in ("sinusoidal encoding", "each dimension is a wave", "wavelengths",
                 "of every position pair", "similarity of position 5", "RoPE rotates",
                 "max |difference|"):
        assert any(part in t for t in titles), (part, titles)
    fig = encoding_heatmap(at)
    assert decode(fig["data"][0]["z"]).shape == (20, 16)      # the lecture's default figure
    # the sort zoo: each of the two checkpoints shows its metrics or a note that it is missing
    shown = {m.label.split(" ")[0] for m in at.metric if m.label.startswith("sort")}
    notes = [i.value for i in at.info if "zoo" in i.value or "metrics" in i.value]
    assert len(shown) + len(notes) == 2


@pytest.mark.parametrize("n, d", [(50, 32), (2048, 64)])
def test_heatmap_follows_n_and_d_model_and_equals_core(at, n, d):
    at.number_input(key="pe_n").set_value(n)
    at.slider(key="pe_d").set_value(d).run()
    assert not at.exception
    fig = encoding_heatmap(at)
    assert len(fig["data"]) == 1                               # long ranges stay one trace
    z = decode(fig["data"][0]["z"])
    assert z.shape == (n, d)
    np.testing.assert_allclose(z, sinusoidal_encoding(n, d).numpy(), atol=1e-6)
    wave = [f for f in figures(at) if title(f).startswith("wavelengths")][0]
    assert decode(wave["data"][0]["y"]).size == d


def test_settings_are_bounded(at):
    n, dm = at.number_input(key="pe_n"), at.slider(key="pe_d")
    assert (n.min, n.max, dm.min, dm.max) == (1, 2048, 4, 512)
    at.number_input(key="pe_n").set_value(5000).run()
    assert not at.exception
    assert 1 <= at.number_input(key="pe_n").value <= 2048
    assert encoding_heatmap(at)["data"][0]["z"]
    at.slider(key="pe_d").set_value(7).run()                  # odd: rounded down with a warning
    assert not at.exception
    assert decode(encoding_heatmap(at)["data"][0]["z"]).shape[1] % 2 == 0
    at.number_input(key="pe_n").set_value(1).run()            # one position still renders
    assert not at.exception
    assert decode(encoding_heatmap(at)["data"][0]["z"]).shape[0] == 1


def test_order_demo_without_pe_only_permutes(at):
    diffs = [float(m.value) for m in at.metric if m.label.startswith("max |output")]
    assert len(diffs) == 2
    without, with_pe = diffs
    assert without < 1e-5
    assert with_pe > 1e-2
    at.number_input(key="order_n").set_value(12)
    at.number_input(key="order_seed").set_value(3).run()
    assert not at.exception
    without, with_pe = [float(m.value) for m in at.metric if m.label.startswith("max |output")]
    assert without < 1e-5 < 1e-2 < with_pe


def _save_encoder(folder: Path, name: str, pos: str, metrics: dict) -> None:
    from core import EncoderConfig, build_model
    from core.checkpoints import save_checkpoint
    cfg = EncoderConfig(vocab_size=12, n_classes=12, head="tagger", d_model=16, n_heads=2,
                        n_layers=1, max_len=20, pos=pos)
    save_checkpoint(build_model(cfg), folder / f"{name}.safetensors",
                    {"task": "sort", "metrics": metrics})


def test_trained_positions_side_by_side_and_sort_metrics(tmp_path, monkeypatch):
    import ui.models
    _save_encoder(tmp_path, "sort", "learned", {"token_acc": 0.99, "exact": 0.95})
    _save_encoder(tmp_path, "sort_nopos", "none", {"token_acc": 0.31, "exact": 0.0})
    _save_encoder(tmp_path, "sort_rope", "rope", {})
    monkeypatch.setattr(ui.models, "CHECKPOINT_DIR", tmp_path)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("pages/positional.py").run()
    assert not at.exception
    titles = [title(f) for f in figures(at)]
    assert any(t.startswith("learned table of sort  (20×16)") for t in titles), titles
    assert any(t.startswith("sinusoidal, same size  (20×16)") for t in titles), titles
    assert {m.label: m.value for m in at.metric if m.label.startswith("sort")} == {
        "sort (learned PE) · token_acc": "99.0%", "sort (learned PE) · exact": "95.0%",
        "sort_nopos (no PE) · token_acc": "31.0%", "sort_nopos (no PE) · exact": "0.0%"}
    at.sidebar.selectbox(key="model").set_value("sort_nopos").run()
    assert not at.exception
    assert any("has no positional encoding" in w.value for w in at.warning)
    at.sidebar.selectbox(key="model").set_value("sort_rope").run()
    assert not at.exception
    assert any("uses RoPE" in i.value for i in at.info)
    assert any(title(f).startswith("RoPE: similarity") for f in figures(at))


def test_periods_and_similarity_captions_follow_the_formula(at):
    """Issue 12: the slowest period shown is that of the last dimension pair, 2π·10000^((d−2)/d)
    (not 10000·2π), and the similarity caption says what holds: a function of the distance
    alone that falls off non-monotonically (first rise read from the paper's formula)."""
    n, d = 40, 32
    at.number_input(key="pe_n").set_value(n)
    at.slider(key="pe_d").set_value(d).run()
    assert not at.exception
    slowest = 2 * np.pi * 10000 ** ((d - 2) / d)                     # ≈ 11,788, not 62,832
    [wave] = [f for f in figures(at) if title(f).startswith("wavelengths")]
    [slow] = [t for t in wave["data"] if str(t.get("name", "")).startswith("slowest")]
    np.testing.assert_allclose(decode(slow["y"]), slowest, rtol=1e-6)
    assert f"10000^({d - 2}/{d})" in slow["name"]
    captions = [c.value for c in at.caption]
    assert any(f"≈ {slowest:,.0f} positions (the last pair" in c for c in captions), captions
    # the similarity: from the formula in float64, independent of core
    p = np.arange(n)[:, None]
    angle = p / 10000 ** (np.arange(0, d, 2) / d)                      # (N, d/2)
    pe = np.stack([np.sin(angle), np.cos(angle)], -1).reshape(n, d)   # (N, D)
    prof = (pe @ pe.T)[0]                                              # (N,) by distance
    rise = next(k for k in range(n - 1) if prof[k + 1] > prof[k] + 1e-9)
    [sim] = [c for c in captions if "depends only on their distance" in c]
    assert "not monotonically" in sim
    assert f"{rise + 1} away ({prof[rise + 1]:.2f})" in sim
    assert f"{rise} away ({prof[rise]:.2f})" in sim
    assert not any("near positions have similar" in c.lower() for c in captions)
