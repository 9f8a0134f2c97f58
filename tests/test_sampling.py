"""core.sampling: the next-token choice, against hand-computed distributions and counted draws."""
from __future__ import annotations

import math

import pytest
import torch

from core.sampling import choose_next, next_token_probs

LOGITS = torch.log(torch.tensor([[0.5, 0.25, 0.15, 0.1]]))        # (1, 4): softmax = these


def test_plain_probabilities_are_the_softmax():
    assert torch.allclose(next_token_probs(LOGITS), torch.tensor([[0.5, 0.25, 0.15, 0.1]]))


def test_temperature_reshapes_by_the_power_one_over_t():
    p = torch.tensor([0.5, 0.25, 0.15, 0.1])
    for t in (0.5, 2.0):
        ref = p ** (1 / t) / (p ** (1 / t)).sum()
        assert torch.allclose(next_token_probs(LOGITS, temperature=t)[0], ref, atol=1e-6)
    with pytest.raises(ValueError):
        next_token_probs(LOGITS, temperature=0)


def test_top_k_keeps_the_k_most_likely_renormalised():
    probs = next_token_probs(LOGITS, top_k=2)[0]
    assert torch.allclose(probs, torch.tensor([2 / 3, 1 / 3, 0.0, 0.0]), atol=1e-6)
    assert torch.allclose(next_token_probs(LOGITS, top_k=99), next_token_probs(LOGITS))


def test_top_p_keeps_the_fewest_tokens_reaching_p():
    # 0.5 < 0.6: the second token is needed; 0.5 + 0.25 >= 0.6: the third is not
    probs = next_token_probs(LOGITS, top_p=0.6)[0]
    assert torch.allclose(probs, torch.tensor([2 / 3, 1 / 3, 0.0, 0.0]), atol=1e-6)
    assert torch.count_nonzero(next_token_probs(LOGITS, top_p=0.4)[0]) == 1
    assert torch.allclose(next_token_probs(LOGITS, top_p=1.0), next_token_probs(LOGITS))


def test_greedy_takes_the_argmax_of_each_row():
    logits = torch.tensor([[0.0, 3.0, 1.0], [5.0, -1.0, 4.9]])
    token, probs = choose_next(logits, greedy=True)
    assert token.tolist() == [1, 0]
    assert torch.allclose(probs.sum(-1), torch.ones(2))


def test_sampling_follows_the_filtered_distribution_and_its_seed():
    g = torch.Generator().manual_seed(0)
    draws = torch.stack([choose_next(LOGITS.expand(500, 4), greedy=False, top_k=2,
                                     generator=g)[0] for _ in range(4)]).flatten()
    counts = torch.bincount(draws, minlength=4).double() / draws.numel()   # 2000 draws
    assert counts[2] == 0 and counts[3] == 0                                # filtered away
    assert abs(float(counts[0]) - 2 / 3) < 4 * math.sqrt(2 / 9 / draws.numel())
    again = [choose_next(LOGITS, greedy=False, generator=torch.Generator().manual_seed(s))[0]
             for s in (5, 5)]
    assert torch.equal(again[0], again[1])
