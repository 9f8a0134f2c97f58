"""Positional-encoding figures: the encoding table, single dimensions as waves, the period of each
dimension, position-position similarity, a RoPE pair rotating, and the order-blindness demo.

The numbers come from the caller (core.positional); these functions only draw.
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz import sizing
from viz.common import column, decade_ticks, style, thin_ticks, to_numpy
from viz.maps import square_map
from viz.theme import diverging_scale, line_colours, sizes, weight_scale


def _symmetric_range(z: np.ndarray) -> float:
    """1 for values inside [-1, 1] (sin/cos, cosine similarity), else the largest |value|."""
    finite = np.abs(z[np.isfinite(z)])
    m = float(finite.max()) if finite.size else 1.0
    return 1.0 if m <= 1.0 + 1e-6 else m


def _format_period(w: float) -> str:
    return f"{w:.1f}" if w < 1000 else f"{w:,.0f}"


def _axis_step(n: int, span_px: float, presenter: bool, longest: str | None = None) -> int:
    """Every k-th of n labels spread over span_px so none overlap: labels side by side need
    the width of the longest (x axis), stacked ones a line height (longest=None, y axis)."""
    s = sizes(presenter)
    need = sizing.line_px(s.tick) if longest is None else sizing.text_px(longest, s.tick)
    return sizing.label_step(max(span_px, 1.0) / max(n, 1), need)


def encoding_heatmap(pe, title: str | None = None, presenter: bool = False, *,
                     dark: bool = False, width: int | None = None):
    """pe (N, D) as a heatmap: positions down, dimensions across, diverging around 0.
    width: the px the figure gets (default: the mode's content width), to thin labels."""
    z = to_numpy(pe).astype(np.float64)
    if z.ndim != 2:
        raise ValueError(f"pe must be (N, D), got {z.shape}")
    N, D = z.shape
    m = _symmetric_range(z)
    fig = go.Figure(go.Heatmap(z=z, x=np.arange(D), y=np.arange(N),
                               colorscale=diverging_scale(dark), zmin=-m, zmax=m, zmid=0.0,
                               colorbar=sizing.colorbar_spec(presenter, "value"),
                               hovertemplate="position %{y}, dim %{x}: %{z:.3f}<extra></extra>"))
    W = sizing.content_width(presenter=presenter) if width is None else int(width)
    height = 520 if presenter else 440
    plot_w = W - 120 - sizing.colorbar_px(presenter)
    yv, yt = thin_ticks(range(N), step=_axis_step(N, height - 160, presenter))
    xv, xt = thin_ticks(range(D), step=_axis_step(D, plot_w, presenter, str(D - 1)))
    fig.update_yaxes(title="position", autorange="reversed", tickvals=yv, ticktext=yt)
    fig.update_xaxes(title="dimension", tickvals=xv, ticktext=xt)
    fig.update_layout(title=title or f"positional encoding  ({N}×{D})")
    return style(fig, presenter, dark=dark, height=height, wrap_to=W)


def dimension_curves(pe, dims, wavelengths=None, presenter: bool = False, *,
                     dark: bool = False, width: int | None = None):
    """One line per chosen dimension over positions; the legend names each dim's period.

    The legend sits below the plot, in as many rows as the entries need at width (default:
    half the mode's content width, the page's column), and the figure grows by those rows: it
    never takes width or height from the waves.
    """
    z = to_numpy(pe).astype(np.float64)                                  # (N, D)
    N, D = z.shape
    w = None if wavelengths is None else to_numpy(wavelengths).astype(np.float64).reshape(-1)
    if w is not None and w.size != D:
        raise ValueError(f"{w.size} wavelengths for {D} dimensions")
    fig = go.Figure()
    pos = np.arange(N)
    colours = line_colours(dark)
    names = []
    for k, d in enumerate(int(d) for d in dims):
        if not 0 <= d < D:
            raise ValueError(f"dimension {d} outside 0..{D - 1}")
        name = f"dim {d}" if w is None else f"dim {d} (period {_format_period(w[d])})"
        names.append(name)
        fig.add_trace(go.Scatter(x=pos, y=z[:, d], mode="lines", name=name,
                                 line=dict(color=colours[k % len(colours)],
                                           width=3 if presenter else 2)))
    fig.update_xaxes(title="position")
    fig.update_yaxes(title="value")
    s = sizes(presenter)
    W = sizing.content_width(presenter=presenter) // 2 if width is None else int(width)
    entry = max((sizing.text_px(n, s.legend) for n in names), default=0.0) + 50  # symbol + pad
    per_row = max(1, int((W - 20) // entry))
    rows = -(-len(names) // per_row)
    legend_h = int(rows * sizing.line_px(s.legend) * 1.15 + 10)
    x_h = int(sizing.line_px(s.tick) + sizing.line_px(s.axis_title) + 16)
    fig.update_layout(title="each dimension is a wave over positions",
                      legend=dict(orientation="h", x=0, y=0, yref="container", yanchor="bottom",
                                  entrywidth=int(entry), entrywidthmode="pixels"))
    plot_h = 300 if presenter else 240
    style(fig, presenter, dark=dark, height=plot_h + x_h + legend_h + 70, wrap_to=W)
    return fig.update_layout(margin=dict(b=x_h + legend_h))


def wavelength_plot(wavelengths, presenter: bool = False, *, dark: bool = False,
                    width: int | None = None):
    """Period (in positions) of each dimension on a log axis with one tick per decade, and two
    reference lines: the fastest period (2π, pair 0) and the slowest one this d actually has,
    that of its last dimension pair, 2π·10000^(2i/d) (< 10000·2π, which no finite d reaches)."""
    w = to_numpy(wavelengths).astype(np.float64).reshape(-1)             # (D,)
    D = w.size
    dims = np.arange(D)
    fig = go.Figure(go.Scatter(x=dims, y=w, mode="lines+markers", name="period",
                               marker=dict(size=9 if presenter else 5),
                               line=dict(color=line_colours(dark)[0]),
                               hovertemplate="dim %{x}: period %{y:,.1f}<extra></extra>"))
    # reference lines as traces: layout shapes on a log axis would need log10 coordinates
    span = np.array([-0.5, D - 0.5])
    slow, last = float(w.max()), 2 * ((D - 1) // 2)
    fast = float(w.min())
    refs = [(fast, f"fastest: 2π ≈ {_format_period(fast)}", f"fastest ≈ {_format_period(fast)}", "dot")]
    if D > 2:
        refs.append((slow, f"slowest: 2π·10000^({last}/{D}) ≈ {_format_period(slow)}",
                     f"slowest ≈ {_format_period(slow)}", "dash"))
    for value, name, label, dash in refs:                # short text: it fits a half column
        fig.add_trace(go.Scatter(x=span, y=np.full(2, value), mode="lines+text", name=name,
                                 text=np.array([label, ""]), textposition="top right",
                                 textfont=dict(size=sizes(presenter).tick),
                                 line=dict(color="grey", dash=dash), hoverinfo="skip"))
    lo, hi = float(w.min()), float(w.max())
    vals, text = decade_ticks(lo, hi * 3)
    fig.update_yaxes(type="log", title="period (positions)", tickmode="array", tickvals=vals,
                     ticktext=text, range=[math.log10(vals[0]), math.log10(hi) + 0.45],
                     minor=dict(showgrid=False, ticks=""))
    fig.update_xaxes(title="dimension")
    fig.update_layout(title="wavelengths form a geometric progression", showlegend=False)
    return style(fig, presenter, dark=dark, height=440 if presenter else 360,
                 wrap_to=column(width, presenter, 0.5))


def similarity_heatmap(sim, title: str | None = None, presenter: bool = False, *,
                       dark: bool = False, width: int | None = None,
                       max_height: int | None = None):
    """(N, N) similarity of every position with every other, diverging around 0, square cells
    sized for width (default: half the mode's content width, the page's column)."""
    s = to_numpy(sim).astype(np.float64)
    if s.ndim != 2:
        raise ValueError(f"sim must be (N, N), got {s.shape}")
    m = _symmetric_range(s)
    N, M = s.shape
    fig = go.Figure(go.Heatmap(z=s, x=np.arange(M), y=np.arange(N),
                               colorscale=diverging_scale(dark), zmin=-m, zmax=m, zmid=0.0,
                               hovertemplate="position %{y} · %{x}: %{z:.3f}<extra></extra>"))
    W = sizing.content_width(presenter=presenter) // 2 if width is None else int(width)
    square_map(fig, N, M, range(N), range(M), title or f"position similarity  ({N}×{M})",
               presenter, dark, W, max_height, axis_titles=("position", "position"),
               colorbar_title="similarity")
    return fig


def similarity_line(row, position: int, presenter: bool = False, *, dark: bool = False,
                    width: int | None = None):
    """(N,) similarity of one position with all others; the position itself is marked."""
    r = to_numpy(row).astype(np.float64).reshape(-1)                     # (N,)
    if not 0 <= position < r.size:
        raise ValueError(f"position {position} outside 0..{r.size - 1}")
    pos = np.arange(r.size)
    fig = go.Figure([
        go.Scatter(x=pos, y=r, mode="lines", name="similarity",
                   line=dict(color=line_colours(dark)[0], width=3 if presenter else 2),
                   hovertemplate="position %{x}: %{y:.3f}<extra></extra>"),
        go.Scatter(x=np.array([position]), y=r[[position]], mode="markers", name=f"position {position}",
                   marker=dict(size=14 if presenter else 10, color="#d62728", symbol="diamond")),
    ])
    fig.update_xaxes(title="position")
    fig.update_yaxes(title="similarity")
    fig.update_layout(title=f"similarity of position {position} with every position",
                      showlegend=False)
    return style(fig, presenter, dark=dark, height=440 if presenter else 360,
                 wrap_to=column(width, presenter, 0.5))


def rope_rotation(q_pairs, positions, presenter: bool = False, *, dark: bool = False,
                  width: int | None = None):
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
                   textfont=dict(size=sizes(presenter).tick),
                   marker=dict(size=12 if presenter else 8, color=np.arange(P),
                               colorscale=weight_scale(False, dark), showscale=False),
                   hovertemplate="position %{text}<br>(%{x:.3f}, %{y:.3f})<extra></extra>"),
    ])
    lim = 1.2 * max(radius, float(np.abs(q).max(initial=0.0)), 1e-9)
    fig.update_xaxes(range=[-lim, lim], zeroline=True, title="x₂ᵢ", constrain="domain")
    fig.update_yaxes(range=[-lim, lim], zeroline=True, title="x₂ᵢ₊₁", scaleanchor="x",
                     scaleratio=1, constrain="domain")
    fig.update_layout(title="RoPE rotates each pair by p·θ; the length stays the same",
                      showlegend=False)
    return style(fig, presenter, dark=dark, height=520 if presenter else 440,
                 wrap_to=column(width, presenter, 2 / 3))


def order_demo(out_plain, out_shuffled_unpermuted, labels, presenter: bool = False, *,
               dark: bool = False, width: int | None = None):
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
    height = 440 if presenter else 360
    yv, yt = thin_ticks(labels, step=_axis_step(T, height - 150, presenter))
    fig.update_yaxes(autorange="reversed", tickvals=yv, ticktext=yt)
    fig.update_xaxes(title="dimension")
    fig.update_layout(coloraxis=dict(colorscale=diverging_scale(dark), cmin=-m, cmax=m,
                                     colorbar=sizing.colorbar_spec(presenter, "value")),
                      title=f"max |difference| = {diff:.2e}")
    style(fig, presenter, dark=dark, height=height, wrap_to=column(width, presenter, 0.5))
    # the subplot titles sit on the plots, in the top margin: make room for them under the
    # title (which plotly centres in that margin)
    room = 2 * int(sizing.line_px(sizes(presenter).subtitle) + 4)
    return fig.update_layout(margin_t=fig.layout.margin.t + room, height=height + room)
