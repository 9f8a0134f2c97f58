"""From RNN to attention: the GRU's alignment beside the transformer's cross-attention, and the
fixed-context bottleneck as exact match by source length, with and without attention.

Same conventions as viz/attention.py: query rows are the output characters (first on top), key
columns the source characters, weights on one [0, 1] colour scale.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.common import ATTENTION_SCALE, PRESENTER_SCALE, style, thin_ticks, to_numpy

HOVER = ("writes %{customdata[0]} (row %{y}) ← reads %{customdata[1]} (column %{x}): "
         "%{z:.3f}<extra></extra>")
WITH, WITHOUT = "#1f77b4", "#d62728"     # with attention, fixed context


def _map(weights, q_labels, k_labels) -> tuple[np.ndarray, np.ndarray]:
    """(Tq, Tk) weights and the (Tq, Tk, 2) [output, source] label of every cell."""
    w = to_numpy(weights).astype(np.float64)
    if w.ndim != 2:
        raise ValueError(f"expected a (Tq, Tk) map, got shape {w.shape}")
    q, k = [str(s) for s in q_labels], [str(s) for s in k_labels]
    if (len(q), len(k)) != w.shape:
        raise ValueError(f"{len(q)} output and {len(k)} source labels for a map of {w.shape}")
    cells = np.empty(w.shape + (2,), dtype=object)                   # (Tq, Tk, 2)
    cells[..., 0] = np.asarray(q, dtype=object)[:, None]
    cells[..., 1] = np.asarray(k, dtype=object)[None, :]
    return w, cells


def alignment_pair(rnn, transformer, presenter: bool = False, max_labels: int = 48) -> go.Figure:
    """Two alignment maps side by side for the same source.

    rnn, transformer: (weights (Tq, Tk), output labels, source labels, title) each; the rows
    are the characters each model wrote (their outputs may differ), the columns the source.
    """
    maps = [_map(*m[:3]) for m in (rnn, transformer)]
    fig = make_subplots(rows=1, cols=2, subplot_titles=[str(rnn[3]), str(transformer[3])],
                        horizontal_spacing=0.08)
    for col, ((w, cells), m) in enumerate(zip(maps, (rnn, transformer)), start=1):
        fig.add_trace(go.Heatmap(z=w, x=np.arange(w.shape[1]), y=np.arange(w.shape[0]),
                                 coloraxis="coloraxis", customdata=cells, hovertemplate=HOVER),
                      row=1, col=col)
        xv, xt = thin_ticks(m[2], max_labels)
        yv, yt = thin_ticks(m[1], max_labels)
        fig.update_xaxes(tickmode="array", tickvals=xv, ticktext=xt, showgrid=False,
                         zeroline=False, title_text="source character (key)", constrain="domain",
                         row=1, col=col)
        fig.update_yaxes(tickmode="array", tickvals=yv, ticktext=yt, autorange="reversed",
                         showgrid=False, zeroline=False, scaleanchor=f"x{'' if col == 1 else 2}",
                         constrain="domain", row=1, col=col,   # square cells, axes at the map
                         title_text="output character (query)" if col == 1 else None)
    fig.update_layout(coloraxis=dict(colorscale=PRESENTER_SCALE if presenter else ATTENTION_SCALE,
                                     cmin=0.0, cmax=1.0, colorbar=dict(title="weight")))
    aspect = max(w.shape[0] / w.shape[1] for w, _ in maps)      # rows per column, tallest map
    style(fig, presenter, height=int(min(900, max(360, 480 * aspect + 220))))   # ~480 px wide
    fig.update_annotations(font_size=22 if presenter else 14)           # the two titles
    return fig.update_layout(margin_t=70 if presenter else 50)


def _accuracy_lines(series, x_title: str, title: str, presenter: bool, dark: bool,
                    width: int | None) -> go.Figure:
    """series: [(name, colour, x labels, shares in [0, 1], counts)] -> one line per model."""
    fig = go.Figure()
    for name, colour, x, shares, counts in series:
        fig.add_trace(go.Scatter(x=x, y=[100 * v for v in shares], name=name,
                                 mode="lines+markers", customdata=counts,
                                 line=dict(color=colour, width=4 if presenter else 2),
                                 marker=dict(size=12 if presenter else 8),
                                 hovertemplate="%{x}: %{y:.1f}% exact (%{customdata} examples)"
                                               "<extra>" + name + "</extra>"))
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title="exact match (%)",
                      yaxis=dict(range=[0, 105]),
                      legend=dict(orientation="h", x=0, y=-0.3 if presenter else -0.25))
    if width:
        fig.update_layout(width=int(width))
    return style(fig, presenter, height=460 if presenter else 380, dark=dark, wrap_to=width)


def _series(with_attention: dict, without_attention: dict, label):
    out = []
    for name, data, colour in (("with attention", with_attention, WITH),
                               ("without attention (fixed context)", without_attention, WITHOUT)):
        keys = sorted(data)
        out.append((name, colour, [label(k) for k in keys], [data[k][0] for k in keys],
                    [data[k][1] for k in keys]))
    return out


def accuracy_by_length_figure(with_attention: dict, without_attention: dict,
                              presenter: bool = False, title: str | None = None, *,
                              dark: bool = False, width: int | None = None) -> go.Figure:
    """Exact match (%) by source length, one line per model.

    Each argument: {(lo, hi): (share in [0, 1], number of examples)} as
    core.tasks.dates_rnn.accuracy_by_length returns it; x is the bucket's length range.
    """
    series = _series(with_attention, without_attention, lambda b: f"{b[0]}–{b[1] - 1}")
    return _accuracy_lines(series, "source length (characters)",
                           title or "Exact match by source length, on fresh examples",
                           presenter, dark, width)


def accuracy_by_dates_figure(with_attention: dict, without_attention: dict,
                             presenter: bool = False, title: str | None = None, *,
                             dark: bool = False, width: int | None = None) -> go.Figure:
    """Exact match (%) by the number of dates in the source, one line per model.

    Each argument: {n_dates: (share in [0, 1], number of examples)} as
    core.tasks.dates_rnn.accuracy_by_dates returns it.
    """
    series = _series(with_attention, without_attention,
                     lambda k: f"{k} date{'s' if k > 1 else ''}")
    return _accuracy_lines(series, "dates in the source",
                           title or "Exact match by number of dates, on fresh examples",
                           presenter, dark, width)
