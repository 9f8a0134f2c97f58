"""Figures for step-by-step causal decoding: the mask, one query's attention, next-token choice.

Token axes use integer positions with tickvals/ticktext (repeated tokens stay distinct).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from viz import sizing
from viz.common import style, thin_ticks, to_numpy
from viz.maps import square_map
from viz.theme import line_colours, palette, sizes, weight_scale

ALLOWED_COLOUR = "#7fc8a9"
BLOCKED_COLOUR = "#3a3a3a"
HIGHLIGHT = "#e4002b"
MAX_TEXT_CELLS = 4096         # the "×" on blocked mask cells, only for maps up to this size


def _labels(labels, n: int) -> list[str]:
    labels = [str(s) for s in labels]
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} positions")
    return labels


def _ticks(fig, labels, axis: str, max_labels: int = 48, step: int | None = None):
    vals, text = thin_ticks([sizing.short(t) for t in labels], max_labels, step)
    getattr(fig, f"update_{axis}axes")(tickmode="array", tickvals=vals, ticktext=text,
                                       showgrid=False, zeroline=False)


def causal_mask_figure(labels, step: int, presenter: bool = False, *, dark: bool = False,
                       width: int | None = None, max_height: int | None = None) -> go.Figure:
    """The T x T causal mask (T = len(labels)); the row of query `step` is outlined.

    z is 1 where query i may attend key j (j <= i) and 0 where it is blocked (j > i); blocked
    cells are dark with an "×" (where a cell is big enough for it), allowed cells light. Sized
    like attention_heatmap: square cells filling width, labels thinned so none overlap.
    """
    labels = [str(s) for s in labels]
    T = len(labels)
    if not 0 <= step < max(T, 1):
        raise ValueError(f"step {step} outside 0..{T - 1}")
    z = np.tril(np.ones((T, T)))                                     # (T, T) 1 = allowed
    cd = np.empty((T, T, 3), dtype=object)                           # (T, T, 3)
    cd[..., 0] = np.asarray(labels, dtype=object)[:, None]
    cd[..., 1] = np.asarray(labels, dtype=object)[None, :]
    cd[..., 2] = np.where(z == 1, "may attend", "blocked (future)")
    fig = go.Figure(go.Heatmap(
        z=z, x=np.arange(T), y=np.arange(T), zmin=0, zmax=1, showscale=False,
        colorscale=[[0, BLOCKED_COLOUR], [0.5, BLOCKED_COLOUR], [0.5, ALLOWED_COLOUR],
                    [1, ALLOWED_COLOUR]], customdata=cd,
        hovertemplate=("query %{customdata[0]} (pos %{y}) → key %{customdata[1]} (pos %{x}): "
                       "%{customdata[2]}<extra></extra>")))
    fig.add_shape(type="rect", x0=-0.5, x1=T - 0.5, y0=step - 0.5, y1=step + 0.5,
                  line=dict(color=HIGHLIGHT, width=4 if presenter else 3))
    size = square_map(fig, T, T, labels, labels, f"causal mask: query {step} sees keys 0..{step}",
                      presenter, dark, width, max_height, colorbar=False)
    if size.cell >= 8:                                               # a 1 px grid, not a mesh
        fig.data[0].update(xgap=1, ygap=1)
    mark = sizes(presenter).cell
    if T * T <= MAX_TEXT_CELLS and size.cell >= mark:                # "×" fits in a cell
        fig.data[0].update(text=np.where(z == 0, "×", ""), texttemplate="%{text}",
                           textfont=dict(color="#bbbbbb", size=mark))
    return fig


def _x_step(n: int, labels, presenter: bool, width: int | None, used_px: int = 120) -> int:
    """Label step for n bars/cells across width (default: the mode's content width)."""
    W = sizing.content_width(presenter=presenter) if width is None else int(width)
    cell = max(1.0, (W - used_px) / max(n, 1))
    longest = max((sizing.text_px(sizing.short(t), sizes(presenter).tick) for t in labels),
                  default=0.0)
    return sizing.label_step(cell, longest)


def attention_row(weights, k_labels, title=None, presenter: bool = False, *, dark: bool = False,
                  width: int | None = None) -> go.Figure:
    """weights (Tk,) of one query as bars over key positions, y on [0, 1]. width: the px the
    figure gets (default: the mode's content width), used to thin the key labels."""
    w = to_numpy(weights).astype(np.float64).ravel()                # (Tk,)
    k = _labels(k_labels, w.size)
    fig = go.Figure(go.Bar(
        x=np.arange(w.size), y=w, customdata=np.asarray(k, dtype=object),
        marker=dict(color=w, colorscale=weight_scale(presenter, dark), cmin=0.0, cmax=1.0),
        hovertemplate="key %{customdata} (pos %{x}): weight %{y:.3f}<extra></extra>"))
    _ticks(fig, k, "x", step=_x_step(w.size, k, presenter, width))
    fig.update_yaxes(range=[0, 1], title_text="weight")
    fig.update_xaxes(title_text="key")
    fig.update_layout(title=title, bargap=0.15)
    return style(fig, presenter, dark=dark, height=400 if presenter else 300)


def heads_row(weights, k_labels, presenter: bool = False, *, dark: bool = False,
              width: int | None = None) -> go.Figure:
    """weights (H, Tk): every head's weights for the new query, one row per head (H0 on top)."""
    w = to_numpy(weights).astype(np.float64)                        # (H, Tk)
    if w.ndim != 2:
        raise ValueError(f"expected (H, Tk), got shape {w.shape}")
    H, Tk = w.shape
    k = _labels(k_labels, Tk)
    heads = [f"H{h}" for h in range(H)]
    cd = np.empty((H, Tk, 2), dtype=object)                          # (H, Tk, 2)
    cd[..., 0] = np.asarray(heads, dtype=object)[:, None]
    cd[..., 1] = np.asarray(k, dtype=object)[None, :]
    fig = go.Figure(go.Heatmap(
        z=w, x=np.arange(Tk), y=np.arange(H), zmin=0.0, zmax=1.0,
        colorscale=weight_scale(presenter, dark), customdata=cd, xgap=1, ygap=1,
        colorbar=sizing.colorbar_spec(presenter),
        hovertemplate=("%{customdata[0]} → key %{customdata[1]} (pos %{x}): "
                       "weight %{z:.3f}<extra></extra>")))
    _ticks(fig, k, "x", step=_x_step(Tk, k, presenter, width, 120 + sizing.colorbar_px(presenter)))
    fig.update_yaxes(tickmode="array", tickvals=list(range(H)), ticktext=heads,
                     autorange="reversed", showgrid=False, title_text="head")
    fig.update_xaxes(title_text="key")
    row = sizing.line_px(sizes(presenter).tick) + 10
    return style(fig, presenter, dark=dark, height=int(max(240, row * H + 150)))


def topk_bars(probs, vocab_labels, k: int = 5, chosen=None, presenter: bool = False, *,
              dark: bool = False) -> go.Figure:
    """probs (V,): the k most likely tokens as horizontal bars, most likely on top.

    chosen (a vocabulary index) is drawn in a highlight colour; if it is not among the top k it
    is added as an extra bar at the bottom. customdata holds each bar's vocabulary index.
    """
    p = to_numpy(probs).astype(np.float64).ravel()                  # (V,)
    vocab = _labels(vocab_labels, p.size)
    idx = np.argsort(-p, kind="stable")[: max(1, min(k, p.size))]   # (k,)
    if chosen is not None and int(chosen) not in idx:
        idx = np.append(idx, int(chosen))                            # (k + 1,)
    chosen_mask = np.array([chosen is not None and i == int(chosen) for i in idx])
    colours = np.where(chosen_mask, HIGHLIGHT, line_colours(dark)[0])
    names = [vocab[i] for i in idx]
    fig = go.Figure(go.Bar(
        x=p[idx], y=np.arange(idx.size), orientation="h", customdata=idx,
        marker=dict(color=colours.tolist()), text=[f"{v:.3f}" for v in p[idx]],
        textposition="outside", cliponaxis=False, textfont=dict(size=sizes(presenter).tick),
        hovertext=names, hovertemplate="%{hovertext}: p = %{x:.4f}<extra></extra>"))
    ticktext = [f"<b>{n}</b> (chosen)" if c else n for n, c in zip(names, chosen_mask)]
    fig.update_yaxes(tickmode="array", tickvals=list(range(idx.size)), ticktext=ticktext,
                     autorange="reversed")
    fig.update_xaxes(range=[0, 1.02], title_text="probability")
    row = sizing.line_px(sizes(presenter).tick) + 12
    right = int(sizing.text_px("1.000", sizes(presenter).tick) + 12)    # the value past a bar
    return style(fig, presenter, dark=dark, height=int(max(220, row * idx.size + 110)),
                 margin=dict(l=10, r=right, t=20, b=10))


MIN_FORECAST_HEIGHT = 300


def forecast_figure(inputs, forecast=None, truth=None, baseline=None, *,
                    baseline_name: str = "repeat the last period", title: str | None = None,
                    presenter: bool = False, dark: bool = False,
                    height: int | None = None) -> go.Figure:
    """A real-valued sequence and what follows it: inputs (n,) at t = 0..n−1, then forecast,
    truth and baseline (each (k,), any may be None or empty) at t = n..n+k−1.

    Every series is its own trace over its own t, with no None gaps (a None gap makes Vega's
    st.line_chart log "Infinite extent"); the forecast line starts from the last input so the
    two join. A dotted vertical line marks where the forecast starts. Height >= 300 px.
    """
    x_in = np.asarray([] if inputs is None else to_numpy(inputs), dtype=np.float64).ravel()
    n = x_in.size
    colours = line_colours(dark)
    width = 4 if presenter else 2.5
    fig = go.Figure(go.Scatter(x=np.arange(n), y=x_in, mode="lines", name="input",
                               line=dict(color=colours[0], width=width),
                               hovertemplate="t = %{x}: %{y:.3f} (input)<extra></extra>"))
    series = [("truth", truth, dict(color=colours[2], width=width, dash="dash"), False),
              (baseline_name, baseline, dict(color=colours[7], width=width, dash="dot"), False),
              ("forecast", forecast, dict(color=HIGHLIGHT, width=width + 1), True)]
    for name, values, line, join in series:
        if values is None:
            continue
        y = to_numpy(values).astype(np.float64).ravel()              # (k,)
        if y.size == 0:
            continue
        t = np.arange(n, n + y.size)
        if join and n:                                               # start at the last input
            t, y = np.concatenate([[n - 1], t]), np.concatenate([x_in[-1:], y])
        fig.add_trace(go.Scatter(x=t, y=y, mode="lines+markers" if y.size < 40 else "lines",
                                 name=name, line=line, marker=dict(size=7 if presenter else 5),
                                 hovertemplate=f"t = %{{x}}: %{{y:.3f}} ({name})<extra></extra>"))
    if n:
        fig.add_vline(x=n - 0.5, line=dict(color=palette(dark)["line"], dash="dot", width=2))
    fig.update_xaxes(title_text="t (position in the sequence)")
    fig.update_yaxes(title_text="value")
    fig.update_layout(title=title, legend=dict(orientation="h", x=0, y=0, yref="container",
                                                 yanchor="bottom"))
    s = sizes(presenter)
    h = height or (440 if presenter else 340)
    style(fig, presenter, dark=dark, height=max(MIN_FORECAST_HEIGHT, int(h)))
    bottom = int(sizing.line_px(s.tick) + sizing.line_px(s.axis_title) + sizing.line_px(s.legend)
                 + 40)
    return fig.update_layout(margin=dict(b=bottom, l=int(sizing.text_px("-0.00", s.tick)
                                                         + sizing.line_px(s.axis_title) + 16)))
