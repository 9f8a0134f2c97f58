"""Properties of the user-input parsers: every task's parse, the model-name check, the training
command line's --target and --set. Any input -> a valid value or ValueError with a message.

"Valid" is checked by using the value: what a task's parse accepts, its shipped model can
inspect (and step through, for tasks with decoding) - so no page refuses an input another
accepts, and no accepted input fails later.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from core.checkpoints import load_checkpoint
from core.tasks import TASKS
from properties import NASTY, PROPERTY, outcome, texts

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
TEXT_TASKS = sorted(n for n, t in TASKS.items() if t.kind != "vit")
VISION_TASKS = sorted(n for n, t in TASKS.items() if t.kind == "vit")
OTHER_VALUES = st.one_of(st.none(), st.integers(), st.floats(), st.binary(max_size=20),
                         st.lists(st.integers(-2, 12), max_size=30), st.booleans())


@functools.lru_cache(maxsize=None)
def model_for(name: str):
    """The task's shipped model (an untrained one where none ships), loaded once."""
    torch.manual_seed(0)
    path = CHECKPOINTS / f"{name}.safetensors"
    model = load_checkpoint(path, "cpu")[0] if path.exists() else TASKS[name].build_model()
    return model.eval()


def _use(task, value):
    """What a page does with an accepted input; must not raise."""
    inspection = task.inspect(model_for(task.name), value)
    assert inspection.attention, "no attention recorded"
    for w in inspection.attention.values():
        assert torch.isfinite(w).all()
    if task.decodes:
        task.decoding_setup(value)


@pytest.mark.parametrize("name", TEXT_TASKS)
@PROPERTY
@given(text=texts())
def test_task_parse_text(name, text):
    task = TASKS[name]
    value = outcome(task.parse, text)
    if value is not None:
        _use(task, value)


@pytest.mark.parametrize("name", sorted(TASKS))
@PROPERTY
@given(value=OTHER_VALUES)
def test_task_parse_refuses_non_text_cleanly(name, value):
    task = TASKS[name]
    got = outcome(task.parse, value)
    if got is not None:
        _use(task, got)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_example_button_parses_and_runs(name):
    """The inputs the app offers as buttons are accepted and usable (not a property, but the
    anchor that keeps the properties above from passing by refusing everything)."""
    task = TASKS[name]
    for example in task.examples:
        _use(task, task.parse(example))


def _images():
    """Arrays of every dtype a caller might pass, of good and bad shapes, NaN/inf included."""
    dtypes = st.sampled_from([np.uint8, np.int64, np.float32, np.float64, np.bool_, np.int8])
    shapes = st.one_of(st.tuples(st.integers(0, 30), st.integers(0, 30)),
                       st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(1, 5)),
                       hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6))
    return st.tuples(dtypes, shapes).flatmap(lambda ds: hnp.arrays(ds[0], ds[1]))


@pytest.mark.parametrize("name", VISION_TASKS)
@PROPERTY
@given(image=_images())
def test_vision_parse_images(name, image):
    task = TASKS[name]
    value = outcome(task.parse, image)
    if value is not None:
        assert value.shape == (task.image_size, task.image_size) and value.dtype == np.float32
        assert np.isfinite(value).all() and value.min() >= 0 and value.max() <= 1
        _use(task, value)


@pytest.mark.parametrize("name", VISION_TASKS)
@PROPERTY
@given(text=st.one_of(texts(), st.integers(0, 10 ** 7).map(lambda n: f"sample {n}"),
                      st.sampled_from(["sample", "sample -1", "sample 1e3", "SAMPLE 3 "])))
def test_vision_parse_text(name, text):
    task = TASKS[name]
    value = outcome(task.parse, text)
    if value is not None:
        _use(task, value)


# ----------------------------------------------------------------------------- names, CLI
from core import naming  # noqa: E402  (the check moved from ui/ to core/)


@PROPERTY
@given(name=st.one_of(st.text(max_size=60), st.sampled_from(NASTY), OTHER_VALUES,
                      st.from_regex(r"[A-Za-z0-9_-]{0,45}", fullmatch=True)))
def test_model_name_check(name):
    value = outcome(naming.check_name, name, reserved=("sort", "dates"))
    if value is not None:
        assert naming.NAME_RE.fullmatch(value) and value.lower() not in ("sort", "dates")
        assert "/" not in value and "." not in value and value == value.strip()


def _cli():
    from core.train_cli import CLIError, parse_overrides, parse_target
    return CLIError, parse_target, parse_overrides


@pytest.mark.parametrize("name", sorted(TASKS))
@PROPERTY
@given(text=st.one_of(texts(), st.lists(st.tuples(
    st.sampled_from(["exact", "token_acc", "mse", "accuracy", "x", ""]),
    st.one_of(st.sampled_from(NASTY), st.floats().map(repr))), max_size=4).map(
        lambda kv: ",".join(f"{k}={v}" for k, v in kv))))
def test_cli_target(name, text):
    CLIError, parse_target, _ = _cli()
    task = TASKS[name]
    # a terminal, not a page: the message may quote the whole argument back
    value = outcome(parse_target, text, task, allowed=(CLIError, ValueError), max_message=None)
    if value is not None:
        assert set(value) <= set(task.metrics)
        assert all(isinstance(v, float) for v in value.values())


@PROPERTY
@given(text=st.one_of(texts(), st.lists(st.tuples(
    st.sampled_from(["d_model", "pos", "n_heads", "dropout", "x", "", " "]),
    st.sampled_from(NASTY + ["none", "rope", "64", "0.1"])), max_size=4).map(
        lambda kv: ",".join(f"{k}={v}" for k, v in kv))))
def test_cli_overrides_then_config(text):
    CLIError, _, parse_overrides = _cli()
    value = outcome(parse_overrides, text, allowed=(CLIError, ValueError), max_message=None)
    if value is not None:
        assert all(isinstance(k, str) and k == k.strip() and k for k in value)
        # what main() does next: the task's config with these fields, or a ValueError/TypeError
        try:
            TASKS["sort"].make_config(None, **value)
        except (ValueError, TypeError) as e:
            assert str(e).strip() and not re.search(r"Traceback", str(e))
