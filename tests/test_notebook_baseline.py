"""bench/notebook_baseline.py: the lecture notebook's sorting model, our speed yardstick."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import notebook_baseline as nb  # noqa: E402


def test_batches_are_the_notebooks_problem():
    gen = torch.Generator().manual_seed(0)
    pos = torch.rand(nb.MAX_LEN, nb.CLASSES, generator=gen)
    x, y = nb.notebook_batch(2000, gen, pos)
    B, T, C = x.shape
    assert (B, C) == (2000, 10) and y.shape == (B, T) and T == nb.MAX_LEN - 1
    one_hot = x - pos[:T]                                                # (B, T, 10)
    assert torch.allclose(one_hot.sum(-1), torch.ones(B, T))             # one class per place
    ids = one_hot.argmax(-1)                                             # (B, T)
    lengths = (ids != 0).sum(1)
    assert set(lengths.tolist()) == set(range(nb.MAX_LEN))              # 0..19 digits
    assert ((ids != 0).int().diff(dim=1) <= 0).all()                     # padding at the end
    for row_x, row_y, n in zip(ids[:200].tolist(), y[:200].tolist(), lengths[:200].tolist()):
        assert row_y == sorted(row_x[:n]) + [0] * (T - n)
        assert all(1 <= d <= 9 for d in row_x[:n])


def test_model_is_three_post_ln_blocks_of_sixteen_heads():
    model = nb.NotebookSorter()
    assert len(model.blocks) == 3
    block = model.blocks[0]
    assert block.attn.num_heads == 16 and block.attn.embed_dim == 32
    assert sum(isinstance(m, torch.nn.LayerNorm) for m in block.modules()) == 1
    probs = model(torch.rand(4, 7, 10))                                  # (B, T, 10)
    assert torch.allclose(probs.sum(-1), torch.ones(4, 7), atol=1e-6)   # softmax outputs



def test_a_short_run_is_reproducible_and_scored(one_thread):
    a = nb.train_notebook(steps=30, seed=3, device="cpu", eval_n=300)
    b = nb.train_notebook(steps=30, seed=3, device="cpu", eval_n=300)
    assert a["steps"] == 30 and a["device"].startswith("CPU")
    assert (a["token_acc"], a["exact"]) == (b["token_acc"], b["exact"])
    # 30 steps in, the model still answers mostly "padding": scored on the real positions only,
    # that is near 0 (it would be about half if padding counted); exact ~ the empty sequences
    assert 0.0 <= a["token_acc"] < 0.5 and a["exact"] < 0.2
