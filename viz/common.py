"""Shared look of every figure: colour scales, fonts, presenter mode, download settings.

viz/ takes tensors or arrays and returns plotly figures; it never imports Streamlit and never
runs a model.
"""
from __future__ import annotations

import numpy as np

# Plotly's toolbar "download as PNG" at three times the on-screen resolution.
PLOTLY_CONFIG = {"displaylogo": False,
                 "toImageButtonOptions": {"format": "png", "scale": 3, "filename": "attention"}}

ATTENTION_SCALE = "Viridis"          # perceptually uniform, readable in print
PRESENTER_SCALE = "Cividis"          # high contrast on a washed-out projector, colour-blind safe
DIVERGING_SCALE = "RdBu_r"           # signed values (scores, encodings)
HEAD_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
                "#7b4173", "#3182bd"]


def to_numpy(x) -> np.ndarray:
    """Accept a torch tensor (any device, with grad) or anything array-like."""
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x)


def style(fig, presenter: bool = False, height: int | None = None):
    """Apply the common layout; presenter mode enlarges fonts for a projector."""
    fig.update_layout(font=dict(size=20 if presenter else 12),
                      margin=dict(l=10, r=10, t=50 if fig.layout.title.text else 20, b=10),
                      template="plotly_white")
    if height:
        fig.update_layout(height=height)
    return fig


def tick_step(n: int, max_labels: int) -> int:
    """Show every k-th label so that at most max_labels are drawn."""
    return max(1, int(np.ceil(n / max(1, max_labels))))


def thin_ticks(labels, max_labels: int = 48):
    """(tickvals, ticktext) showing at most max_labels of the labels, evenly spaced."""
    labels = [str(s) for s in labels]
    k = tick_step(len(labels), max_labels)
    idx = list(range(0, len(labels), k))
    return idx, [labels[i] for i in idx]
