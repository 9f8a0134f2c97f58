"""core.optim.FlatAdamW: the same arithmetic as torch.optim.AdamW + clip_grad_norm_, on one buffer."""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from core.optim import FlatAdamW
from core.tasks import TASKS

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(d_model=16, n_heads=2, n_layers=1, d_ff=32)


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


def _as_double(batch: dict) -> dict:
    return {k: v.double() if v.is_floating_point() else v for k, v in batch.items()}


@pytest.mark.parametrize("name", ("sort", "dates", "addition"))
def test_matches_torch_adamw_with_clipping_in_float64(name):
    """Fifteen steps with changing learning rates and a clip that bites: the parameters agree
    with torch.optim.AdamW (weight decay on matrices only) + clip_grad_norm_ to 1e-10."""
    task = TASKS[name]
    torch.manual_seed(0)
    ours = task.build_model(**SMALL).double()
    ref = copy.deepcopy(ours)
    opt = FlatAdamW(ours, weight_decay=0.05)
    ref_opt = torch.optim.AdamW(
        [{"params": [p for p in ref.parameters() if p.dim() >= 2], "weight_decay": 0.05},
         {"params": [p for p in ref.parameters() if p.dim() < 2], "weight_decay": 0.0}])
    gen = torch.Generator().manual_seed(1)
    clipped = 0
    for step in range(15):
        batch = _as_double(task.batch(16, gen, "cpu"))
        lr = 3e-3 * (1 + step % 3)
        opt.zero_grad()
        task.loss(ours, batch).backward()
        norm = opt.clip(0.5)
        opt.step(lr)
        ref_opt.zero_grad()
        task.loss(ref, batch).backward()
        ref_norm = torch.nn.utils.clip_grad_norm_(ref.parameters(), 0.5)
        for group in ref_opt.param_groups:
            group["lr"] = lr
        ref_opt.step()
        assert float(norm) == pytest.approx(float(ref_norm), rel=1e-9)
        clipped += float(ref_norm) > 0.5
    assert clipped >= 3                                   # the clip was exercised
    for (n, p), q in zip(ours.named_parameters(), ref.parameters()):
        assert torch.allclose(p, q, atol=1e-10, rtol=0), n
    moved = max(float((p - q).detach().abs().max()) for p, q in zip(
        ours.parameters(), copy.deepcopy(task.build_model(**SMALL)).double().parameters()))
    assert moved > 1e-3                                   # and training did change them


def test_parameters_share_one_buffer_until_released():
    torch.manual_seed(0)
    model = TASKS["sort"].build_model(**SMALL)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = FlatAdamW(model)
    for n, p in model.named_parameters():
        assert torch.equal(p, before[n])                  # packing keeps the values
        assert p.untyped_storage().data_ptr() == opt.flat.untyped_storage().data_ptr()
        assert p.grad.untyped_storage().data_ptr() == opt.grad.untyped_storage().data_ptr()
    opt.release()
    storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    assert len(storages) == len(list(model.parameters()))
    assert all(p.grad is None for p in model.parameters())


def test_gradients_accumulate_into_the_flat_buffer():
    torch.manual_seed(0)
    task = TASKS["sort"]
    model = task.build_model(**SMALL)
    opt = FlatAdamW(model)
    batch = task.batch(8, torch.Generator().manual_seed(0), "cpu")
    task.loss(model, batch).backward()
    once = opt.grad.clone()
    assert once.abs().sum() > 0
    task.loss(model, batch).backward()
    assert torch.allclose(opt.grad, 2 * once, atol=1e-6)   # added in place, not replaced
    opt.zero_grad()
    assert not opt.grad.any()


def test_training_never_imports_torch_dynamo():
    """torch.optim's first optimizer imports torch._dynamo (1.3-1.6 s here): ours must not."""
    code = ("import sys, torch; from core.tasks import TASKS; from core.train import train; "
            "torch.manual_seed(0); t = TASKS['sort']; "
            "train(t.build_model(d_model=16, n_heads=2, n_layers=1), t, steps=3, "
            "batch_size=8, eval_every=0, eval_n=8); "
            "print('torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"
