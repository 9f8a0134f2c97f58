"""ViT figures: an image with its patch grid, attention over patches overlaid on the image,
all heads at once, class probabilities, and the position-embedding similarity grid.

Pixel (row r, col c) is drawn at x = c, y = r with the y axis reversed, so patch boundaries lie at
k·p − 0.5. Patches are numbered row-major: patch k covers rows (k // gw)·p.. and cols (k % gw)·p..
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from viz import sizing
from viz.common import style, to_numpy
from viz.pe_grid import position_similarity_grid  # noqa: F401 (re-export)
from viz.theme import PRESENTER_SCALE, sizes

GREY = [[0.0, "black"], [1.0, "white"]]
HIGHLIGHT = "#d62728"
GRID_LINE = dict(color="rgba(255,255,255,0.55)", width=1)


def _as_image(image) -> np.ndarray:
    """(H, W) or (H, W, 3) float in [0, 1]; (1, H, W) / (3, H, W) channels-first also accepted."""
    img = to_numpy(image)
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[-1] not in (1, 3):
        img = np.moveaxis(img, 0, -1)                                    # (C, H, W) -> (H, W, C)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]                                                # (H, W, 1) -> (H, W)
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[-1] != 3):
        raise ValueError(f"image must be (H, W) or (H, W, 3), got {img.shape}")
    img = img.astype(np.float64)
    if np.issubdtype(to_numpy(image).dtype, np.integer) or img.max(initial=0) > 1.0:
        img = img / 255.0
    return np.clip(img, 0.0, 1.0)


def _grid_shape(img: np.ndarray, patch_size: int) -> tuple[int, int]:
    H, W = img.shape[:2]
    if patch_size < 1 or H % patch_size or W % patch_size:
        raise ValueError(f"image {H}×{W} is not divisible into {patch_size}×{patch_size} patches")
    return H // patch_size, W // patch_size


def _patch_index(H: int, W: int, p: int) -> np.ndarray:
    """(H, W) int: the row-major patch number of each pixel."""
    gw = W // p
    rows, cols = np.indices((H, W))                                      # (H, W) each
    return (rows // p) * gw + cols // p


def _image_trace(img: np.ndarray, p: int) -> go.BaseTraceType:
    """Grey image -> Heatmap, colour image -> go.Image; hover names the patch."""
    H, W = img.shape[:2]
    hover = "patch %{customdata}<br>row %{y}, col %{x}<extra></extra>"
    custom = _patch_index(H, W, p)                                       # (H, W)
    if img.ndim == 3:
        return go.Image(z=np.round(img * 255).astype(np.uint8), customdata=custom,
                        hovertemplate=hover, name="image")
    return go.Heatmap(z=img, colorscale=GREY, zmin=0.0, zmax=1.0, showscale=False,
                      customdata=custom, hovertemplate=hover, name="image")


def _heat_scale(presenter: bool) -> list:
    """A sequential scale whose low end is fully transparent, so weak attention shows the image."""
    base = PRESENTER_SCALE if presenter else "Inferno"
    stops = np.linspace(0.0, 1.0, 11)
    colours = sample_colorscale(base, list(stops), colortype="rgb")
    scale = [[float(s), c.replace("rgb(", "rgba(").replace(")", ",1)")] for s, c in zip(stops, colours)]
    scale[0][1] = "rgba(0,0,0,0)"
    return scale


def _image_axes(fig, row=None, col=None, ticks: bool = True) -> None:
    """Upright image, square pixels, no padding around the picture."""
    kw = {} if row is None else dict(row=row, col=col)
    fig.update_xaxes(constrain="domain", showgrid=False, zeroline=False, showticklabels=ticks, **kw)
    fig.update_yaxes(autorange="reversed", constrain="domain", showgrid=False, zeroline=False,
                     showticklabels=ticks, **kw)
    # scaleanchor must name the partner axis of this particular subplot
    for yaxis in fig.select_yaxes(**kw):
        xname = yaxis.anchor or "x"
        yaxis.update(scaleanchor=xname, scaleratio=1)


def _grid_shapes(H: int, W: int, p: int, xref="x", yref="y") -> list[dict]:
    """(gw − 1) vertical + (gh − 1) horizontal lines at the patch boundaries."""
    v = [dict(type="line", xref=xref, yref=yref, x0=k * p - 0.5, x1=k * p - 0.5,
              y0=-0.5, y1=H - 0.5, line=GRID_LINE) for k in range(1, W // p)]
    h = [dict(type="line", xref=xref, yref=yref, y0=k * p - 0.5, y1=k * p - 0.5,
              x0=-0.5, x1=W - 0.5, line=GRID_LINE) for k in range(1, H // p)]
    return v + h


def patch_rectangle(query_patch: int, grid_w: int, patch_size: int) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) pixel-edge coordinates of a row-major patch index."""
    r, c = divmod(int(query_patch), grid_w)
    p = patch_size
    return c * p - 0.5, r * p - 0.5, (c + 1) * p - 0.5, (r + 1) * p - 0.5


