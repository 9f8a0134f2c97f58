"""The sine forecast chart (viz/decoding.py forecast_figure): a plotly figure, no None gaps."""
import json

import numpy as np
import pytest

from viz.decoding import MIN_FORECAST_HEIGHT, forecast_figure


def test_series_sit_on_their_own_t_with_no_gaps_and_the_forecast_joins_the_input():
    t = np.arange(40) / 5
    inputs, truth = np.sin(t[:30]), np.sin(t[30:])
    pred, base = truth + 0.01, np.sin(t[30 - 12:40 - 12])
    fig = forecast_figure(inputs, pred, truth, base, baseline_name="repeat last period (12)",
                          presenter=True)
    by = {tr.name: tr for tr in fig.data}
    assert set(by) == {"input", "forecast", "truth", "repeat last period (12)"}
    np.testing.assert_array_equal(by["input"].x, np.arange(30))
    np.testing.assert_allclose(by["input"].y, inputs)
    np.testing.assert_array_equal(by["truth"].x, np.arange(30, 40))
    np.testing.assert_allclose(by["repeat last period (12)"].y, base)
    np.testing.assert_array_equal(by["forecast"].x, np.arange(29, 40))     # from the last input
    np.testing.assert_allclose(by["forecast"].y, np.r_[inputs[-1], pred])
    for tr in fig.data:                                 # Vega's "Infinite extent" came from None
        assert np.isfinite(np.asarray(tr.y, dtype=float)).all()
    assert fig.layout.height >= MIN_FORECAST_HEIGHT >= 300
    json.loads(fig.to_json())


@pytest.mark.parametrize("presenter", [False, True])
def test_forecast_while_stepping_and_without_truth(presenter):
    fig = forecast_figure([0.0, 0.5, 1.0], [0.7], presenter=presenter, height=120)
    assert [tr.name for tr in fig.data] == ["input", "forecast"]
    assert fig.layout.height >= 300                                       # never squashed
    assert list(fig.data[1].x) == [2, 3]
    empty = forecast_figure([0.0, 1.0], [], None, None)
    assert [tr.name for tr in empty.data] == ["input"]
