"""Attention-math figures: small labelled matrices with their values written in the cells
(Q, K, V, QKᵀ/√d, softmax, output), and the measured cost of attention against sequence length.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.common import ATTENTION_SCALE, DIVERGING_SCALE, PRESENTER_SCALE, style, to_numpy

MASK_GREY = "#c8c8c8"


def _cell_text(M: np.ndarray, decimals: int) -> np.ndarray:
    """(r, c) strings: each value rounded, −∞ / +∞ / NaN spelled out."""
    text = np.empty(M.shape, dtype=object)                               # (r, c)
    for idx, v in np.ndenumerate(M):
        if np.isnan(v):
            text[idx] = "NaN"
        elif np.isinf(v):
            text[idx] = "−∞" if v < 0 else "+∞"
        else:
            s = f"{v:.{decimals}f}"
            text[idx] = s[1:] if s.startswith("-") and float(s) == 0 else s   # no "-0.00"
    return text


def matrix_figure(M, row_labels, col_labels, title: str, presenter: bool = False,
                  zmin: float | None = None, zmax: float | None = None,
                  colorscale=None, decimals: int = 2):
    """A small heatmap of M (r, c) with each value written in its cell.

    Masked cells (−∞, or any non-finite value) are drawn grey with their symbol and never reach
    plotly's z as inf, so the figure serialises to JSON. Rows/columns are placed by index, so
    repeated labels (the same token twice) keep their own row.
    """
    A = to_numpy(M).astype(np.float64)
    if A.ndim == 1:
        A = A[None, :]                                                   # (c,) -> (1, c)
    if A.ndim != 2:
        raise ValueError(f"M must be a matrix, got shape {A.shape}")
    r, c = A.shape
    rows, cols = [str(s) for s in row_labels], [str(s) for s in col_labels]
    if len(rows) != r or len(cols) != c:
        raise ValueError(f"{len(rows)}×{len(cols)} labels for a {r}×{c} matrix")
    finite = np.isfinite(A)
    z = np.where(finite, A, np.nan)                                      # (r, c), no inf
    vals = A[finite]
    signed = vals.size > 0 and vals.min() < 0
    if colorscale is None:
        colorscale = DIVERGING_SCALE if signed else (PRESENTER_SCALE if presenter else ATTENTION_SCALE)
    if signed and zmin is None and zmax is None:
        m = float(np.abs(vals).max())
        zmin, zmax = -m, m
    text = _cell_text(A, decimals)
    font = dict(size=18 if presenter else 12)
    x, y = np.arange(c), np.arange(r)
    traces = [go.Heatmap(z=z, x=x, y=y, text=text, texttemplate="%{text}", textfont=font,
                         colorscale=colorscale, zmin=zmin, zmax=zmax, xgap=1, ygap=1,
                         customdata=text, name="values",
                         hovertemplate="row %{y}, col %{x}: %{customdata}<extra></extra>")]
    if not finite.all():
        masked = np.where(finite, np.nan, 0.0)                           # (r, c): 0 where masked
        traces.append(go.Heatmap(z=masked, x=x, y=y, text=np.where(finite, "", text),
                                 texttemplate="%{text}", textfont=dict(font, color="#333333"),
                                 colorscale=[[0, MASK_GREY], [1, MASK_GREY]], showscale=False,
                                 xgap=1, ygap=1, name="masked", hoverinfo="skip"))
    fig = go.Figure(traces)
    fig.update_xaxes(tickvals=list(x), ticktext=cols, side="top", showgrid=False, zeroline=False)
    fig.update_yaxes(tickvals=list(y), ticktext=rows, autorange="reversed", showgrid=False,
                     zeroline=False)
    fig.update_layout(title=f"{title}  ({r}×{c})")
    cell = 46 if presenter else 34
    return style(fig, presenter, height=int(min(700, max(180, cell * r + 120))))


def fit_quadratic(lengths, values) -> float:
    """Least-squares c in values ≈ c·N² over the finite, positive measurements."""
    N = to_numpy(lengths).astype(np.float64).reshape(-1)
    y = to_numpy(values).astype(np.float64).reshape(-1)
    ok = np.isfinite(N) & np.isfinite(y) & (y > 0)
    if not ok.any():
        return float("nan")
    n2 = N[ok] ** 2
    return float((n2 @ y[ok]) / (n2 @ n2))                               # argmin Σ(y − cN²)²


def _measure_traces(N, y, c, name, unit, colour, presenter):
    pos = N[np.isfinite(N) & (N > 0)]
    grid = np.geomspace(pos.min(), pos.max(), 50) if pos.size else np.zeros(0)   # (50,)
    size = 11 if presenter else 8
    data = go.Scatter(x=N, y=y, mode="lines+markers", name=name, line=dict(color=colour),
                      marker=dict(size=size),
                      hovertemplate=f"N = %{{x}}: %{{y:.3g}} {unit}<extra></extra>")
    ref = go.Scatter(x=grid, y=c * grid ** 2, mode="lines", name=f"∝ N² ({name})",
                     line=dict(color="grey", dash="dash"), hoverinfo="skip")
    return data, ref


def cost_figure(lengths, seconds, megabytes=None, presenter: bool = False):
    """Measured time (and memory) vs sequence length on log-log axes, with a least-squares
    c·N² reference curve drawn dashed. Non-finite measurements (e.g. out of memory: NaN) are
    drawn as gaps and left out of the fit."""
    N = to_numpy(lengths).astype(np.float64).reshape(-1)                 # (L,)
    s = to_numpy(seconds).astype(np.float64).reshape(-1)                 # (L,)
    if s.size != N.size:
        raise ValueError(f"{s.size} timings for {N.size} lengths")
    panels = [("time", s, "s", "#1f77b4", "seconds")]
    if megabytes is not None:
        mb = to_numpy(megabytes).astype(np.float64).reshape(-1)          # (L,)
        if mb.size != N.size:
            raise ValueError(f"{mb.size} memory values for {N.size} lengths")
        panels.append(("memory", mb, "MB", "#ff7f0e", "megabytes"))
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels],
                        horizontal_spacing=0.12)
    for k, (name, y, unit, colour, axis_title) in enumerate(panels):
        c = fit_quadratic(N, y)
        for trace in _measure_traces(N, y, c, name, unit, colour, presenter):
            fig.add_trace(trace, row=1, col=k + 1)
        fig.update_xaxes(type="log", title="sequence length N", row=1, col=k + 1)
        fig.update_yaxes(type="log", title=axis_title, row=1, col=k + 1)
    fig.update_layout(title="attention cost grows like N²", legend=dict(orientation="h", y=-0.25))
    return style(fig, presenter)
