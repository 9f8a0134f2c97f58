"""The training engine (core.train.train) on the text tasks, with tiny models to stay fast."""
from __future__ import annotations

import math
import threading

import pytest
import torch

from core.tasks import TASKS
from core.train import lr_at, train

TINY = dict(d_model=16, n_heads=2, n_layers=1, d_ff=32)


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


def tiny(name, seed=0, device="cpu", **overrides):
    torch.manual_seed(seed)
    return TASKS[name].build_model(device=device, **{**TINY, **overrides})


@pytest.mark.parametrize("name", ("sort", "reverse", "addition"))
def test_a_short_run_lowers_the_loss(name, device):
    model = tiny(name, device=device)
    r = train(model, TASKS[name], steps=60, batch_size=64, seed=0, eval_every=0, warmup=10)
    assert r.steps == 60 and r.stopped == "done" and len(r.losses) == 60
    assert all(math.isfinite(v) for v in r.losses)
    first, last = sum(r.losses[:5]) / 5, sum(r.losses[-5:]) / 5
    assert last < 0.9 * first, (first, last)


def test_same_seed_same_losses():
    runs = [train(tiny("sort"), TASKS["sort"], steps=15, batch_size=32, seed=3,
                  eval_every=0).losses for _ in range(2)]
    assert runs[0] == runs[1]
    other = train(tiny("sort"), TASKS["sort"], steps=15, batch_size=32, seed=4,
                  eval_every=0).losses
    assert other != runs[0]


def test_cancel_from_another_thread_stops_between_steps():
    cancel, started, seen = threading.Event(), threading.Event(), []

    def on_step(step, loss, lr):
        seen.append(step)
        started.set()

    out = {}
    worker = threading.Thread(target=lambda: out.setdefault("r", train(
        tiny("sort"), TASKS["sort"], steps=100_000, batch_size=16, eval_every=0,
        callbacks=[{"on_step": on_step}], cancel=cancel)))
    worker.start()
    assert started.wait(60)
    cancel.set()
    worker.join(60)
    assert not worker.is_alive()
    r = out["r"]
    assert r.stopped == "cancelled" and 1 <= r.steps < 100_000
    assert seen == list(range(1, r.steps + 1)) and len(r.losses) == r.steps


def test_cancel_before_start_takes_no_step():
    cancel = threading.Event()
    cancel.set()
    r = train(tiny("sort"), TASKS["sort"], steps=50, cancel=cancel)
    assert r.stopped == "cancelled" and r.steps == 0 and r.losses == []


def test_target_stops_early():
    r = train(tiny("sort"), TASKS["sort"], steps=500, batch_size=32, eval_every=10, eval_n=100,
              target={"token_acc": 0.0})
    assert r.stopped == "target" and r.steps == 10 and len(r.evals) == 1
    r = train(tiny("sort"), TASKS["sort"], steps=25, batch_size=32, eval_every=10, eval_n=100,
              target={"exact": 1.01})
    assert r.stopped == "done" and r.steps == 25
    assert [s for s, _ in r.evals] == [10, 20, 25]


def test_callbacks_receive_steps_losses_rates_and_metrics():
    steps, evals = [], []

    class Recorder:
        def on_step(self, step, loss, lr):
            steps.append((step, loss, lr))

        def on_eval(self, step, metrics):
            evals.append((step, metrics))

    r = train(tiny("reverse"), TASKS["reverse"], steps=12, batch_size=16, eval_every=5,
              eval_n=50, callbacks=Recorder(), warmup=4)
    assert [s for s, _, _ in steps] == list(range(1, 13))
    assert [l for _, l, _ in steps] == r.losses and [lr for _, _, lr in steps] == r.lrs
    assert [s for s, _ in evals] == [5, 10, 12]
    for _, m in evals:
        assert set(m) >= set(TASKS["reverse"].metrics)
        assert all(0.0 <= m[k] <= 1.0 for k in TASKS["reverse"].metrics)
    assert r.metrics == evals[-1][1]


@pytest.mark.parametrize("name", ("sort", "addition"))
def test_snapshots_at_zero_every_n_and_the_end(name):
    model = tiny(name, n_layers=2)
    snaps = []
    r = train(model, TASKS[name], steps=12, batch_size=16, eval_every=0, snapshot_every=5,
              callbacks=[{"on_snapshot": lambda s, a: snaps.append(s)}])
    assert [s for s, _ in r.snapshots] == [0, 5, 10, 12] == snaps
    (probe,), labels = TASKS[name].probe("cpu")
    T = probe.size(1)
    for _, att in r.snapshots:
        assert set(att) == set(model.attention_names())
        for key, w in att.items():
            assert w.shape == (2, T, T) and w.device.type == "cpu"
            assert len(labels[key][0]) == T
    assert not torch.equal(r.snapshots[0][1][model.attention_names()[0]],
                           r.snapshots[-1][1][model.attention_names()[0]])


def test_lr_warms_up_then_decays():
    r = train(tiny("sort"), TASKS["sort"], steps=40, lr=1e-2, batch_size=8, warmup=10,
              eval_every=0)
    lrs = r.lrs
    assert all(a < b for a, b in zip(lrs[:10], lrs[1:10]))
    assert lrs[9] == pytest.approx(1e-2)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    assert lrs[-1] < 0.3e-2 and lrs[-1] >= 0.1e-2 - 1e-12
    assert lr_at(0, 1.0, 10, 100) == pytest.approx(0.1)
    assert lr_at(100, 1.0, 10, 100) == pytest.approx(0.1)


def test_train_rejects_bad_settings():
    with pytest.raises(ValueError):
        train(tiny("sort"), TASKS["sort"], steps=10, lr=-1.0)


class _Scripted(type(TASKS["sort"])):
    """The sort task with scripted evaluations: eval_n examples look perfect, any other count
    looks hopeless, so a run stops at its target only if it never takes a second look."""

    train_defaults = dict(steps=40, lr=3e-3, batch_size=8, warmup=2, eval_every=7, eval_n=33,
                          confirm_n=0)

    def evaluate(self, model, n=2000, seed=1234):
        ok = float(n == self.train_defaults["eval_n"])
        return {"token_acc": ok, "exact": ok}


def test_evaluation_cadence_comes_from_the_task_defaults():
    task = _Scripted()
    r = train(tiny("sort"), task, target={"exact": 2.0})          # unreachable: every eval runs
    assert [s for s, _ in r.evals] == [7, 14, 21, 28, 35, 40]
    r = train(tiny("sort"), task, eval_every=10, target={"exact": 2.0})
    assert [s for s, _ in r.evals] == [10, 20, 30, 40]           # the call overrides them


def test_a_target_met_on_a_small_sample_is_confirmed_before_stopping():
    task = _Scripted()
    r = train(tiny("sort"), task, target={"exact": 0.95})
    assert r.stopped == "target" and r.steps == 7               # no second look: stops at once
    r = train(tiny("sort"), task, target={"exact": 0.95}, confirm_n=500)
    assert r.stopped == "done" and r.steps == 40                # the second look never agrees


def test_parameters_own_their_memory_after_training_even_when_cancelled():
    cancel = threading.Event()
    model = tiny("sort")
    train(model, TASKS["sort"], steps=50, batch_size=8, eval_every=0,
          callbacks=[{"on_step": lambda s, l, r: s == 3 and cancel.set()}], cancel=cancel)
    storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    assert len(storages) == len(list(model.parameters()))    # a checkpoint can be written
    assert all(p.grad is None for p in model.parameters())