def image_with_grid(image, patch_size: int, title: str | None = None, presenter: bool = False,
                    *, dark: bool = False):
    """The input image with its patch grid; hover shows the patch number (row-major)."""
    img = _as_image(image)                                               # (H, W) or (H, W, 3)
    H, W = img.shape[:2]
    gh, gw = _grid_shape(img, patch_size)
    fig = go.Figure(_image_trace(img, patch_size))
    fig.update_layout(shapes=_grid_shapes(H, W, patch_size),
                      title=title or f"{gh}×{gw} = {gh * gw} patches of {patch_size}×{patch_size}")
    _image_axes(fig)
    return style(fig, presenter, dark=dark, height=460 if presenter else 400)


def _attention_grid(attention, gh: int, gw: int) -> np.ndarray:
    """(gh, gw) or flat (gh·gw,) attention over patches -> (gh, gw)."""
    att = to_numpy(attention).astype(np.float64)
    if att.ndim == 1 and att.size == gh * gw:
        att = att.reshape(gh, gw)                                        # (N,) -> (gh, gw)
    if att.shape != (gh, gw):
        raise ValueError(f"attention of shape {att.shape} does not match the {gh}×{gw} patch grid "
                         "(drop the CLS column first)")
    return att


def _heat_trace(att: np.ndarray, p: int, alpha: float, presenter: bool,
                showscale: bool) -> go.Heatmap:
    """att (gh, gw) upsampled to pixels, transparent where 0, scaled to its own maximum."""
    up = np.kron(att, np.ones((p, p)))                                   # (gh, gw) -> (H, W)
    return go.Heatmap(z=up, opacity=alpha, name="attention", customdata=_patch_index(*up.shape, p),
                      colorscale=_heat_scale(presenter), zmin=0.0,
                      zmax=float(max(att.max(), 1e-12)), showscale=showscale,
                      colorbar=sizing.colorbar_spec(presenter, "attention"),
                      hovertemplate="patch %{customdata}<br>attention %{z:.3f}<extra></extra>")


def attention_overlay(image, attention, patch_size: int, title: str | None = None,
                      alpha: float = 0.6, presenter: bool = False, query_patch: int | None = None,
                      *, dark: bool = False):
    """The image with attention over its patches (gh, gw) upsampled to pixels on top."""
    img = _as_image(image)                                               # (H, W) or (H, W, 3)
    H, W = img.shape[:2]
    gh, gw = _grid_shape(img, patch_size)
    att = _attention_grid(attention, gh, gw)                             # (gh, gw)
    fig = go.Figure([_image_trace(img, patch_size),
                     _heat_trace(att, patch_size, alpha, presenter, showscale=True)])
    if query_patch is not None:
        if not 0 <= query_patch < gh * gw:
            raise ValueError(f"query_patch {query_patch} outside 0..{gh * gw - 1}")
        x0, y0, x1, y1 = patch_rectangle(query_patch, gw, patch_size)
        fig.add_shape(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, name="query",
                      line=dict(color="#00e5ff", width=3))
    fig.update_layout(title=title)
    _image_axes(fig)
    return style(fig, presenter, dark=dark, height=500 if presenter else 420)


