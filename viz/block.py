"""Inside a block: the residual stream drawn as a line with each sub-layer branching off it and
adding back in, the branch as thick as its contribution (|f(x)| / |x|, mean over tokens), and
the same ratio per token as bars. Data from core.residual.trace_block; this only draws."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from viz import sizing
from viz.common import column, style, to_numpy
from viz.theme import line_colours, palette, sizes

NAMES = {"self_attn": "self-attention", "cross_attn": "cross-attention", "ff": "feed-forward"}
X_MAX = 13.0                  # diagram units across


def _check(sublayers, tokens=None):
    subs = [(str(n), to_numpy(r).astype(np.float64).reshape(-1)) for n, r in sublayers]
    if not subs:
        raise ValueError("a block has at least one sub-layer")
    if tokens is not None and any(r.size != len(tokens) for _, r in subs):
        raise ValueError(f"each sub-layer needs one value per token ({len(tokens)})")
    return subs


def _box(fig, x0, x1, y0, y1, text, line, font, fill="rgba(127,127,127,0.12)"):
    fig.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=y1, fillcolor=fill,
                  line=dict(color=line, width=2), layer="above")
    fig.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, text=text, showarrow=False,
                       font=dict(size=font))


def _arrow(fig, x0, y0, x1, y1, colour, width):
    fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                       text="", showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=width,
                       arrowcolor=colour)


def block_figure(sublayers, pre_ln: bool = True, title: str | None = None,
                 presenter: bool = False, *, dark: bool = False, width: int | None = None):
    """The block as a diagram. sublayers: [(name, relative (T,))] in the order they run, name
    one of "self_attn", "cross_attn", "ff", relative the per-token |contribution| / |stream|
    (core.residual.SubLayer.relative). The stream runs bottom to top; each sub-layer branches
    off, (pre-LN: through a LayerNorm) into its box and back into a ⊕ with a line as thick as
    its mean contribution; post-LN puts the LayerNorm on the stream after each ⊕."""
    subs = _check(sublayers)
    s, p = sizes(presenter), palette(dark)
    colours = line_colours(dark)
    fig = go.Figure()
    n = len(subs)
    top = 3.2 * n + (0.6 if pre_ln else 1.4)                          # post-LN: room for its norm
    _arrow(fig, 1.0, -0.2, 1.0, top + 0.4, p["line"], 5)
    fig.add_annotation(x=1.0, y=-0.3, text="block input x", showarrow=False, yanchor="top",
                       xanchor="left", font=dict(size=s.tick))
    fig.add_annotation(x=1.0, y=top + 0.5, text="block output", showarrow=False,
                       yanchor="bottom", xanchor="left", font=dict(size=s.tick))
    for i, (name, rel) in enumerate(subs):
        y = 0.8 + 3.2 * i
        mean = float(np.nanmean(rel)) if rel.size else 0.0
        c = colours[i % len(colours)]
        label = NAMES.get(name, name)
        start = 1.0
        if pre_ln:
            fig.add_shape(type="line", x0=1.0, x1=2.0, y0=y, y1=y, line=dict(color=p["line"], width=2))
            _box(fig, 2.0, 4.8, y - 0.5, y + 0.5, "LayerNorm", p["line"], s.tick)
            start = 4.8
        _arrow(fig, start, y, 5.6, y, p["line"], 2)
        _box(fig, 5.6, 9.6, y - 0.6, y + 0.6, label, c, s.tick)
        width_px = 2 + 12 * min(mean, 1.5) / 1.5                         # the contribution
        fig.add_shape(type="path", path=f"M 7.6 {y + 0.6} L 7.6 {y + 1.5} L 1.25 {y + 1.5}",
                      line=dict(color=c, width=width_px))
        fig.add_annotation(x=1.0, y=y + 1.5, text="⊕", showarrow=False,
                           font=dict(size=s.title, color=p["text"]))
        fig.add_annotation(x=9.8, y=y + 1.1, text=f"adds {mean:.2f}×|x|", xanchor="left",
                           showarrow=False, font=dict(size=s.tick, color=c))
        if not pre_ln:
            _box(fig, 0.05, 1.95, y + 2.05, y + 2.75, "LayerNorm", p["line"], s.tick, p["bg"])
    fig.update_xaxes(range=[0, X_MAX], visible=False)
    fig.update_yaxes(range=[-1.2, top + 1.3], visible=False)
    fig.update_layout(title=title or ("inside a pre-LN block: x + f(LayerNorm(x)) per sub-layer"
                                      if pre_ln else "inside a post-LN block: "
                                      "LayerNorm(x + f(x)) per sub-layer"), showlegend=False)
    W = column(width, presenter)
    unit = sizing.line_px(s.tick) * 1.25                                  # px per y unit
    return style(fig, presenter, dark=dark, width=W, wrap_to=W,
                 height=int((top + 2.5) * unit + 80))


def contribution_figure(sublayers, tokens, presenter: bool = False, *, dark: bool = False,
                        width: int | None = None):
    """The same ratios per token: |contribution| / |stream|, one bar group per token, one
    colour per sub-layer (the diagram's colours)."""
    tokens = [str(t) for t in tokens]
    subs = _check(sublayers, tokens)
    s = sizes(presenter)
    colours = line_colours(dark)
    fig = go.Figure()
    pos = np.arange(len(tokens))
    for i, (name, rel) in enumerate(subs):
        label = NAMES.get(name, name)
        fig.add_trace(go.Bar(x=pos, y=rel, name=label, marker_color=colours[i % len(colours)],
                             customdata=np.asarray(tokens, dtype=object),
                             hovertemplate=f"{label}, token %{{customdata}}: "
                                           "|f(x)| / |x| = %{y:.2f}<extra></extra>"))
    W = column(width, presenter)
    longest = max((sizing.text_px(t, s.tick) for t in tokens), default=0.0)
    step = sizing.label_step((W - 120) / max(len(tokens), 1), longest)
    fig.update_xaxes(tickvals=list(range(0, len(tokens), step)), ticktext=tokens[::step],
                     title="token")
    fig.update_yaxes(title="|contribution| / |stream|", rangemode="tozero")
    fig.update_layout(title="how much each sub-layer changes each token", barmode="group",
                      legend=dict(orientation="h", x=0, y=0, yref="container",
                                  yanchor="bottom"))
    style(fig, presenter, dark=dark, height=460 if presenter else 380, wrap_to=W)
    bottom = sizing.line_px(s.tick) + sizing.line_px(s.axis_title) + sizing.line_px(s.legend) + 24
    return fig.update_layout(margin=dict(b=int(bottom), l=int(sizing.line_px(s.axis_title) + 60)))
