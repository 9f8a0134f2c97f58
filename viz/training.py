"""Training curves: loss (log scale) on the left, evaluation metrics in [0, 1] on the right."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from viz.common import HEAD_COLOURS, style, to_numpy


def _series(x) -> np.ndarray:
    return np.asarray([] if x is None else to_numpy(x), dtype=np.float64).ravel()  # (n,)


def training_curves(steps, losses, eval_steps=None, metrics=None,
                    presenter: bool = False) -> go.Figure:
    """Loss over steps (log y) and each metric (name -> values) over eval_steps on [0, 1].

    Empty inputs give empty axes, not an error. Non-positive or non-finite losses are dropped
    (a log axis cannot show them). Without eval_steps, metrics are drawn at 0, 1, 2, ...
    """
    steps, losses = _series(steps), _series(losses)
    if steps.size != losses.size:
        raise ValueError(f"{steps.size} steps for {losses.size} losses")
    keep = np.isfinite(losses) & (losses > 0)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "metrics"),
                        horizontal_spacing=0.1)
    width = 3 if presenter else 2
    fig.add_trace(go.Scatter(x=steps[keep], y=losses[keep], mode="lines", name="loss",
                             line=dict(color=HEAD_COLOURS[0], width=width),
                             hovertemplate="step %{x}: loss %{y:.4g}<extra></extra>"),
                  row=1, col=1)
    metrics = metrics or {}
    ev = None if eval_steps is None else _series(eval_steps)
    for i, (name, values) in enumerate(metrics.items()):
        v = _series(values)                                          # (n_eval,)
        x = np.arange(v.size, dtype=np.float64) if ev is None else ev[: v.size]
        if x.size != v.size:
            raise ValueError(f"metric {name!r}: {v.size} values for {x.size} eval steps")
        fig.add_trace(go.Scatter(x=x, y=v, mode="lines+markers", name=str(name),
                                 line=dict(color=HEAD_COLOURS[(i + 1) % len(HEAD_COLOURS)],
                                           width=width),
                                 hovertemplate=f"step %{{x}}: {name} %{{y:.3f}}<extra></extra>"),
                      row=1, col=2)
    fig.update_yaxes(type="log", title_text="loss", row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], title_text="score", row=1, col=2)
    fig.update_xaxes(title_text="step")
    return style(fig, presenter, height=480 if presenter else 360)
