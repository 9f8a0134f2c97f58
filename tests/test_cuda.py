"""On CUDA, training, decoding and attention stay on the device (skipped without a GPU).

What a silent CPU fallback or a hidden host transfer would break: every parameter, gradient,
batch, KV cache, attention weight and mask lives on the GPU; and a training step reads exactly
one number back to the host (the loss, for the progress display) beyond what the model's own
forward reads. The read counter is also run on the CPU, where it checks the same bookkeeping.
"""
from __future__ import annotations

import contextlib

import pytest
import torch

import core.train
from core.tasks import TASKS
from core.train import train

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
SMALL = dict(d_model=16, n_heads=2, n_layers=2)
_READS = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__")


@contextlib.contextmanager
def host_reads(device: torch.device, skip=()):
    """Count calls that bring a tensor on `device` to the host (item, tolist, cpu, bool(), ...),
    except while inside one of the `skip` (object, method name) pairs."""
    counts, depth, saved = [], [0], []

    def counting(name, orig):
        def wrapper(self, *args, **kwargs):
            if depth[0] == 0 and self.device.type == device.type:
                counts.append(name)
            return orig(self, *args, **kwargs)
        return wrapper

    def muted(orig):
        def wrapper(*args, **kwargs):
            depth[0] += 1
            try:
                return orig(*args, **kwargs)
            finally:
                depth[0] -= 1
        return wrapper

    for name in _READS:
        saved.append((torch.Tensor, name, torch.Tensor.__dict__.get(name)))
        setattr(torch.Tensor, name, counting(name, getattr(torch.Tensor, name)))
    for obj, name in skip:
        saved.append((obj, name, obj.__dict__.get(name)))
        setattr(obj, name, muted(getattr(obj, name)))
    try:
        yield counts
    finally:
        for obj, name, orig in reversed(saved):
            if orig is None:
                delattr(obj, name)
            else:
                setattr(obj, name, orig)


def _tensors(batch: dict) -> list:
    return [v for v in batch.values() if isinstance(v, torch.Tensor)]


def _model(name, device):
    torch.manual_seed(0)
    over = SMALL if TASKS[name].kind != "vit" else dict(d_model=16, n_heads=2, n_layers=1)
    return TASKS[name].build_model(device=device, **over)


def _reads_per_step(name, device, steps=6):
    """(reads during `steps` training steps, data generation and the final evaluation left out;
    reads of the model's own forward, loss and backward on the same batches)."""
    task = TASKS[name]
    device = torch.device(device)
    model = _model(name, device)
    with host_reads(device, skip=[(task, "batch"), (core.train, "evaluate")]) as during:
        train(model, task, steps=steps, batch_size=8, eval_every=0, warmup=1)
    gen = torch.Generator().manual_seed(0)
    batches = [task.batch(8, gen, device) for _ in range(steps)]
    with host_reads(device) as alone:
        for b in batches:
            task.loss(model, b).backward()
    return len(during), len(alone)


@pytest.mark.parametrize("name", ("sort", "dates", "sine", "shapes"))
def test_a_training_step_reads_only_the_loss_on_the_cpu(name):
    during, alone = _reads_per_step(name, "cpu")
    assert during - alone == 6                           # one float(loss) a step


@CUDA
@pytest.mark.parametrize("name", ("sort", "reverse", "addition", "dates", "sine", "digits",
                                  "shapes"))
def test_a_training_step_reads_only_the_loss_on_cuda(name):
    during, alone = _reads_per_step(name, "cuda")
    assert during - alone == 6, (during, alone)


@CUDA
@pytest.mark.parametrize("name", ("sort", "reverse", "dates", "sine", "shapes"))
def test_training_keeps_everything_on_the_gpu(name):
    task, cuda = TASKS[name], torch.device("cuda")
    model = _model(name, cuda)
    seen = []

    def on_step(step, loss, lr):
        assert isinstance(loss, float)
        seen.append(all(p.device.type == "cuda" and p.grad is not None
                        and p.grad.device.type == "cuda" for p in model.parameters()))

    r = train(model, task, steps=5, batch_size=8, eval_every=5, eval_n=16, snapshot_every=5,
              callbacks=[{"on_step": on_step}])
    assert r.steps == 5 and seen == [True] * 5
    assert all(p.device.type == "cuda" for p in model.parameters())
    assert all(p.grad is None for p in model.parameters())        # released after training
    b = task.batch(4, torch.Generator().manual_seed(0), cuda)
    assert all(t.device.type == "cuda" for t in _tensors(b))
    assert r.evals and all(torch.isfinite(torch.tensor(float(v))) for v in r.metrics.values())
    assert all(w.device.type == "cpu" for _, att in r.snapshots for w in att.values())  # for the UI


@CUDA
@pytest.mark.parametrize("name", ("sort", "reverse", "dates", "sine", "shapes"))
def test_a_forward_with_attention_stays_on_the_gpu(name):
    task, cuda = TASKS[name], torch.device("cuda")
    model = _model(name, cuda).eval()
    inputs, _ = task.probe(cuda)
    with torch.no_grad():
        out = model(*inputs, return_attention=True, return_scores=True)
    assert out.logits.device.type == "cuda"
    for store in (out.attention, out.scores):
        assert store and all(w.device.type == "cuda" for w in store.values())
    assert all(m is None or m.device.type == "cuda" for m in out.masks.values())


@CUDA
def test_decoding_keeps_the_kv_cache_on_the_gpu():
    cuda = torch.device("cuda")
    rev, dates = TASKS["reverse"], TASKS["dates"]
    model = _model("reverse", cuda).eval()
    prompt = torch.tensor([rev.prompt_ids("31415")], device=cuda)             # (1, T0)
    cache = model.new_cache()
    with torch.no_grad():
        model(prompt, cache=cache)
        model(prompt[:, -1:], cache=cache)
    assert all(c.k.device.type == "cuda" and c.v.device.type == "cuda" for c in cache)
    gen = model.generate(prompt, 4, return_attention=True)
    assert gen.tokens.device.type == "cuda"
    assert all(w.device.type == "cuda" for step in gen.steps for w in step.values())
    s2s = _model("dates", cuda).eval()
    src = dates.encode(["22 Nov 2026"], cuda)                                 # (1, Ts)
    out = s2s.generate(src, 1, 5, return_attention=True)
    assert out.tokens.device.type == "cuda"
    assert all(w.device.type == "cuda" for step in out.steps for w in step.values())
    assert isinstance(dates.predict(s2s, ["22 Nov 2026"])[0], str)
    assert len(rev.predict(model, ["31415"])) == 1