def with_patch_targets(fig, grid_h: int, grid_w: int, patch_size: int, values=None,
                       label: str = "attention"):
    """Make each patch of an image figure clickable (in place; returns fig).

    Plotly can select scatter markers but not heatmap cells, so an invisible square marker sits
    on each patch centre, customdata = its row-major patch number, and the hover moves from the
    heatmaps to the markers (with values (gh·gw,) shown as `label` when given).
    """
    for trace in fig.data:
        trace.hovertemplate = None
        trace.hoverinfo = "skip"
    p = int(patch_size)
    rows, cols = np.divmod(np.arange(grid_h * grid_w), grid_w)           # (N,) each
    hover = "patch %{customdata}"
    if values is not None:
        values = to_numpy(values).astype(np.float64).reshape(-1)         # (N,)
        hover += f"<br>{label} %{{text}}"
    fig.add_trace(go.Scatter(
        x=cols * p + (p - 1) / 2, y=rows * p + (p - 1) / 2, mode="markers",
        customdata=np.arange(grid_h * grid_w), name="patches", showlegend=False,
        text=None if values is None else [f"{v:.3f}" for v in values],
        marker=dict(symbol="square", size=max(8, 320 // max(grid_h, grid_w)), opacity=0.0),
        hovertemplate=hover + "<extra></extra>"))
    fig.update_xaxes(range=[-0.5, grid_w * p - 0.5], autorange=False)  # markers must not pad
    fig.update_yaxes(range=[grid_h * p - 0.5, -0.5], autorange=False)  # upright, as before
    return fig


def overlay_grid(image, attentions, patch_size: int, titles, cols: int = 4,
                 presenter: bool = False, *, dark: bool = False):
    """Small multiples: one overlay per map in attentions (n, gh, gw), e.g. every head at once.

    Each panel is scaled to its own maximum (where does this head look?), not a shared scale.
    """
    img = _as_image(image)                                               # (H, W) or (H, W, 3)
    gh, gw = _grid_shape(img, patch_size)
    maps = to_numpy(attentions)
    if maps.ndim == 2 and maps.shape[1] == gh * gw:
        maps = maps.reshape(-1, gh, gw)                                  # (n, N) -> (n, gh, gw)
    n = maps.shape[0]
    titles = [str(t) for t in titles]
    if len(titles) != n:
        raise ValueError(f"{len(titles)} titles for {n} maps")
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles,
                        horizontal_spacing=0.02, vertical_spacing=0.08 if rows > 1 else 0.0)
    for k in range(n):
        r, c = divmod(k, cols)
        att = _attention_grid(maps[k], gh, gw)                           # (gh, gw)
        fig.add_trace(_image_trace(img, patch_size), row=r + 1, col=c + 1)
        fig.add_trace(_heat_trace(att, patch_size, 0.6, presenter, showscale=False),
                      row=r + 1, col=c + 1)
        _image_axes(fig, row=r + 1, col=c + 1, ticks=False)
    fig.update_layout(showlegend=False)
    top = int(sizing.line_px(sizes(presenter).subtitle) + 12)            # room for row 1's titles
    return style(fig, presenter, dark=dark, height=max(240, (250 if presenter else 210) * rows),
                 margin=dict(l=10, r=10, t=top, b=10))


def class_probs(probs, class_names, presenter: bool = False, *, dark: bool = False):
    """Bar chart of class probabilities (C,), the predicted class highlighted."""
    p = to_numpy(probs).astype(np.float64).reshape(-1)                   # (C,)
    names = [str(n) for n in class_names]
    if len(names) != p.size:
        raise ValueError(f"{len(names)} class names for {p.size} probabilities")
    best = int(np.argmax(p))
    colours = np.array(["#9aa5b1"] * p.size, dtype=object)
    colours[best] = HIGHLIGHT
    fig = go.Figure(go.Bar(x=np.arange(p.size), y=p, marker_color=colours, text=names,
                           hovertemplate="%{text}: %{y:.3f}<extra></extra>", textposition="none"))
    fig.update_xaxes(tickvals=list(range(p.size)), ticktext=names)
    fig.update_yaxes(range=[0, 1], title="probability")
    fig.update_layout(title=f"prediction: {names[best]} ({p[best]:.0%})")
    return style(fig, presenter, dark=dark, height=460 if presenter else 400)


__all__ = ["image_with_grid", "attention_overlay", "overlay_grid", "class_probs",
           "position_similarity_grid", "patch_rectangle", "with_patch_targets"]
