"""Hard attention (core/hard_attention.py) and the soft-versus-hard figure (viz/hard_attention.py)."""
import numpy as np
import pytest
import torch

from core.hard_attention import hard_attention
from viz.hard_attention import soft_vs_hard


def test_argmax_picks_the_largest_weight_per_row():
    w = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25], [0.3, 0.3, 0.4]])
    index, one_hot = hard_attention(w)
    assert index.tolist() == [1, 0, 2]
    np.testing.assert_array_equal(one_hot.numpy(), np.eye(3)[[1, 0, 2]])
    index, _ = hard_attention(torch.tensor([[0.4, 0.4, 0.2]]))        # a tie: the first
    assert index.tolist() == [0]


def test_samples_follow_the_weights_and_repeat_with_the_seed():
    p = torch.tensor([0.1, 0.6, 0.3])
    rows = p.expand(20_000, 3)
    index, one_hot = hard_attention(rows, mode="sample", seed=5)
    freq = np.bincount(index.numpy(), minlength=3) / index.numel()
    np.testing.assert_allclose(freq, p.numpy(), atol=0.015)          # ~4.5 standard errors
    assert torch.equal(hard_attention(rows, mode="sample", seed=5)[0], index)
    assert not torch.equal(hard_attention(rows, mode="sample", seed=6)[0], index)
    assert torch.equal(one_hot.sum(-1), torch.ones(20_000))
    # an unnormalised row samples the same as its normalised form; zero weight is never drawn
    idx, _ = hard_attention(torch.tensor([[0.0, 3.0, 1.0]]).expand(2000, 3), mode="sample")
    assert (idx != 0).all()


def test_batched_shapes_and_bad_input():
    w = torch.rand(2, 4, 5, 9)                                         # (B, H, Tq, N)
    index, one_hot = hard_attention(w)
    assert index.shape == (2, 4, 5) and one_hot.shape == w.shape
    assert torch.equal(index, w.argmax(-1))
    for bad in (torch.zeros(2, 3), torch.tensor([[-0.1, 1.1]]), torch.tensor([[float("nan"), 1]]),
                torch.zeros(2, 0)):
        with pytest.raises(ValueError):
            hard_attention(bad)
    with pytest.raises(ValueError):
        hard_attention(torch.rand(2, 3), mode="gumbel")


def test_soft_vs_hard_figure_lights_only_the_picked_patch():
    rng = np.random.default_rng(0)
    img, p = rng.random((16, 16)), 4                                   # a 4×4 patch grid
    soft = rng.random((3, 16))
    soft /= soft.sum(-1, keepdims=True)
    index, _ = hard_attention(torch.tensor(soft))
    fig = soft_vs_hard(img, soft, index, p, presenter=True)
    heats = [t for t in fig.data if t.name == "attention"]
    assert len(heats) == 6                                             # soft and hard per head
    for h in range(3):
        hard = np.asarray(heats[2 * h + 1].z)                           # (16, 16) pixels
        lit = np.argwhere(hard > 0)
        r, c = divmod(int(index[h]), 4)
        assert lit[:, 0].min() == r * p and lit[:, 0].max() == r * p + p - 1
        assert lit[:, 1].min() == c * p and lit[:, 1].max() == c * p + p - 1
        np.testing.assert_allclose(np.asarray(heats[2 * h].z)[::p, ::p], soft[h].reshape(4, 4))
    assert len(fig.layout.shapes) == 3                                # one outline per head
    texts = {a.text for a in fig.layout.annotations}
    assert {"head 0", "head 1", "head 2"} <= texts
    with pytest.raises(ValueError):
        soft_vs_hard(img, soft, [0, 1], p)
    with pytest.raises(ValueError):
        soft_vs_hard(img, soft, [0, 1, 16], p)
