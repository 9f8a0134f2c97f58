"""Attention-math figures: small labelled matrices with their values written in the cells
(Q, K, V, QKᵀ/√d, softmax, output), and the measured cost of attention against sequence length.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dataclasses import dataclass

from viz import sizing
from viz.common import decade_ticks, style, to_numpy
from viz.theme import (diverging_scale, line_colours, palette, sizes, title_margin,
                       weight_scale)

MASK_GREY = "#c8c8c8"
MAX_CELL = 96.0             # px: a small matrix in a wide column stays a readable table


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


def fit_decimals(M: np.ndarray, cell_px: float, font_px: float, decimals: int) -> int | None:
    """The most decimals (at most `decimals`) whose longest cell text fits cell_px at font_px
    (estimated, with 8 px to spare), or None when not even whole numbers fit."""
    for d in range(decimals, -1, -1):
        longest = max((len(t) for t in _cell_text(M, d).ravel()), default=1)
        if sizing.text_px("0" * longest, font_px) + 8 <= cell_px:
            return d
    return None


def matrices_per_row(n_cols, width: int | None = None, presenter: bool = False,
                     text: str = "−0.0", gap: int = 16) -> int:
    """How many matrices of n_cols columns (a list, one per matrix) fit side by side in width
    (default: the mode's content width) with each cell wide enough to write `text` ("−0.00":
    two decimals) at the mode's cell font. At least 1."""
    s = sizes(presenter)
    W = sizing.content_width(presenter=presenter) if width is None else int(width)
    need = sizing.text_px(text, s.cell) + 8
    label = sizing.text_px("t00", s.tick) + 24                       # row labels and padding
    for k in range(len(n_cols), 0, -1):
        per = (W - (k - 1) * gap) / k
        if all((per - label) / max(int(c), 1) >= need for c in n_cols[:k]):
            return k
    return 1


