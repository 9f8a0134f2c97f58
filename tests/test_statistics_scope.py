"""Which head statistics a page shows for cross-attention, and the most focused head
(core/statistics_scope.py), on real head_statistics rows."""
import math

import pytest
import torch

from core.analysis import head_statistics
from core.statistics_scope import (LABELS, POSITIONAL, blank_meaningless, columns, focus_reason,
                                   meaningful, most_focused)


def rows_for():
    """Self-attention (4 × 4) and cross-attention (3 target × 5 source) of one example."""
    g = torch.Generator().manual_seed(0)
    self_w = torch.softmax(torch.randn(2, 4, 4, generator=g), -1)           # (H, T, T)
    cross = torch.softmax(torch.randn(2, 3, 5, generator=g), -1)            # (H, Tt, Ts)
    cross[1] = torch.nn.functional.one_hot(torch.tensor([4, 0, 2]), 5).float() * 0.9 + 0.02
    cross[1] /= cross[1].sum(-1, keepdim=True)                              # head 1: focused
    return head_statistics({"decoder.blocks.0.self_attn": self_w,
                            "decoder.blocks.0.cross_attn": cross})


def test_cross_attention_leaves_out_position_comparisons():
    assert meaningful("self_attn") == list(LABELS)
    cross = meaningful("cross_attn")
    assert not set(POSITIONAL) & set(cross) and {"entropy", "max_weight"} <= set(cross)
    assert set(columns(["cross_attn"])) == set(cross)
    mixed = columns(["self_attn", "cross_attn"])
    assert set(mixed) == set(LABELS)
    assert all("(self only)" in mixed[k][0] for k in POSITIONAL)
    assert columns(["self_attn"]) == LABELS
    with pytest.raises(ValueError):
        meaningful("causal")


def test_blank_meaningless_blanks_cross_rows_only():
    rows = rows_for()
    out = blank_meaningless(rows)
    for before, after in zip(rows, out):
        for k in POSITIONAL:
            if before["kind"] == "cross_attn":
                assert math.isnan(after[k])
            else:
                assert after[k] == before[k]
        assert after["entropy"] == before["entropy"]
    assert not any(math.isnan(r["diagonal"]) for r in rows)      # the input is not changed


def test_most_focused_picks_the_aligning_cross_head():
    rows = rows_for()
    best = most_focused(rows)
    assert (best["module"], best["head"]) == ("decoder.blocks.0.cross_attn", 1)
    assert most_focused(rows, by="entropy_norm")["head"] == 1
    assert most_focused(rows, kind="self_attn")["kind"] == "self_attn"
    assert most_focused([r for r in rows if r["kind"] == "self_attn"]) is None
    text = focus_reason(best)
    assert "layer 0, head 1" in text and "cross-attention" in text and f"{best['max_weight']:.2f}" in text
