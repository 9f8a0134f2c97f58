"""The task contract (core/tasks/base.py), checked on every registered task: each test is
parametrised over core.tasks.TASKS, so a new task file (or one registered through ATTNVIZ_TASKS)
is checked without editing a list. Task-specific behaviour stays in tests/test_tasks_*.py.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.checkpoints import load_checkpoint
from core.decode import DecodeSetup, decode_trace
from core.models import MODELS, build_model
from core.tasks import TASKS
from core.tasks.base import FixedExamples, Inspection, ZooRecipe

ROOT = Path(__file__).resolve().parents[1]
ALL = pytest.mark.parametrize("task", list(TASKS.values()), ids=list(TASKS))


def tiny(task, seed=0, n_layers=1):
    torch.manual_seed(seed)
    return build_model(task.small_config(layers=n_layers)).eval()


def first_example(task):
    return task.parse(task.examples[0])


@ALL
def test_declares_what_the_pages_need(task):
    assert TASKS[task.name] is task and task.title and task.description
    assert task.kind in MODELS and task.max_input_len > 0 and isinstance(task.input_label, str)
    assert task.examples, "the pages offer example buttons"
    for text in task.examples:
        task.parse(text)                                   # every example parses
    with pytest.raises(ValueError):
        task.parse("")                                     # an empty box is a message


@ALL
def test_inspect_fills_the_typed_inspection(task):
    model = tiny(task)
    example = first_example(task)
    ins = task.inspect(model, example, return_scores=True)
    assert isinstance(ins, Inspection) and ins.prediction is not None
    assert set(ins.attention) == set(model.attention_names())
    for name, w in ins.attention.items():
        H, Tq, Tk = w.shape                                # (H, Tq, Tk)
        assert H == model.cfg.n_heads
        q, k = ins.labels[name]
        assert (len(q), len(k)) == (Tq, Tk)
        assert torch.allclose(w.sum(-1), torch.ones(H, Tq), atol=1e-4)
        assert ins.scores[name].shape == w.shape
        assert ins.masks[name] is None or ins.masks[name].shape == w.shape
    if ins.probs is not None and ins.classes is not None:
        assert ins.probs.shape[-1] == len(ins.classes)
        assert torch.allclose(ins.probs.sum(-1), torch.ones(ins.probs.shape[:-1]), atol=1e-4)
    assert ins.expected == task.answer(example)
    if ins.expected is not None:                           # comparable with the prediction
        assert type(ins.expected) is type(ins.prediction)


@ALL
def test_a_head_mask_changes_what_the_model_computes(task):
    model = tiny(task)
    example = first_example(task)
    off = {n: torch.zeros(model.cfg.n_heads) for n in model.attention_names()}
    a, b = task.inspect(model, example), task.inspect(model, example, head_mask=off)
    first = model.attention_names()[-1]
    changed = [not torch.equal(a.attention[n], b.attention[n]) for n in a.attention if n != first]
    assert a.prediction != b.prediction or any(changed) or (
        a.probs is not None and not torch.allclose(a.probs, b.probs))


@pytest.mark.parametrize("task", [t for t in TASKS.values() if t.fixed_examples()],
                         ids=[n for n, t in TASKS.items() if t.fixed_examples()])
def test_fixed_examples_are_numbered_and_answered(task):
    fixed = task.fixed_examples()
    assert isinstance(fixed, FixedExamples) and len(fixed) > 0
    for i in (0, len(fixed) - 1):
        text = fixed.input(i)
        assert fixed.number(text) == i
        task.parse(text)
        assert task.answer(text) == fixed.expected(i) is not None
    with pytest.raises(ValueError):
        fixed.input(len(fixed))


@ALL
def test_step_by_step_decoding_where_the_task_has_it(task):
    example = first_example(task)
    if not task.decodes:
        with pytest.raises(ValueError):
            task.decoding_setup(example)
        return
    setup = task.decoding_setup(example)
    assert isinstance(setup, DecodeSetup)
    trace = decode_trace(tiny(task, n_layers=2), setup)
    assert 1 <= len(trace.steps) <= setup.max_new_tokens


@ALL
@pytest.mark.parametrize("layers", [1, 3])
def test_probe_labels_cover_every_attention_module(task, layers):
    if not task.trains:
        pytest.skip(f"{task.name} has no training data, so no training snapshots")
    model = tiny(task, n_layers=layers)
    labels = task.probe_labels(model)
    assert list(labels) == list(model.attention_names())
    inputs, _ = task.probe("cpu")
    with torch.no_grad():
        att = model(*inputs, return_attention=True).attention
    for name, w in att.items():                                          # (1, H, Tq, Tk)
        q, k = labels[name]
        assert w.shape[-2:] == (len(q), len(k)), name


@ALL
def test_training_contract(task):
    if not task.trains:
        pytest.skip(f"{task.name} has no training data")
    assert set(task.bar) <= set(task.metrics) and set(task.target) <= set(task.metrics)
    assert set(task.lower_is_better) <= set(task.metrics)
    recipe = task.zoo_recipe
    assert isinstance(recipe, ZooRecipe) and (recipe.steps is None or recipe.steps >= 1)
    task.make_config(recipe.preset, **recipe.overrides)                 # a valid architecture
    model = task.build_model()
    assert model.kind == task.kind and model.num_parameters() * 4 < 2 * 2**20
    small = tiny(task).train()
    batch = task.batch(4, torch.Generator().manual_seed(0), "cpu")
    loss = task.loss(small, batch)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in small.parameters())
    metrics = task.evaluate(small.eval(), n=8, seed=0)
    assert set(task.metrics) <= set(metrics)


@ALL
def test_the_shipped_checkpoint_meets_its_bar_on_fresh_examples(task):
    path = ROOT / "checkpoints" / f"{task.name}.safetensors"
    if not path.exists():
        pytest.skip(f"no shipped checkpoint for {task.name}")
    assert path.stat().st_size <= 2 * 2**20
    model, info = load_checkpoint(path, "cpu")
    assert info["task"] == task.name and model.kind == task.kind
    assert task.meets_bar(info["metrics"]), info["metrics"]
    metrics = task.evaluate(model, n=400, seed=777)
    assert task.meets_bar(metrics), metrics