def matrix_figure(M, row_labels, col_labels, title: str, presenter: bool = False,
                  zmin: float | None = None, zmax: float | None = None,
                  colorscale=None, decimals: int = 2, *, dark: bool = False,
                  width: int | None = None):
    """A small heatmap of M (r, c) with each value written in its cell.

    width: the px the figure gets (its page column). The cells share it; each value is written
    with as many decimals (up to `decimals`) as fit its cell at the mode's cell font, none when
    not even whole numbers fit (then the title says "values on hover"). Without width, cells
    are as wide as `decimals` needs and the figure takes the page's width. Column labels sit below the matrix, the title (wrapped to the width)
    above it. Masked cells (−∞, or any non-finite value) are drawn grey with their symbol and
    never reach plotly's z as inf, so the figure serialises to JSON. Rows/columns are placed by
    index, so repeated labels (the same token twice) keep their own row.
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
        colorscale = diverging_scale(dark) if signed else weight_scale(presenter, dark)
    if signed and zmin is None and zmax is None:
        m = float(np.abs(vals).max())
        zmin, zmax = -m, m
    s = sizes(presenter)
    left = int(max(sizing.text_px(t, s.tick) for t in rows) + 12)
    need = sizing.text_px("0" * max(len(t) for t in _cell_text(A, decimals).ravel()), s.cell) + 8
    cell = need if width is None else min(max(8.0, (int(width) - left - 12) / c), MAX_CELL)
    shown = fit_decimals(A, cell, s.cell, decimals)
    text = _cell_text(A, decimals if shown is None else shown)
    font = dict(size=s.cell)
    x, y = np.arange(c), np.arange(r)
    traces = [go.Heatmap(z=z, x=x, y=y, text=text if shown is not None else None,
                         texttemplate="%{text}" if shown is not None else None, textfont=font,
                         colorscale=colorscale, zmin=zmin, zmax=zmax, xgap=1, ygap=1,
                         customdata=_cell_text(A, max(decimals, 3)), name="values",
                         showscale=False,
                         hovertemplate="row %{y}, col %{x}: %{customdata}<extra></extra>")]
    if not finite.all():
        masked = np.where(finite, np.nan, 0.0)                           # (r, c): 0 where masked
        mark = sizing.text_px("−∞", s.cell) + 8 <= cell
        traces.append(go.Heatmap(z=masked, x=x, y=y,
                                 text=np.where(finite, "", text) if mark else None,
                                 texttemplate="%{text}" if mark else None,
                                 textfont=dict(font, color="#333333"),
                                 colorscale=[[0, MASK_GREY], [1, MASK_GREY]], showscale=False,
                                 xgap=1, ygap=1, name="masked", hoverinfo="skip"))
    fig = go.Figure(traces)
    col_step = sizing.label_step(cell, max(sizing.text_px(t, s.tick) for t in cols))
    fig.update_xaxes(tickvals=list(x[::col_step]), ticktext=cols[::col_step],
                     showgrid=False, zeroline=False)
    fig.update_yaxes(tickvals=list(y), ticktext=rows, autorange="reversed", showgrid=False,
                     zeroline=False)
    row_h = max(cell if width is not None else 0.0, sizing.line_px(s.cell) + 10)
    fig_w = int(left + 12 + c * cell)
    heading = f"{title}  ({r}×{c})" + ("" if shown is not None else " · values on hover")
    # without a width the page stretches the figure to its column: nothing to wrap to
    text_title = heading if width is None else sizing.wrap(heading, fig_w - 10, s.title)
    lines = text_title.count("<br>") + 1
    # the title fills the top margin (theme.title_margin; a multi-line title anchored at the
    # top loses its first line), so the column labels go below the matrix, out of its way
    top, bottom = title_margin(lines, s.title), int(sizing.line_px(s.tick) + 12)
    fig.update_layout(title=dict(text=text_title, x=0, xanchor="left", xref="container",
                                 pad=dict(l=8)))
    return style(fig, presenter, dark=dark, width=None if width is None else fig_w,
                 height=int(top + r * row_h + bottom),
                 margin=dict(l=left, r=12, t=top, b=bottom))


def fit_quadratic(lengths, values) -> float:
    """Least-squares c in values ≈ c·N² over the finite, positive measurements."""
    N = to_numpy(lengths).astype(np.float64).reshape(-1)
    y = to_numpy(values).astype(np.float64).reshape(-1)
    ok = np.isfinite(N) & np.isfinite(y) & (y > 0)
    if not ok.any():
        return float("nan")
    n2 = N[ok] ** 2
    return float((n2 @ y[ok]) / (n2 @ n2))                               # argmin Σ(y − cN²)²


@dataclass(frozen=True)
class PowerFit:
    """values ≈ coefficient · N^exponent, fitted by least squares on log N, log value."""
    exponent: float
    coefficient: float
    n_min: float
    n_max: float
    points: int


def fit_power_law(lengths, values, last: int | None = None) -> PowerFit | None:
    """Straight-line fit in log-log space over the finite, positive measurements (only the
    `last` ones with the largest N when given: at small N fixed overheads flatten the curve).
    None when fewer than two distinct lengths remain."""
    N = to_numpy(lengths).astype(np.float64).reshape(-1)
    y = to_numpy(values).astype(np.float64).reshape(-1)
    ok = np.isfinite(N) & np.isfinite(y) & (y > 0) & (N > 0)
    N, y = N[ok], y[ok]
    order = np.argsort(N, kind="stable")
    N, y = N[order], y[order]
    if last is not None:
        N, y = N[-int(last):], y[-int(last):]
    if np.unique(N).size < 2:
        return None
    p, log_c = np.polyfit(np.log(N), np.log(y), 1)
    return PowerFit(float(p), float(np.exp(log_c)), float(N.min()), float(N.max()), int(N.size))


def growth_title(fits: dict) -> str:
    """"attention cost: time grows like N^1.9 here (N = 256–2,048)", one clause per fitted
    panel, with the lengths the fit used."""
    parts = []
    for name, fit in fits.items():
        if fit is None:
            parts.append(f"{name}: too few lengths to fit")
        else:
            parts.append(f"{name} grows like N^{fit.exponent:.1f} here (N\u00a0=\u00a0"
                         f"{fit.n_min:,.0f}–{fit.n_max:,.0f})")      # kept on one line
    return "attention cost: " + "; ".join(parts)


def _measure_traces(N, y, c, name, unit, colour, presenter, fit):
    pos = N[np.isfinite(N) & (N > 0)]
    grid = np.geomspace(pos.min(), pos.max(), 50) if pos.size else np.zeros(0)   # (50,)
    size = 11 if presenter else 8
    data = go.Scatter(x=N, y=y, mode="lines+markers", name=name, line=dict(color=colour),
                      marker=dict(size=size),
                      hovertemplate=f"N = %{{x}}: %{{y:.3g}} {unit}<extra></extra>")
    ref = go.Scatter(x=grid, y=c * grid ** 2, mode="lines", name=f"∝ N² ({name})",
                     line=dict(color="grey", dash="dash"), hoverinfo="skip")
    if fit is None:
        return data, ref
    g = np.geomspace(fit.n_min, fit.n_max, 20)                                # (20,)
    fitted = go.Scatter(x=g, y=fit.coefficient * g ** fit.exponent, mode="lines",
                        name=f"fit ({name}): ∝ N^{fit.exponent:.1f}",
                        line=dict(color=colour, width=6 if presenter else 4), opacity=0.45,
                        hoverinfo="skip")
    return data, ref, fitted


def _unit_label(v: float, unit: str) -> str:
    """A decade tick in readable units: 1e-05 s -> "10 µs", 0.01 MB -> "0.01 MB"."""
    if unit == "s":
        for scale, name in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns")):
            if v >= scale * 0.999:
                return f"{v / scale:,.0f} {name}"
        return f"{v:g} s"
    return f"{v:,.0f} {unit}" if v >= 1 else f"{v:g} {unit}"


def cost_figure(lengths, seconds, megabytes=None, presenter: bool = False, *,
                memory_measured: bool = False, fit_points: int = 4, dark: bool = False,
                width: int | None = None):
    """Measured time (and memory) vs sequence length on log-log axes.

    Each panel draws the measurements, a straight-line fit in log-log space over the
    fit_points longest lengths (thick, translucent) and, dashed, the least-squares c·N² for
    comparison (clipped to the measured range). The title states the fitted exponents ("time
    grows like N^1.9 here"), what was measured, not what theory predicts. Memory is labelled
    "measured (CUDA peak)" when memory_measured, else "computed". Non-finite measurements (e.g.
    out of memory: NaN) are drawn as gaps and left out of the fits. width: the px the figure
    gets (default: the mode's content width), to space the labels.
    """
    N = to_numpy(lengths).astype(np.float64).reshape(-1)                 # (L,)
    t = to_numpy(seconds).astype(np.float64).reshape(-1)                 # (L,)
    if t.size != N.size:
        raise ValueError(f"{t.size} timings for {N.size} lengths")
    colours = line_colours(dark)
    panels = [("time", t, "s", colours[0], "time, fastest run")]
    if megabytes is not None:
        mb = to_numpy(megabytes).astype(np.float64).reshape(-1)          # (L,)
        if mb.size != N.size:
            raise ValueError(f"{mb.size} memory values for {N.size} lengths")
        what = "measured (CUDA peak)" if memory_measured else "computed (not measured)"
        panels.append(("memory", mb, "MB", colours[1], f"MB, {what}"))
    plot_h = 340 if presenter else 280                   # the plots keep their height however
                                                         # many lines the title takes
    s = sizes(presenter)
    W = width or sizing.content_width(presenter=presenter)
    y_lab = sizing.text_px("100 µs", s.tick) + sizing.line_px(s.axis_title) + 16
    gap = y_lab + 24 if len(panels) > 1 else 0                           # second panel's labels
    plot_w = W - y_lab - 20
    fig = make_subplots(rows=1, cols=len(panels), horizontal_spacing=gap / plot_w)
    n_ok = N[np.isfinite(N) & (N > 0)]
    panel_px = (plot_w - gap) / len(panels)
    step = sizing.label_step(panel_px / max(n_ok.size, 1),
                             max((sizing.text_px(f"{v:,.0f}", s.tick) for v in n_ok), default=0))
    fits = {}
    for k, (name, y, unit, colour, axis_title) in enumerate(panels):
        fits[name] = fit_power_law(N, y, last=fit_points)
        for trace in _measure_traces(N, y, fit_quadratic(N, y), name, unit, colour, presenter,
                                     fits[name]):
            fig.add_trace(trace.update(showlegend=False), row=1, col=k + 1)
        fig.update_xaxes(type="log", title="sequence length N", row=1, col=k + 1,
                         tickmode="array", tickvals=n_ok[::-1][::step][::-1],
                         ticktext=[f"{v:,.0f}" for v in n_ok[::-1][::step][::-1]], tickangle=0)
        y_ok = y[np.isfinite(y) & (y > 0)]
        if y_ok.size:
            lo, hi = np.log10(y_ok.min()) - 0.25, np.log10(y_ok.max()) + 0.25
            vals, _ = decade_ticks(10 ** lo, 10 ** hi)
            vals = [v for v in vals if lo <= np.log10(v) <= hi] or [10 ** round((lo + hi) / 2)]
            fig.update_yaxes(tickmode="array", tickvals=vals, range=[lo, hi], row=1, col=k + 1,
                             ticktext=[_unit_label(v, unit) for v in vals])
        fig.update_yaxes(type="log", title=axis_title, row=1, col=k + 1)
    fig.update_layout(title=growth_title(fits))
    style(fig, presenter, dark=dark, wrap_to=W, width=W)
    bottom = int(sizing.line_px(s.tick) + sizing.line_px(s.axis_title)
                 + sizing.line_px(s.legend) + 24)
    fig.update_layout(height=int(fig.layout.margin.t + plot_h + bottom))
    fig.add_annotation(text="thick: fitted power law · dashed: c·N² for comparison",
                       x=0, xref="paper", xanchor="left", y=-(bottom - 6) / plot_h,
                       yref="paper", yanchor="bottom", showarrow=False,
                       font=dict(size=s.legend, color=palette(dark)["text"]))
    return fig.update_layout(margin=dict(b=bottom, l=int(y_lab), r=20))
