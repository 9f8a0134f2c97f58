"""Positional-encoding figures: the encoding table, single dimensions as waves, the period of each
dimension, position-position similarity, a RoPE pair rotating, and the order-blindness demo.

The numbers come from the caller (core.positional); these functions only draw.
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.common import DIVERGING_SCALE, HEAD_COLOURS, style, thin_ticks, to_numpy


def _symmetric_range(z: np.ndarray) -> float:
    """1 for values inside [-1, 1] (sin/cos, cosine similarity), else the largest |value|."""
    finite = np.abs(z[np.isfinite(z)])
    m = float(finite.max()) if finite.size else 1.0
    return 1.0 if m <= 1.0 + 1e-6 else m


def _format_period(w: float) -> str:
    return f"{w:.1f}" if w < 1000 else f"{w:,.0f}"


def encoding_heatmap(pe, title: str | None = None, presenter: bool = False):
    """pe (N, D) as a heatmap: positions down, dimensions across, diverging around 0."""
    z = to_numpy(pe).astype(np.float64)
    if z.ndim != 2:
        raise ValueError(f"pe must be (N, D), got {z.shape}")
    N, D = z.shape
    m = _symmetric_range(z)
    fig = go.Figure(go.Heatmap(z=z, x=np.arange(D), y=np.arange(N), colorscale=DIVERGING_SCALE,
                               zmin=-m, zmax=m, zmid=0.0, colorbar=dict(title="value"),
                               hovertemplate="position %{y}, dim %{x}: %{z:.3f}<extra></extra>"))
    yv, yt = thin_ticks(range(N), 24)
    xv, xt = thin_ticks(range(D), 32)
    fig.update_yaxes(title="position", autorange="reversed", tickvals=yv, ticktext=yt)
    fig.update_xaxes(title="dimension", tickvals=xv, ticktext=xt)
    fig.update_layout(title=title or f"positional encoding  ({N}×{D})")
    return style(fig, presenter)


def dimension_curves(pe, dims, wavelengths=None, presenter: bool = False):
    """One line per chosen dimension over positions; the legend names each dim's period."""
    z = to_numpy(pe).astype(np.float64)                                  # (N, D)
    N, D = z.shape
    w = None if wavelengths is None else to_numpy(wavelengths).astype(np.float64).reshape(-1)
    if w is not None and w.size != D:
        raise ValueError(f"{w.size} wavelengths for {D} dimensions")
    fig = go.Figure()
    pos = np.arange(N)
    for k, d in enumerate(int(d) for d in dims):
        if not 0 <= d < D:
            raise ValueError(f"dimension {d} outside 0..{D - 1}")
        name = f"dim {d}" if w is None else f"dim {d} (period {_format_period(w[d])})"
        fig.add_trace(go.Scatter(x=pos, y=z[:, d], mode="lines", name=name,
                                 line=dict(color=HEAD_COLOURS[k % len(HEAD_COLOURS)],
                                           width=3 if presenter else 2)))
    fig.update_xaxes(title="position")
    fig.update_yaxes(title="value")
    fig.update_layout(title="each dimension is a wave over positions", legend=dict(title="dimension"))
    return style(fig, presenter)


def wavelength_plot(wavelengths, presenter: bool = False):
    """Period (in positions) of each dimension on a log axis, with the 2π and 10000·2π bounds."""
    w = to_numpy(wavelengths).astype(np.float64).reshape(-1)             # (D,)
    D = w.size
    dims = np.arange(D)
    fig = go.Figure(go.Scatter(x=dims, y=w, mode="lines+markers", name="period",
                               marker=dict(size=8 if presenter else 5),
                               hovertemplate="dim %{x}: period %{y:,.1f}<extra></extra>"))
    # reference lines as traces: layout shapes on a log axis would need log10 coordinates
    span = np.array([-0.5, D - 0.5])
    for value, label, dash in [(2 * math.pi, "2π ≈ 6.3 (fastest)", "dot"),
                               (10000 * 2 * math.pi, "10000·2π ≈ 62,832 (slowest)", "dash")]:
        fig.add_trace(go.Scatter(x=span, y=np.full(2, value), mode="lines+text", name=label,
                                 text=np.array(["", label]), textposition="top left",
                                 line=dict(color="grey", dash=dash), hoverinfo="skip"))
    fig.update_yaxes(type="log", title="period (positions)")
    fig.update_xaxes(title="dimension")
    fig.update_layout(title="wavelengths form a geometric progression", showlegend=False)
    return style(fig, presenter)


def similarity_heatmap(sim, title: str | None = None, presenter: bool = False):
    """(N, N) similarity of every position with every other, diverging around 0."""
    s = to_numpy(sim).astype(np.float64)
    if s.ndim != 2:
        raise ValueError(f"sim must be (N, N), got {s.shape}")
    m = _symmetric_range(s)
    N = s.shape[0]
    fig = go.Figure(go.Heatmap(z=s, x=np.arange(s.shape[1]), y=np.arange(N),
                               colorscale=DIVERGING_SCALE, zmin=-m, zmax=m, zmid=0.0,
                               colorbar=dict(title="similarity"),
                               hovertemplate="position %{y} · %{x}: %{z:.3f}<extra></extra>"))
    fig.update_yaxes(title="position", autorange="reversed", scaleanchor="x", constrain="domain")
    fig.update_xaxes(title="position", constrain="domain")
    fig.update_layout(title=title or f"position similarity  ({N}×{s.shape[1]})")
    return style(fig, presenter)


