"""The shipped GRU (dates_rnn, kind "rnn") on the explorer and the masked-decoding pages, through
AppTest: every explorer view and both decoding views open on it without an exception, and show
its one additive head over the source."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import APP, figures, ok, title

VIEWS = ["One head", "All heads", "Head view", "Stages", "Statistics", "Ablation"]


def open_page(page: str, **params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=180)
    for key, value in {"model": "dates_rnn", **params}.items():
        at.query_params[key] = value
    at.switch_page(f"pages/{page}").run()
    return at


@pytest.mark.parametrize("view", VIEWS)
def test_explorer_views_open_on_the_gru(view):
    at = open_page("explorer.py", input="22 November 2026", view=view)
    ok(at)
    assert at.sidebar.selectbox(key="model").value == "dates_rnn"
    assert any("GRU encoder-decoder" in c.value for c in at.sidebar.caption)
    assert not at.error, [e.value for e in at.error]
    if view == "One head":
        (fig,) = [f for f in figures(at) if f["data"][0]["type"] == "heatmap"]
        assert "cross" in title(fig).lower()


@pytest.mark.parametrize("dec_view", ["Step by step", "Teacher forcing"])
def test_decoding_steps_through_the_gru(dec_view):
    at = open_page("decoding.py", input="22 November 2026", step="3", dec_view=dec_view)
    ok(at)
    assert not at.error, [e.value for e in at.error]
    titles = [title(f) for f in figures(at)]
    if dec_view == "Teacher forcing":
        assert any("attention over the source at all 11 positions" in t for t in titles), titles
    else:
        assert any("cross-attention over the source" in t for t in titles), titles
        assert any("no self-attention" in c.value for c in at.caption)
