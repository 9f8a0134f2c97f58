"""Figure builders of the attention-math page: viz/mathview.py."""
import base64
import json
import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from viz.mathview import cost_figure, fit_quadratic, matrix_figure


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def _strict_json(fig) -> dict:
    """fig.to_json() parsed as strict JSON: Infinity / NaN literals are an error."""
    def refuse(name):
        raise ValueError(f"non-JSON constant {name}")
    return json.loads(fig.to_json(), parse_constant=refuse)


def _decode(arr) -> np.ndarray:
    """A serialised plotly array: a plain list or a base64 typed array."""
    if isinstance(arr, dict):
        flat = np.frombuffer(base64.b64decode(arr["bdata"]), dtype=arr["dtype"])
        return flat.reshape([int(n) for n in arr["shape"].split(",")]) if "shape" in arr else flat
    return np.asarray(arr, dtype=float)


def _values(fig):
    return next(t for t in fig.data if t.name == "values")


def test_matrix_figure_writes_rounded_values(rng):
    M = rng.standard_normal((3, 4))
    fig = matrix_figure(M, ["a", "b", "c"], ["w", "x", "y", "z"], "Q")
    hm = _values(fig)
    np.testing.assert_allclose(hm.z, M)
    assert hm.texttemplate == "%{text}"
    for (i, j), v in np.ndenumerate(M):
        assert hm.text[i, j] == f"{v:.2f}"
        assert float(hm.text[i, j]) == pytest.approx(v, abs=0.005)
    assert fig.layout.title.text == "Q  (3×4)"
    assert list(fig.layout.yaxis.ticktext) == ["a", "b", "c"]
    assert list(fig.layout.xaxis.ticktext) == ["w", "x", "y", "z"]


def test_matrix_figure_decimals_and_no_negative_zero():
    M = np.array([[0.123456, -0.0001], [1.5, 2.0]])
    hm = _values(matrix_figure(M, "ab", "cd", "M", decimals=3))
    assert [list(r) for r in hm.text] == [["0.123", "0.000"], ["1.500", "2.000"]]


def test_matrix_figure_masked_cells_are_json_safe(rng):
    scores = rng.standard_normal((4, 4)) / math.sqrt(8)
    scores[np.triu_indices(4, 1)] = -np.inf                  # causal mask
    fig = matrix_figure(torch.tensor(scores), list("abcd"), list("abcd"), "E = QKᵀ/√d")
    assert fig.layout.title.text == "E = QKᵀ/√d  (4×4)"
    hm = _values(fig)
    z = np.asarray(hm.z, dtype=float)
    assert not np.isinf(z).any()
    masked = np.isinf(scores)
    assert np.isnan(z[masked]).all()
    np.testing.assert_allclose(z[~masked], scores[~masked])
    assert all(hm.text[i, j] == "−∞" for i, j in zip(*np.nonzero(masked)))
    (grey,) = [t for t in fig.data if t.name == "masked"]
    gz = np.asarray(grey.z, dtype=float)
    assert np.array_equal(~np.isnan(gz), masked)            # grey exactly on the masked cells
    assert all(grey.text[i, j] == "−∞" for i, j in zip(*np.nonzero(masked)))
    for trace in _strict_json(fig)["data"]:
        z = _decode(trace["z"])
        assert z.shape == (4, 4) and not np.isinf(z).any()


def test_matrix_figure_colour_scale_choice(rng):
    probs = rng.dirichlet(np.ones(5), size=5)                # softmax rows, all >= 0
    hm = _values(matrix_figure(probs, range(5), range(5), "A", zmin=0, zmax=1))
    assert (hm.zmin, hm.zmax) == (0, 1)
    signed = rng.standard_normal((2, 2))
    hm = _values(matrix_figure(signed, "ab", "cd", "S"))
    assert hm.zmin == pytest.approx(-np.abs(signed).max()) and hm.zmax == -hm.zmin
    hm = _values(matrix_figure(signed, "ab", "cd", "S", colorscale="Greens"))
    assert hm.colorscale[0][1] != _values(matrix_figure(signed, "ab", "cd", "S")).colorscale[0][1]