def similarity_line(row, position: int, presenter: bool = False):
    """(N,) similarity of one position with all others; the position itself is marked."""
    r = to_numpy(row).astype(np.float64).reshape(-1)                     # (N,)
    if not 0 <= position < r.size:
        raise ValueError(f"position {position} outside 0..{r.size - 1}")
    pos = np.arange(r.size)
    fig = go.Figure([
        go.Scatter(x=pos, y=r, mode="lines", name="similarity",
                   hovertemplate="position %{x}: %{y:.3f}<extra></extra>"),
        go.Scatter(x=np.array([position]), y=r[[position]], mode="markers", name=f"position {position}",
                   marker=dict(size=14 if presenter else 10, color="#d62728", symbol="diamond")),
    ])
    fig.update_xaxes(title="position")
    fig.update_yaxes(title="similarity")
    fig.update_layout(title=f"similarity of position {position} with every position",
                      showlegend=False)
    return style(fig, presenter)


def rope_rotation(q_pairs, positions, presenter: bool = False):
    """One (x_2i, x_2i+1) pair of a rotated query at each position, as points in the plane.

    Lines from the origin show the rotation; the dotted circle shows that the norm is unchanged.
    """
    q = to_numpy(q_pairs).astype(np.float64)                             # (P, 2)
    if q.ndim != 2 or q.shape[1] != 2:
        raise ValueError(f"q_pairs must be (P, 2), got {q.shape}")
    labels = [str(int(p)) for p in to_numpy(positions).reshape(-1)]
    if len(labels) != q.shape[0]:
        raise ValueError(f"{len(labels)} positions for {q.shape[0]} points")
    P = q.shape[0]
    seg = np.full((P, 3, 2), np.nan)                                     # (P, 3, 2): 0 -> q, gap
    seg[:, 0] = 0.0
    seg[:, 1] = q
    seg = seg.reshape(-1, 2)                                             # (3P, 2)
    radius = float(np.linalg.norm(q, axis=1).mean()) if P else 1.0
    t = np.linspace(0, 2 * math.pi, 121)
    fig = go.Figure([
        go.Scatter(x=radius * np.cos(t), y=radius * np.sin(t), mode="lines", name="|q|",
                   line=dict(color="lightgrey", dash="dot"), hoverinfo="skip"),
        go.Scatter(x=seg[:, 0], y=seg[:, 1], mode="lines", name="rotation",
                   line=dict(color="#9aa5b1", width=1), hoverinfo="skip"),
        go.Scatter(x=q[:, 0], y=q[:, 1], mode="markers+text", name="positions",
                   text=np.array(labels), textposition="top center",
                   marker=dict(size=12 if presenter else 8, color=np.arange(P),
                               colorscale="Viridis", showscale=False),
                   hovertemplate="position %{text}<br>(%{x:.3f}, %{y:.3f})<extra></extra>"),
    ])
    lim = 1.2 * max(radius, float(np.abs(q).max(initial=0.0)), 1e-9)
    fig.update_xaxes(range=[-lim, lim], zeroline=True, title="x₂ᵢ", constrain="domain")
    fig.update_yaxes(range=[-lim, lim], zeroline=True, title="x₂ᵢ₊₁", scaleanchor="x",
                     scaleratio=1, constrain="domain")
    fig.update_layout(title="RoPE rotates each pair by p·θ; the length stays the same",
                      showlegend=False)
    return style(fig, presenter)


def order_demo(out_plain, out_shuffled_unpermuted, labels, presenter: bool = False):
    """Two (T, D) outputs side by side: without positions, shuffling the input only shuffles the
    output, so un-shuffling gives back the original exactly."""
    a = to_numpy(out_plain).astype(np.float64)                           # (T, D)
    b = to_numpy(out_shuffled_unpermuted).astype(np.float64)             # (T, D)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"need two (T, D) arrays of the same shape, got {a.shape} and {b.shape}")
    T, D = a.shape
    labels = [str(s) for s in labels]
    if len(labels) != T:
        raise ValueError(f"{len(labels)} labels for {T} rows")
    diff = float(np.abs(a - b).max()) if a.size else 0.0
    m = max(float(np.abs(np.concatenate([a.ravel(), b.ravel()])).max(initial=0.0)), 1e-12)
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=["original order", "shuffled, then un-shuffled"])
    for k, z in enumerate([a, b]):
        fig.add_trace(go.Heatmap(z=z, x=np.arange(D), y=np.arange(T), coloraxis="coloraxis",
                                 customdata=np.repeat(np.array(labels, dtype=object)[:, None], D, 1),
                                 hovertemplate="%{customdata}, dim %{x}: %{z:.3f}<extra></extra>"),
                      row=1, col=k + 1)
    yv, yt = thin_ticks(labels, 32)
    fig.update_yaxes(autorange="reversed", tickvals=yv, ticktext=yt)
    fig.update_xaxes(title="dimension")
    fig.update_layout(coloraxis=dict(colorscale=DIVERGING_SCALE, cmin=-m, cmax=m),
                      title=f"max |difference| = {diff:.2e}")
    return style(fig, presenter)
