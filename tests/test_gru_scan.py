"""core/models/gru_scan.py against torch's own GRU (packed rows, GRUCell), and the attention's
context (core/models/rnn_ops.py) against a plain batched product: the same values and
gradients, by faster routes."""
from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from core.models import gru_scan as gs
from core.models.rnn_ops import SharedOperand


def _case(bidirectional: bool, seed: int = 0):
    torch.manual_seed(seed)
    gru = torch.nn.GRU(5, 4, batch_first=True, bidirectional=bidirectional)
    x = torch.randn(4, 7, 5, requires_grad=True)                         # (B, T, E)
    lengths = torch.tensor([7, 3, 1, 5])
    keep = torch.arange(7)[None] < lengths[:, None]                       # (B, T)
    return gru, x, keep, lengths


def _torch_packed(gru, x, lengths):
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    return pad_packed_sequence(gru(packed)[0], batch_first=True, total_length=x.size(1))[0]


@pytest.mark.parametrize("bidirectional", [True, False])
def test_scan_equals_torch_gru_over_packed_rows_with_gradients(bidirectional):
    gru, x, keep, lengths = _case(bidirectional)
    ref = _torch_packed(gru, x, lengths)                                  # (B, T, D·H)
    got = gs.gru_scan(gru, x, keep)
    torch.testing.assert_close(got, ref, atol=1e-6, rtol=1e-5)
    assert got[~keep].abs().max() == 0                                    # zeros at padding
    probe = torch.randn_like(ref)
    params = [x] + list(gru.parameters())
    g_ref = torch.autograd.grad((ref * probe).sum(), params)
    g_got = torch.autograd.grad((got * probe).sum(), params)
    for a, b in zip(g_got, g_ref):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_run_gru_scans_under_gradients_and_packs_without(monkeypatch):
    gru, x, keep, lengths = _case(True)
    calls = []
    for name in ("gru_scan", "packed_gru"):
        real = getattr(gs, name)
        monkeypatch.setattr(gs, name, lambda *a, _r=real, _n=name: calls.append(_n) or _r(*a))
    trained = gs.run_gru(gru, x, keep)
    with torch.no_grad():
        evaluated = gs.run_gru(gru, x, keep)
    assert calls == ["gru_scan", "packed_gru"]
    torch.testing.assert_close(trained.detach(), evaluated, atol=1e-6, rtol=1e-5)


def test_gru_update_is_torch_gru_cell():
    torch.manual_seed(1)
    cell = torch.nn.GRUCell(6, 3)
    x, h = torch.randn(5, 6), torch.randn(5, 3)
    gi = x @ cell.weight_ih.T + cell.bias_ih
    gh = h @ cell.weight_hh.T + cell.bias_hh
    torch.testing.assert_close(gs.gru_update(gi, gh, h), cell(x, h), atol=1e-6, rtol=1e-5)


def test_reversed_in_place_reverses_real_steps_only():
    keep = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    rev = gs.reversed_in_place(keep)
    assert rev.tolist() == [[2, 1, 0, 3], [0, 1, 2, 3], [3, 2, 1, 0]]
    assert torch.equal(rev.gather(1, rev), torch.arange(4).expand(3, 4))  # its own inverse


def test_scan_refuses_what_it_does_not_implement():
    with pytest.raises(ValueError):
        gs.gru_scan(torch.nn.GRU(3, 2, num_layers=2, batch_first=True),
                    torch.zeros(1, 2, 3), torch.ones(1, 2, dtype=torch.bool))


def test_shared_operand_gives_the_plain_products_gradients():
    """Three steps of c_i = α_i·memory, each α_i depending on the memory and on the previous
    context (as in the decoder); one step's context unused: the same gradients as torch.bmm."""
    torch.manual_seed(2)
    memory = torch.randn(3, 6, 4, dtype=torch.float64, requires_grad=True)   # (B, Ts, M)
    q = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)

    def run(use_box):
        box = SharedOperand() if use_box else None
        source = box.track(memory) if use_box else memory
        c, outs = q, []
        for i in range(3):
            alpha = torch.softmax((memory @ c[..., None])[..., 0], -1)       # (B, Ts)
            prod = box.product if use_box else torch.bmm
            c = prod(alpha[:, None], source)[:, 0]                         # (B, M)
            outs.append(c if i != 1 else c.detach())                     # step 1 feeds on only
        return sum((o * (k + 1)).sum() for k, o in enumerate(outs)) + (c ** 2).sum()

    ref = torch.autograd.grad(run(False), [memory, q])
    got = torch.autograd.grad(run(True), [memory, q])
    for a, b in zip(got, ref):
        torch.testing.assert_close(a, b)


def test_a_training_step_leaves_nothing_behind(monkeypatch):
    """After a step's backward pass and once its loss is dropped, no SharedOperand (nor the
    graph it served) stays alive: the model's encoder and decoder each use one per step. A
    box that kept its inputs with their graphs formed a cycle through autograd's C++ graph
    that Python's collector cannot free (~3 MB leaked per dates_rnn training step)."""
    import gc
    import weakref

    from core.tasks import TASKS
    task = TASKS["dates_rnn"]
    model = task.build_model(d_emb=8, d_hidden=16, d_attn=16).train()
    made = []
    real_init = SharedOperand.__init__

    def init(self):
        real_init(self)
        made.append(weakref.ref(self))

    monkeypatch.setattr(SharedOperand, "__init__", init)
    batch = task.batch(8, torch.Generator().manual_seed(0), "cpu", n_dates=2)
    task.loss(model, batch).backward()
    gc.collect()
    assert len(made) == 2 and all(ref() is None for ref in made)
