"""The ViT paper's position-embedding figure: one small similarity map per patch, each laid out
at its own place on the patch grid (Dosovitskiy et al. 2021, figure 7, centre).

Drawn as ONE heatmap, a g² × g² mosaic of g × g blocks with thin lines between the blocks, not
g² subplots: a 14 × 14 grid (ViT-B/16) is one trace of 196 × 196 square cells, built in
milliseconds (the subplot version took over ten seconds) and drawn as fast. Block (r, c), at
row r and column c of the grid, is the cosine similarity of patch (r, c)'s embedding with every
patch's; grid rows are labelled on the left, columns below, and hover names both patches.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from viz import sizing
from viz.common import style, to_numpy
from viz.theme import diverging_scale, palette, sizes, title_margin


def mosaic(sim: np.ndarray, g: int) -> np.ndarray:
    """(g², g²) similarities, row k = patch k against every patch -> (g², g²) mosaic whose
    block (r, c) is row r·g + c reshaped to (g, g): z[r·g + i, c·g + j] = sim[r·g + c, i·g + j]."""
    return sim.reshape(g, g, g, g).transpose(0, 2, 1, 3).reshape(g * g, g * g)


def position_similarity_grid(sim, grid_size: int, title: str | None = None,
                             presenter: bool = False, *, dark: bool = False,
                             width: int | None = None):
    """Panel (r, c), at row r and column c of the patch grid, is the cosine similarity of patch
    (r, c)'s position embedding with every patch's, as a grid_size × grid_size map. Panels are
    square and fill width (default: half the mode's content width, the page's column); grid
    rows are numbered on the left, columns below (thinned where they would touch)."""
    s = to_numpy(sim).astype(np.float64)
    g = int(grid_size)
    if g < 1 or s.shape != (g * g, g * g):
        raise ValueError(f"sim must be ({g * g}, {g * g}) for a {g}×{g} grid (without CLS), "
                         f"got {s.shape}")
    st = sizes(presenter)
    W = sizing.content_width(presenter=presenter) // 2 if width is None else int(width)
    label = sizing.text_px(str(g - 1), st.tick) + 8
    left = int(label + sizing.line_px(st.axis_title) + 14)
    right = sizing.colorbar_px(presenter)
    bottom = int(sizing.line_px(st.tick) + sizing.line_px(st.axis_title) + 14)
    span = max(2.0 * g * g, W - left - right)                            # plot area, px (square)
    heading = sizing.wrap(title or "position embedding similarity", left + right + span - 20,
                          st.title)
    top = title_margin(heading.count("<br>") + 1, st.title)
    tallest = sizing.height_limit(presenter=presenter) - top - bottom    # seen whole on screen
    if span > tallest:
        span = max(2.0 * g * g, tallest)
        heading = sizing.wrap(heading.replace("<br>", " "), left + right + span - 20, st.title)
        top = title_margin(heading.count("<br>") + 1, st.title)
    panel = span / g
    n = g * g
    r, c, i, j = np.indices((g, g, g, g)).reshape(4, n, n)              # block row/col, cell
    who = np.stack([r, c, i, j], axis=-1).reshape(g, g, g, g, 4)         # indices of z's cells
    who = who.transpose(0, 2, 1, 3, 4).reshape(n, n, 4).astype(np.uint8)  # (n, n, 4)
    fig = go.Figure(go.Heatmap(
        z=mosaic(s, g).astype(np.float32), customdata=who, coloraxis="coloraxis", name="similarity",
        hovertemplate="patch (%{customdata[0]}, %{customdata[1]}) vs (%{customdata[2]}, "
                      "%{customdata[3]}): %{z:.2f}<extra></extra>"))
    step = sizing.label_step(panel, max(label, sizing.line_px(st.tick)))
    ticks = [k * g + (g - 1) / 2 for k in range(0, g, step)]
    names = [str(k) for k in range(0, g, step)]
    axis = dict(tickvals=ticks, ticktext=names, ticks="", showgrid=False, zeroline=False,
                constrain="domain", range=[-0.5, n - 0.5])
    fig.update_xaxes(title="patch column", **axis)
    fig.update_yaxes(title="patch row", scaleanchor="x", scaleratio=1, autorange=False,
                     **{**axis, "range": [n - 0.5, -0.5]})
    gap = palette(dark)["bg"]                                          # lines: the page
    line = dict(color=gap, width=1 if panel < 24 else 2)
    edges = [k * g - 0.5 for k in range(1, g)]
    fig.update_layout(shapes=[dict(type="line", xref="x", yref="y", line=line, layer="above",
                                   x0=e, x1=e, y0=-0.5, y1=n - 0.5) for e in edges]
                      + [dict(type="line", xref="x", yref="y", line=line, layer="above",
                              x0=-0.5, x1=n - 0.5, y0=e, y1=e) for e in edges])
    fig.update_layout(coloraxis=dict(colorscale=diverging_scale(dark), cmin=-1.0, cmax=1.0,
                                     colorbar=sizing.colorbar_spec(presenter, "cosine")),
                      title=heading)
    return style(fig, presenter, dark=dark, width=int(left + right + span + 2),
                 height=int(top + span + bottom), margin=dict(l=left, r=right, t=top, b=bottom))