def test_matrix_figure_duplicate_labels_keep_rows(rng):
    M = rng.random((3, 2))
    fig = matrix_figure(M, ["the", "cat", "the"], ["x", "y"], "V")
    np.testing.assert_array_equal(_values(fig).y, [0, 1, 2])
    assert list(fig.layout.yaxis.ticktext) == ["the", "cat", "the"]
    with pytest.raises(ValueError):
        matrix_figure(M, ["a", "b"], ["x", "y"], "V")


def test_fit_is_least_squares(rng):
    N = np.array([64, 128, 256, 512, 1024, 2048])
    y = 3e-9 * N ** 2 * rng.uniform(0.8, 1.25, N.size) + 1e-4
    c = fit_quadratic(N, y)
    n2 = N.astype(float) ** 2
    assert c == pytest.approx(np.sum(y * n2) / np.sum(n2 ** 2))
    # any other c gives a larger squared error
    err = lambda k: np.sum((y - k * n2) ** 2)                # noqa: E731
    assert err(c) < err(c * 1.01) and err(c) < err(c * 0.99)
    assert fit_quadratic(N, 5e-7 * N ** 2) == pytest.approx(5e-7)


def test_cost_figure_reference_is_quadratic_and_on_scale(rng):
    N = np.array([32, 64, 128, 256, 512, 1024])
    secs = 2e-8 * N ** 2 * rng.uniform(0.9, 1.1, N.size)
    mb = 4 * N ** 2 / 2 ** 20 * rng.uniform(0.95, 1.05, N.size)
    fig = cost_figure(N, secs, mb)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert fig.layout.xaxis2.type == "log" and fig.layout.yaxis2.type == "log"
    refs = [t for t in fig.data if t.name.startswith("∝ N²")]
    data = [t for t in fig.data if t.name in ("time", "memory")]      # the measurements
    assert len(refs) == 2 and len(data) == 2
    for ref, measured, y in zip(refs, data, [secs, mb]):
        assert ref.line.dash == "dash"
        assert ref.xaxis == measured.xaxis
        ratio = np.asarray(ref.y) / np.asarray(ref.x) ** 2
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)       # exactly c·N²
        assert ratio[0] == pytest.approx(fit_quadratic(N, y))
        assert ref.x[0] == pytest.approx(N.min()) and ref.x[-1] == pytest.approx(N.max())
        # passes through the data's scale: within the noise of every measured point
        fitted = ratio[0] * N.astype(float) ** 2
        assert np.all(np.abs(np.log(fitted / y)) < np.log(1.3))
        np.testing.assert_allclose(measured.y, y)
    _strict_json(fig)


def test_cost_figure_time_only_and_out_of_memory_gaps(rng):
    N = np.array([16, 32, 64, 128])
    secs = np.array([1e-5, 4e-5, 1.6e-4, np.nan])            # the last length ran out of memory
    fig = cost_figure(torch.tensor(N), secs)
    assert "xaxis2" not in fig.layout.to_plotly_json()
    assert [t.name for t in fig.data][:2] == ["time", "∝ N² (time)"]
    ref = fig.data[1]
    assert np.asarray(ref.y)[0] / ref.x[0] ** 2 == pytest.approx(1e-5 / 256)
    assert np.isfinite(np.asarray(ref.y)).all()
    _strict_json(fig)
    with pytest.raises(ValueError):
        cost_figure(N, secs[:3])


def test_mathview_presenter_mode(rng):
    for fig in [matrix_figure(rng.random((2, 2)), "ab", "cd", "K", presenter=True),
                cost_figure([8, 16], [1.0, 4.0], presenter=True)]:
        assert fig.layout.font.size == 20
        _strict_json(fig)
    assert isinstance(matrix_figure(rng.random(3), ["q"], "abc", "q").data[0], go.Heatmap)
