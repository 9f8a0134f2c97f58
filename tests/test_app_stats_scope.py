"""The explorer's Statistics tab on cross-attention (issue 12): the statistics that compare a
query's position with a key's (mean distance, diagonal, previous, offset, induction) mean nothing
when the query is a target position and the key a source position. With self- and
cross-attention in one table (the dates encoder-decoder) they are blank on the cross-attention
rows and their columns say "(self only)"; with cross-attention alone (the GRU with Bahdanau
attention) they are left out; the positional rankings leave cross-attention heads out.
"""
from __future__ import annotations

import json
import math

import pytest
from streamlit.testing.v1 import AppTest

import ui.models
from core.statistics_scope import POSITIONAL

from app_helpers import APP, ok

SHIPPED = {r["name"] for r in ui.models.checkpoints(("seq2seq", "rnn")) if r["shipped"]}
SELF_ONLY = (*POSITIONAL, "offset", "induction")


def statistics_tab(name: str, pattern: str = "previous") -> AppTest:
    if name not in SHIPPED:
        pytest.skip(f"no shipped {name} checkpoint")
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params.update(model=name, view="Statistics", pattern=pattern)
    at.switch_page("pages/explorer.py").run()
    ok(at)
    return at


def table(at):
    """(the statistics table as a DataFrame, {column: label shown})."""
    [df] = at.dataframe
    labels = {k: v.get("label", k) for k, v in json.loads(df.proto.columns).items()}
    return df.value, labels


def test_a_mixed_table_blanks_cross_rows_and_says_self_only():
    at = statistics_tab("dates")
    frame, labels = table(at)
    cross = frame["head"].str.startswith("cross ")
    assert cross.any() and (~cross).any()
    for k in SELF_ONLY:
        assert labels[k].endswith("(self only)"), labels[k]
        assert frame.loc[cross, k].isna().all(), k                  # blank, not a number
        assert frame.loc[~cross, k].notna().all(), k                # self-attention keeps them
    for k in ("entropy", "max_weight", "first_token"):              # these mean something
        assert not labels[k].endswith("(self only)")
        assert frame.loc[cross, k].map(math.isfinite).all(), k
    # the previous-token ranking leaves cross-attention heads out, and says so
    ranks = frame.loc[frame["rank"].notna(), "head"]
    assert len(ranks) and not ranks.str.startswith("cross ").any()
    assert not any(b.label.startswith("cross ") for b in at.button)
    assert any("Cross-attention heads are left out" in c.value for c in at.caption)


def test_cross_attention_alone_hides_the_position_comparisons():
    frame, labels = table(statistics_tab("dates_rnn"))
    assert len(frame) and frame["head"].str.len().gt(0).all()
    assert not set(SELF_ONLY) & set(frame.columns), list(frame.columns)
    assert {"entropy", "max_weight"} <= set(frame.columns)
    assert not any("self only" in v for v in labels.values())
