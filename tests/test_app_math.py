"""The Attention math page as a user drives it (Streamlit AppTest)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from app_helpers import APP, decode, figures
from app_helpers import title as raw_title


def title(fig) -> str:
    """The figure's title on one line (a matrix's title is wrapped to its column)."""
    return raw_title(fig).replace("<br>", " ")


@pytest.fixture
def at():
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page("pages/attention_math.py").run()
    assert not at.exception
    return at


def matrix(at, prefix: str) -> np.ndarray:
    [fig] = [f for f in figures(at) if title(f).startswith(prefix)]
    return decode(fig["data"][0]["z"])


def shown_table(at, name: str) -> np.ndarray:
    [editor] = [e for e in at.data_editor if e.key.startswith(f"math_{name}_")]
    return editor.value.to_numpy(dtype=float)


def softmax_attention(Q, K, causal=False):
    E = Q @ K.T / np.sqrt(Q.shape[1])
    if causal:
        E = np.where(np.tril(np.ones_like(E, dtype=bool)), E, -np.inf)
    E = np.exp(E - E.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def test_opens_with_the_stages_and_heads(at):
    titles = [title(f) for f in figures(at)]
    for part in ("E = QKᵀ/√d  (4×4)", "A = softmax(E)  (4×4)", "Y = AV  (4×3)",
                 "head 0: A", "head 1: A", "concat(head outputs)  (4×8)", "output = concat"):
        assert any(t.startswith(part) for t in titles), (part, titles)
    assert len(at.data_editor) == 3
    assert not at.error


@pytest.mark.parametrize("tokens, d, seed", [(4, 3, 0), (6, 8, 17)])
def test_A_is_softmax_of_the_tables_shown(at, tokens, d, seed):
    at.slider(key="math_T").set_value(tokens)
    at.slider(key="math_d").set_value(d)
    at.number_input(key="math_seed").set_value(seed).run()
    assert not at.exception
    Q, K, V = (shown_table(at, n) for n in "QKV")
    assert Q.shape == K.shape == V.shape == (tokens, d)
    A = matrix(at, "A = softmax(E)")
    np.testing.assert_allclose(A, softmax_attention(Q, K), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(matrix(at, "Y = AV"), A @ V, rtol=1e-5, atol=1e-6)


def test_causal_mask_zeroes_the_upper_triangle(at):
    at.checkbox(key="math_causal").check().run()
    assert not at.exception
    A = matrix(at, "A = softmax(E)")
    upper = np.triu(np.ones_like(A, dtype=bool), k=1)
    assert (A[upper] == 0).all()
    np.testing.assert_allclose(A, softmax_attention(shown_table(at, "Q"), shown_table(at, "K"),
                                                    causal=True), rtol=1e-5, atol=1e-6)
    assert any(title(f).startswith("E with the causal mask") for f in figures(at))
    for h in (0, 1):                                           # every head is masked too
        assert (matrix(at, f"head {h}: A")[upper] == 0).all()


@pytest.mark.parametrize("bad", [None, "abc", 1e6])
def test_a_bad_cell_shows_an_error_not_a_traceback(at, bad):
    key = at.data_editor[1].key                                # the K table
    at.session_state[key] = {"edited_rows": {"2": {"d1": bad}}, "added_rows": [],
                             "deleted_rows": []}
    at.run()
    assert not at.exception
    assert at.error and "K: cell (t2, d1)" in at.error[0].value
    assert not any(title(f).startswith("A = softmax") for f in figures(at))
    assert any(title(f).startswith("head 0") for f in figures(at))   # the rest still renders


def test_heads_follow_the_choice(at):
    at.selectbox(key="mh_d").set_value(12).run()
    at.selectbox(key="mh_h_12").set_value(4).run()
    assert not at.exception
    heads = [matrix(at, f"head {h}: A") for h in range(4)]
    for A in heads:
        np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=1e-5, atol=1e-6)
    assert matrix(at, "concat(head outputs)").shape == (4, 12)


def test_cost_runs_for_small_lengths(at, monkeypatch):
    """Issue 12: the page times with warm-up and the minimum of several runs, its title states
    the exponent fitted in log-log space to what it measured, memory is "computed" on CPU."""
    import ui.learn.cost as page_cost
    asked = []

    def recorded(*a, **kw):
        asked.append(kw)
        return real(*a, **kw)
    real = page_cost.attention_cost
    monkeypatch.setattr(page_cost, "attention_cost", recorded)
    assert not any(title(f).startswith("attention cost") for f in figures(at))
    at.selectbox(key="cost_max").set_value(256)
    at.slider(key="cost_budget").set_value(5)
    at.button(key="cost_run").click().run()
    assert not at.exception
    [kw] = asked
    assert kw["warmup"] >= 1 and kw["repeats"] >= 3
    [fig] = [f for f in figures(at) if title(f).startswith("attention cost")]
    n = decode(fig["data"][0]["x"])
    assert n[0] == 16 and n[-1] <= 256 and len(n) >= 2
    secs = decode(fig["data"][0]["y"])                                 # the fastest runs
    ok = np.isfinite(secs) & (secs > 0)
    fit = np.polyfit(np.log(n[ok][-4:]), np.log(secs[ok][-4:]), 1)[0]  # log-log, 4 longest
    assert f"time grows like N^{fit:.1f} here" in title(fig).replace("\u00a0", " ")
    if not torch.cuda.is_available():
        assert "memory grows like N^2.0 here" in title(fig)           # 4·N² floats, computed
        assert "computed" in fig["layout"]["yaxis2"]["title"]["text"]
        assert any("computed (memory is measured on CUDA only)" in c.value for c in at.caption)
    assert any("warm-up runs, then the fastest of" in c.value for c in at.caption)
    at.checkbox(key="math_causal").check().run()               # the result stays after reruns
    assert any(title(f).startswith("attention cost") for f in figures(at))
