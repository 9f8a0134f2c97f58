"""Unit tests of the training-curve figure (viz/training.py)."""
import json

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from viz.common import log_ticks
from viz.training import training_curves


def test_loss_on_log_axis_and_metrics_on_unit_range():
    rng = np.random.default_rng()
    steps = np.arange(50)
    losses = np.exp(-steps / 20) + rng.random(50) * 0.01
    metrics = {"accuracy": [0.1, 0.5, 0.9], "exact match": [0.0, 0.2, 0.7]}
    fig = training_curves(steps, losses, [0, 25, 49], metrics)
    assert all(isinstance(t, go.Scatter) for t in fig.data)
    loss, acc, exact = fig.data
    np.testing.assert_array_equal(loss.x, steps)
    np.testing.assert_array_equal(loss.y, losses)
    assert loss.xaxis == "x" and acc.xaxis == "x2" and exact.xaxis == "x2"
    assert fig.layout.yaxis.type == "log"
    assert tuple(fig.layout.yaxis2.range)[0] == 0 and tuple(fig.layout.yaxis2.range)[1] <= 1.05
    assert (acc.name, exact.name) == ("accuracy", "exact match")
    np.testing.assert_array_equal(acc.x, [0, 25, 49])
    np.testing.assert_array_equal(exact.y, [0.0, 0.2, 0.7])
    json.loads(fig.to_json())


@pytest.mark.parametrize("metrics", [None, {}, {"accuracy": []}])
def test_empty_inputs_give_an_empty_figure(metrics):
    fig = training_curves([], [], [], metrics)
    assert len(fig.data[0].x) == 0 and len(fig.data[0].y) == 0
    assert all(len(t.x) == 0 for t in fig.data)
    assert fig.layout.yaxis.type == "log"
    json.loads(fig.to_json())


def test_tensors_and_non_positive_losses_dropped_from_log_axis():
    fig = training_curves(torch.arange(4), torch.tensor([1.0, 0.0, float("nan"), 0.5]),
                          presenter=True)
    np.testing.assert_array_equal(fig.data[0].x, [0, 3])
    np.testing.assert_array_equal(fig.data[0].y, [1.0, 0.5])
    assert fig.layout.font.size > 12


def test_metrics_without_eval_steps_use_indices_and_mismatch_raises():
    fig = training_curves([0, 1], [1.0, 0.9], metrics={"acc": [0.2, 0.4, 0.6]})
    np.testing.assert_array_equal(fig.data[1].x, [0, 1, 2])
    with pytest.raises(ValueError):
        training_curves([0, 1, 2], [1.0, 0.9])
    with pytest.raises(ValueError):
        training_curves([0], [1.0], eval_steps=[0], metrics={"acc": [0.1, 0.2]})


@pytest.mark.parametrize("lo, hi", [(1.85, 2.1), (1e-4, 3.0), (0.5, 0.52), (2.3, 2.31),
                                    (1.0, 1.0001), (0.01, 0.9), (7.0, 70.0)])
def test_log_ticks_are_in_range_distinct_and_a_fifth_of_the_span_apart(lo, hi):
    values, labels = log_ticks(lo, hi)
    assert len(values) >= 3 and len(set(labels)) == len(labels)
    assert all(lo <= v <= hi for v in values)
    assert [float(t) for t in labels] == pytest.approx(values, rel=1e-9)
    gaps = np.diff(np.log10(values))
    assert gaps.min() >= (np.log10(hi) - np.log10(lo)) / 5 * 0.999


def test_loss_axis_ticks_follow_the_data_on_a_narrow_range():
    """A loss between 1.85 and 2.05 (plotly's own ticks put '1.9' a few pixels from '2')."""
    losses = np.linspace(2.05, 1.85, 40)
    fig = training_curves(np.arange(40), losses, presenter=True)
    lo, hi = fig.layout.yaxis.range
    ticks = list(fig.layout.yaxis.tickvals)
    assert 10 ** lo <= 1.85 and 10 ** hi >= 2.05
    assert all(10 ** lo <= t <= 10 ** hi for t in ticks) and len(ticks) >= 3
    assert np.diff(np.log10(ticks)).min() >= (hi - lo) / 5 * 0.999
