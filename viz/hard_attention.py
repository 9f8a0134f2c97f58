"""Soft versus hard attention on an image, per head: the soft overlay (viz.images) next to the
single patch hard attention picks (core.hard_attention), outlined on the image."""
from __future__ import annotations

import numpy as np
from plotly.subplots import make_subplots

from viz import sizing
from viz.common import style, to_numpy
from viz.images import (_as_image, _attention_grid, _grid_shape, _heat_trace, _image_axes,
                        _image_trace, patch_rectangle)
from viz.theme import sizes

PICK = "#00e5ff"


def soft_vs_hard(image, soft, hard_index, patch_size: int, head_names=None,
                 presenter: bool = False, *, dark: bool = False, width: int | None = None,
                 mode: str = "argmax"):
    """One row per head: its soft attention over the patches (gh·gw or (gh, gw)) overlaid on
    the image, and beside it the image with only the patch hard attention chose (hard_index,
    row-major) lit and outlined. soft (H, N) or (H, gh, gw); hard_index (H,). mode names how
    the patch was chosen ("argmax" or "sample") in the column title. Panels are square and
    two of them fill width (default: the mode's content width)."""
    img = _as_image(image)                                               # (H, W) or (H, W, 3)
    gh, gw = _grid_shape(img, patch_size)
    maps = to_numpy(soft).astype(np.float64)
    if maps.ndim == 2:
        maps = maps.reshape(maps.shape[0], gh, gw)                       # (H, N) -> (H, gh, gw)
    idx = to_numpy(hard_index).astype(int).reshape(-1)                   # (H,)
    n = maps.shape[0]
    if idx.size != n:
        raise ValueError(f"{idx.size} hard picks for {n} heads")
    if ((idx < 0) | (idx >= gh * gw)).any():
        raise ValueError(f"hard picks must be patch indices in 0..{gh * gw - 1}")
    names = [f"head {h}" for h in range(n)] if head_names is None else [str(s) for s in head_names]
    if len(names) != n:
        raise ValueError(f"{len(names)} head names for {n} heads")
    s = sizes(presenter)
    W = sizing.content_width(presenter=presenter) if width is None else int(width)
    left = int(max(sizing.text_px(t, s.subtitle) for t in names) + 16)
    panel = max(60.0, min(260.0, (W - left - 40) / 2))
    gap = 24
    fig = make_subplots(rows=n, cols=2, horizontal_spacing=gap / (2 * panel + gap),
                        vertical_spacing=gap / (n * panel + (n - 1) * gap) if n > 1 else 0.0)
    for h in range(n):
        att = _attention_grid(maps[h], gh, gw)                            # (gh, gw)
        hard = np.zeros((gh, gw))
        hard.flat[idx[h]] = 1.0                                          # one lit patch
        fig.add_trace(_image_trace(img, patch_size), row=h + 1, col=1)
        fig.add_trace(_heat_trace(att, patch_size, 0.6, presenter, showscale=False),
                      row=h + 1, col=1)
        fig.add_trace(_image_trace(img, patch_size), row=h + 1, col=2)
        fig.add_trace(_heat_trace(hard, patch_size, 0.6, presenter, showscale=False),
                      row=h + 1, col=2)
        x0, y0, x1, y1 = patch_rectangle(int(idx[h]), gw, patch_size)
        k = 2 * h + 2
        fig.add_shape(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, xref=f"x{k}", yref=f"y{k}",
                      line=dict(color=PICK, width=4 if presenter else 3))
        for c in (1, 2):
            _image_axes(fig, row=h + 1, col=c, ticks=False)
        dom = fig.layout[f"yaxis{'' if h == 0 else 2 * h + 1}"].domain
        fig.add_annotation(text=names[h], x=0, xshift=-8, y=(dom[0] + dom[1]) / 2,
                           xref="paper", yref="paper", xanchor="right", yanchor="middle",
                           showarrow=False)
    picked = "the most attended patch" if mode == "argmax" else "one patch drawn from the weights"
    for c, text in ((1, "soft: a weighted mix"), (2, f"hard: {picked}")):
        dom = fig.layout[f"xaxis{'' if c == 1 else 2}"].domain
        fig.add_annotation(text=sizing.wrap(text, panel, s.subtitle), x=(dom[0] + dom[1]) / 2,
                           y=1, xref="paper", yref="paper", xanchor="center",
                           yanchor="bottom", showarrow=False)
    lines = max(sizing.wrap(t, panel, s.subtitle).count("<br>") + 1
                for t in ("soft: a weighted mix", f"hard: {picked}"))
    top = int(lines * sizing.line_px(s.subtitle) + 12)
    fig.update_layout(showlegend=False)
    return style(fig, presenter, dark=dark, width=int(left + 2 * panel + gap + 20),
                 height=int(top + n * panel + (n - 1) * gap + 12),
                 margin=dict(l=left, r=20, t=top, b=12))
