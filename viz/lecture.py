"""Lecture figures: how big transformers are (ours next to the published ones) and why
attention divides by √d (softmax saturation). Data come from core.model_sizes and
core.saturation; these functions only draw."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz import sizing
from viz.common import column, decade_ticks, style
from viz.theme import line_colours, palette, sizes

HIGHLIGHT = "#e4002b"


def _decade_label(v: float) -> str:
    for scale, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if v >= scale:
            return f"{v / scale:g} {unit}"
    return f"{v:g}"


def model_size_figure(rows, presenter: bool = False, *, dark: bool = False,
                      width: int | None = None):
    """rows from core.model_sizes.size_table (smallest first): one horizontal bar per model on
    a log axis, the biggest on top, ours in red; hover gives the exact count and the source.
    The title compares the largest published model with our largest."""
    if not rows:
        raise ValueError("no models to draw")
    s = sizes(presenter)
    colours = [c for i, c in enumerate(line_colours(dark)) if i != 3]   # red is for ours
    families = sorted({r["family"] for r in rows if not r["ours"]})
    colour = {f: colours[i % len(colours)] for i, f in enumerate(families)}
    names = [r["model"] + (" (ours)" if r["ours"] else "") for r in rows]
    n = np.array([r["parameters"] for r in rows], dtype=np.float64)
    fig = go.Figure(go.Bar(
        x=n, y=np.arange(len(rows)), orientation="h",
        marker_color=[HIGHLIGHT if r["ours"] else colour[r["family"]] for r in rows],
        text=[r.get("size", _decade_label(v)) for r, v in zip(rows, n)], textposition="outside",
        cliponaxis=False, textfont=dict(size=s.tick),
        customdata=[[f"{int(v):,}", r["source"]] for r, v in zip(rows, n)],
        hovertemplate="%{customdata[0]} parameters<br>%{customdata[1]}<extra></extra>"))
    lo, hi = math.floor(math.log10(n.min())), math.ceil(math.log10(n.max())) + 1
    vals = [10.0 ** k for k in range(lo, hi + 1)]
    step = max(1, math.ceil(len(vals) / 7))
    fig.update_xaxes(type="log", range=[lo, hi + 0.3], tickvals=vals[::step],
                     ticktext=[_decade_label(v) for v in vals[::step]],
                     title=f"parameters (log scale: each tick is {10 ** step:,}× the last)")
    fig.update_yaxes(tickvals=list(range(len(rows))), ticktext=names)
    ours = [r for r in rows if r["ours"]]
    biggest = max((r for r in rows if not r["ours"]), key=lambda r: r["parameters"],
                  default=None)
    title = "transformer sizes, published and ours"
    if ours and biggest:
        mine = max(ours, key=lambda r: r["parameters"])
        title = (f"{biggest['model']} has {biggest['parameters'] / mine['parameters']:,.0f} times "
                 f"the parameters of our largest model ({mine['model']})")
    fig.update_layout(title=title, showlegend=False, bargap=0.25)
    row = sizing.line_px(s.tick) + 12
    W = column(width, presenter)
    return style(fig, presenter, dark=dark, height=int(len(rows) * row + 190), wrap_to=W)


def saturation_figure(result: dict, presenter: bool = False, *, dark: bool = False,
                      width: int | None = None):
    """core.saturation.softmax_saturation's result: left, the mean largest weight of a softmax
    row against d (raw scores saturate toward 1, scaled ones stay put; dotted: uniform, 1/keys);
    right, the spread of the scores with √d dashed (log axes). The title reads the largest d
    off the data."""
    d = np.asarray(result["d"], dtype=np.float64)
    colours = line_colours(dark)
    styles = {"raw": ("q·k (not scaled)", HIGHLIGHT), "scaled": ("q·k / √d", colours[0])}
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.18)   # no subplot titles: the
                                                                   # title has the top margin
    width_px = 4 if presenter else 2.5
    for name, (label, c) in styles.items():
        r = result[name]
        fig.add_trace(go.Scatter(x=d, y=r["max_weight"], mode="lines+markers", name=label,
                                 line=dict(color=c, width=width_px), legendgroup=name,
                                 hovertemplate="d = %{x}: %{y:.2f}<extra>" + label + "</extra>"),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=d, y=r["score_std"], mode="lines+markers", name=label,
                                 line=dict(color=c, width=width_px), legendgroup=name,
                                 showlegend=False,
                                 hovertemplate="d = %{x}: std %{y:.2f}<extra>" + label +
                                               "</extra>"), row=1, col=2)
    grey = palette(dark)["line"]
    fig.add_trace(go.Scatter(x=d, y=np.sqrt(d), mode="lines", name="√d", showlegend=False,
                             line=dict(color=grey, dash="dash"), hoverinfo="skip"), row=1, col=2)
    fig.add_hline(y=1 / result["n_keys"], line=dict(color=grey, dash="dot"), row=1, col=1)
    ticks = d[:: max(1, math.ceil(d.size / 5))]
    fig.update_xaxes(type="log", title="d (head size)", tickvals=ticks,
                     ticktext=[f"{v:,.0f}" for v in ticks])
    fig.update_yaxes(range=[0, 1.05], title="largest weight in a row", row=1, col=1)
    spread = np.concatenate([result["raw"]["score_std"], result["scaled"]["score_std"]])
    lo, hi = np.log10(spread.min()) - 0.15, np.log10(spread.max()) + 0.15
    vals, text = decade_ticks(10 ** lo, 10 ** hi)
    keep = [(v, t) for v, t in zip(vals, text) if lo <= np.log10(v) <= hi]
    fig.update_yaxes(type="log", title="spread: std of the scores", range=[lo, hi],
                     tickvals=[v for v, _ in keep], ticktext=[t for _, t in keep], row=1, col=2)
    raw, scaled = result["raw"]["max_weight"][-1], result["scaled"]["max_weight"][-1]
    fig.update_layout(
        title=(f"at d = {d[-1]:,.0f}, without ÷√d the top key takes {raw:.0%} of the weight; "
               f"with it, {scaled:.0%}"),
        legend=dict(orientation="h", x=0, y=0, yref="container", yanchor="bottom"))
    s = sizes(presenter)
    W = column(width, presenter)
    style(fig, presenter, dark=dark, height=500 if presenter else 400, wrap_to=W)
    bottom = sizing.line_px(s.tick) + sizing.line_px(s.axis_title) + sizing.line_px(s.legend) + 24
    return fig.update_layout(margin=dict(b=int(bottom)))
