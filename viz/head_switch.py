"""One attention map whose head changes in the browser: every head of a layer is sent once, at
display precision, and plotly's own buttons ("H0", "H1", ...) switch between them without a
server round trip.

Display precision: each head's weights are quantised to integer levels over that head's own
range [lo, hi] (lo + level * step, error <= step / 2), as uint16 while the layer fits in
`max_bytes` at two bytes a cell, else as uint8; one more level marks a masked cell. Plotly 7 sends
numpy integer arrays as base64 typed arrays, so a 12-head layer at 512 tokens is 3.1 MB of levels
(4.2 MB of JSON) instead of 25 MB of float64.

The figure is complete on its own: colours are exact (each trace's zmin/zmax are the weight range
expressed in its own levels), its colour bar is labelled in weights, masked cells are grey (an
overlay trace per distinct mask) with an "×" on small maps, and the title names the head shown.
Its hover shows the level; `ui.head_switch` decodes the levels in the browser (trace `meta`
carries lo, step, the masked level and the hover template in weights) so the app's hover shows
the weight to the precision sent. Queries run down the y axis, keys along x, as in
viz.attention.attention_heatmap, whose sizing and theme this reuses.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from viz import sizing
from viz.common import to_numpy
from viz.maps import BLOCKED_BG, MAX_MARKED_CELLS, _labels, _scale, square_map
from viz.theme import palette, sizes

MAX_BYTES = 4 * 2**20          # what the levels of one layer may take (a few MB as JSON)
MASKED = 0                     # the level of a masked cell
HOVER_LEVEL = "query %{{y}} → key %{{x}}: level %{{z}} of {n}<extra>H{h}</extra>"
HOVER_WEIGHT = "query %{{y}} → key %{{x}}: weight %{{z:.{d}f}}<extra></extra>"
BUTTON_GAP = 4                 # px between head buttons
TRANSPARENT = "rgba(0,0,0,0)"


class NoRoom(ValueError):
    """A map too narrow for its head buttons: plotly places them in paper coordinates, at most
    two plot widths right of the plot, and a tiny map's colour bar alone can take more. Such a
    map is cheap to redraw per head (ui.head_switch falls back to that)."""


@dataclass(frozen=True)
class Quantised:
    """Integer levels of every head: weight ~= base[h] + levels[h] * step[h] for levels 1.. ;
    level 0 marks a masked cell (zero bytes stay short in base64: "AAAA", where 0xFF would be
    "////", which plotly's JSON writes as 6-byte escapes). decimals[h]: the decimals a weight
    of head h is shown with (its precision)."""
    levels: np.ndarray        # (H, Tq, Tk) uint8 or uint16
    base: np.ndarray          # (H,) float64: the weight of level 0 if it were one
    step: np.ndarray          # (H,) float64, > 0
    top: int                  # the highest level
    decimals: np.ndarray      # (H,) int

    def weights(self) -> np.ndarray:
        """(H, Tq, Tk) float64 decoded weights, NaN on masked cells."""
        w = self.base[:, None, None] + self.levels * self.step[:, None, None]  # (H, Tq, Tk)
        return np.where(self.levels == MASKED, np.nan, w)


def level_dtype(H: int, Tq: int, Tk: int, max_bytes: int = MAX_BYTES) -> np.dtype:
    """uint16 when H*Tq*Tk cells fit in max_bytes at two bytes each, else uint8."""
    return np.dtype(np.uint16 if 2 * H * Tq * Tk <= max_bytes else np.uint8)


def fits(H: int, Tq: int, Tk: int, max_bytes: int = MAX_BYTES) -> bool:
    """Whether a layer can be sent whole (one byte a cell) within max_bytes."""
    return H * Tq * Tk <= max_bytes


def quantise(weights, blocked=None, dtype=np.uint8) -> Quantised:
    """weights (H, Tq, Tk) -> levels 1..top spread over each head's own range of allowed cells
    (lo -> 1, hi -> top). blocked (H, Tq, Tk) bool, True = masked: level 0."""
    w = np.asarray(weights)
    H = w.shape[0]
    dtype = np.dtype(dtype)
    top = int(np.iinfo(dtype).max)
    blocked = np.zeros(w.shape, bool) if blocked is None else np.asarray(blocked, bool)
    levels = np.empty(w.shape, dtype)                                # (H, Tq, Tk)
    base, step = np.zeros(H), np.ones(H)
    buf = np.empty(w.shape[1:], np.float64)                          # (Tq, Tk) one head
    for h in range(H):
        vals = w[h][~blocked[h]]                                     # (n,) allowed weights
        if vals.size and not np.isfinite(vals).all():
            raise ValueError("weights must be finite on every allowed cell")
        lo, hi = (float(vals.min()), float(vals.max())) if vals.size else (0.0, 0.0)
        step[h] = (hi - lo) / (top - 1) if hi > lo else 1.0
        base[h] = lo - step[h]                                       # level 1 = lo
        np.multiply(w[h], 1.0 / step[h], out=buf, casting="unsafe")
        buf -= base[h] / step[h]
        np.rint(buf, out=buf)
        np.clip(buf, 1, top, out=buf)
        buf[blocked[h]] = MASKED
        levels[h] = buf
    decimals = np.where(step / 2 <= 0.0005, 3, 2)                    # the error fits them
    return Quantised(levels, base, step, top, decimals)


def nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """About n round values (1, 2 or 5 times a power of ten apart) within [lo, hi]."""
    if hi <= lo:
        return [float(lo)]
    raw = (hi - lo) / max(1, n - 1)
    p = 10.0 ** np.floor(np.log10(raw))
    d = p * min(m for m in (1, 2, 5, 10) if m * p >= raw * 0.999)
    first = np.ceil(lo / d - 1e-9) * d
    return [round(float(v), 12) + 0.0 for v in np.arange(first, hi + d * 1e-9, d)]


def tick_text(v: float, d: float) -> str:
    """v written as plotly writes an axis tick d apart: 0, 0.2, 1, 0.005."""
    decimals = max(0, int(-np.floor(np.log10(d) + 1e-9)))
    text = f"{v:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _button_size(H: int, presenter: bool) -> tuple[float, float]:
    """Width and height in px of one head button (plotly pads a label by 24 px across)."""
    font = sizes(presenter).legend
    return (max(30.0, 1.1 * sizing.text_px(f"[H{H - 1}]", font) + 24),   # bold when chosen
            max(30.0, sizing.line_px(font) + 10))


def multi_head_heatmap(weights, q_labels, k_labels, head: int = 0, title=None, zmin=0.0,
                       zmax=1.0, presenter: bool = False, mask=None, *, dark: bool = False,
                       width: int | None = None, max_height: int | None = None,
                       max_labels: int = 48, max_bytes: int = MAX_BYTES) -> go.Figure:
    """weights (H, Tq, Tk) of one layer as one map showing head `head`, with a button per head
    that shows that head instead, in the browser.

    title: text; "{head}" in it is replaced by the head shown. zmin/zmax: the colour range in
    weights (None: each head's own range, like attention_heatmap's). mask (Tq, Tk) or
    (H, Tq, Tk) bool, True = may attend. Sized like attention_heatmap (square cells, thinned
    labels, presenter sizes) within width, the buttons in columns right of the colour bar.
    Trace order: the H head maps, then one overlay per distinct mask; the "×" marks of small
    maps are path shapes.
    """
    w = to_numpy(weights)                                            # (H, Tq, Tk)
    if w.ndim != 3:
        raise ValueError(f"expected (heads, queries, keys) weights, got shape {w.shape}")
    H, Tq, Tk = w.shape
    if not 0 <= int(head) < H:
        raise ValueError(f"head {head} is not one of the {H} heads")
    head = int(head)
    q, k = _labels(q_labels, Tq, "query"), _labels(k_labels, Tk, "key")
    blocked = np.zeros(w.shape, bool)                                # (H, Tq, Tk)
    if mask is not None:
        allowed = to_numpy(mask).astype(bool)
        blocked = ~np.broadcast_to(allowed, w.shape)                 # (H, Tq, Tk)
    qz = quantise(w, blocked, level_dtype(H, Tq, Tk, max_bytes))
    xs = [f"{t} @{j}" for j, t in enumerate(k)]                       # unique category names
    ys = [f"{t} @{i}" for i, t in enumerate(q)]
    auto = zmin is None or zmax is None
    fig = go.Figure()
    for h in range(H):
        lo, step = float(qz.base[h]), float(qz.step[h])             # weight = lo + level*step
        if auto:
            used = qz.levels[h][qz.levels[h] != MASKED]
            wmin = lo + step * (float(used.min()) if used.size else 1.0)
            wmax = lo + step * (float(used.max()) if used.size else 1.0)
        else:
            wmin, wmax = float(zmin), float(zmax)
        if wmax <= wmin:                   # one value: plotly's own rule, +-0.5 around it
            wmin, wmax = wmin - 0.5, wmin + 0.5
        ticks = nice_ticks(wmin, wmax)
        d = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
        text = [tick_text(t, d) for t in ticks]
        fig.add_trace(go.Heatmap(
            z=qz.levels[h], x=xs, y=ys, visible=h == head, colorscale=_scale(presenter, dark),
            zmin=(wmin - lo) / step, zmax=(wmax - lo) / step,
            hovertemplate=HOVER_LEVEL.format(n=qz.top, h=h), hoverongaps=False, name=f"H{h}",
            colorbar=dict(tickmode="array", tickvals=[(t - lo) / step for t in ticks],
                          ticktext=text),
            meta=dict(head=h, base=lo, step=step, masked=MASKED, zmin=wmin, zmax=wmax,
                      ticks=ticks, ticktext=text,
                      hover=HOVER_WEIGHT.format(d=int(qz.decimals[h])))))
    owner = _mask_overlays(fig, blocked, xs, ys, head)               # (H,) overlay of a head
    titles = [str(title).replace("{head}", str(h)) if title else None for h in range(H)]
    size, columns = _fit(fig, H, Tq, Tk, q, k, xs, ys, titles[head], presenter, dark, width,
                         max_height, max_labels)
    marks = _marks(fig, blocked, presenter, size.cell, owner, head)  # (H,) shape of a head
    _buttons(fig, H, head, titles, columns, size, presenter, dark, owner, marks)
    fig.update_layout(plot_bgcolor=BLOCKED_BG, meta=dict(heads=H))
    return fig


def _fit(fig, H, Tq, Tk, q, k, xs, ys, title, presenter, dark, width, max_height, max_labels):
    """Size the map as attention_heatmap would in the width left beside the columns of head
    buttons (right of the colour bar, where a height-bound map leaves room), with as many
    columns as the map's height needs. -> (size, [[heads of a column], ...])."""
    W = sizing.content_width(presenter=presenter) if width is None else int(width)
    bw, bh = _button_size(H, presenter)
    n = 1
    for _ in range(4):
        size = square_map(fig, Tq, Tk, q, k, title, presenter, dark,
                          int(W - n * (bw + BUTTON_GAP) - 8), max_height, max_labels,
                          categories=(ys, xs))
        room = size.height - size.margin["t"]           # beside the map and its key labels
        per = max(min(H, 6), int((room + BUTTON_GAP) // (bh + BUTTON_GAP)))
        plot_w = size.width - size.margin["l"] - size.margin["r"]
        most = max(1, int((2 * plot_w - size.margin["r"]) // (bw + BUTTON_GAP)))  # x <= 3
        per = max(per, -(-H // most))                   # else longer columns, a taller figure
        if -(-H // per) <= n:
            break
        n = -(-H // per)
    return size, [list(range(c, min(H, c + per))) for c in range(0, H, per)]


def _mask_overlays(fig, blocked: np.ndarray, xs, ys, head: int) -> list:
    """One grey overlay per distinct mask (transparent where allowed, never hovered).
    Returns, for every head, the trace index of its overlay (None: nothing masked)."""
    index: dict[bytes, int] = {}
    owner = []
    for h in range(blocked.shape[0]):
        if not blocked[h].any():
            owner.append(None)
            continue
        key = np.packbits(blocked[h]).tobytes()
        if key not in index:
            index[key] = len(fig.data)
            fig.add_trace(go.Heatmap(
                z=blocked[h].astype(np.uint8), x=xs, y=ys, zmin=0, zmax=1, showscale=False,
                colorscale=[[0, TRANSPARENT], [1, BLOCKED_BG]], hoverinfo="skip",
                name="masked", visible=False))
        owner.append(index[key])
    if owner[head] is not None:
        fig.data[owner[head]].visible = True
    return owner


def _marks(fig, blocked, presenter: bool, cell: float, owner: list, head: int) -> list:
    """An "×" on masked cells of small maps: one path shape per overlay, drawn when its overlay
    is (one SVG path, cheap to redraw on a switch, where a text trace of "×" was slow).
    Returns, for every head, the index of its shape (None: none)."""
    font = sizes(presenter).cell
    if blocked[0].size > MAX_MARKED_CELLS or cell < font:
        return [None] * len(owner)
    r = min(0.3, 0.25 * font / cell)                                 # half an arm, in cells
    shape_of = {}
    for idx in sorted({o for o in owner if o is not None}):
        qi, kj = np.nonzero(blocked[owner.index(idx)])               # (n,), (n,)
        path = "".join(f"M{j - r:.3f},{i - r:.3f}L{j + r:.3f},{i + r:.3f}"
                       f"M{j + r:.3f},{i - r:.3f}L{j - r:.3f},{i + r:.3f}"
                       for i, j in zip(qi, kj))
        shape_of[idx] = len(fig.layout.shapes)
        fig.add_shape(type="path", path=path, xref="x", yref="y", layer="above",
                      visible=owner[head] == idx,
                      line=dict(color="#555555", width=2 if presenter else 1.5))
    return [shape_of.get(o) for o in owner]


def _visible(fig, h: int, H: int, owner: list) -> list[bool]:
    """Which traces show head h: its map and its mask overlay."""
    return [i == h if i < H else i == owner[h] for i in range(len(fig.data))]


def _buttons(fig, H: int, head: int, titles, columns, size, presenter: bool, dark: bool,
             owner: list, marks: list) -> None:
    """Columns of "H0".."H{H-1}" buttons right of the colour bar; each shows its head, writes
    the title for it and marks itself in bold. Widens the figure by the columns."""
    s, p = sizes(presenter), palette(dark)
    bw, bh = _button_size(H, presenter)
    wrap_px = max(size.width + len(columns) * (bw + BUTTON_GAP) - 12, 200)  # the whole figure
    # bold, as Streamlit's theme draws the first one (else a click would change the weight)
    titles = [f"<b>{sizing.wrap(t, wrap_px, s.title)}</b>" if t else None for t in titles]
    m = dict(size.margin)
    plot_w = size.width - m["l"] - m["r"]

    def label(h: int, chosen: int) -> str:
        return f"<b>[H{h}]</b>" if h == chosen else f"H{h}"

    at = [1 + (m["r"] + c * (bw + BUTTON_GAP)) / plot_w for c in range(len(columns))]
    if at[-1] > 3:                                   # plotly's limit for updatemenu x
        raise NoRoom(f"a {plot_w:.0f}-px-wide map leaves no room for {len(columns)} "
                     f"column(s) of head buttons right of its colour bar")
    menus = []
    for c, column in enumerate(columns):
        buttons = []
        for h in column:
            relabel = {f"updatemenus[{c2}].buttons[{i}].label": label(h2, h)
                       for c2, col2 in enumerate(columns) for i, h2 in enumerate(col2)}
            shapes = {f"shapes[{j}].visible": j == marks[h]
                      for j in sorted({m for m in marks if m is not None})}
            buttons.append(dict(label=label(h, head), method="update",
                                args=[{"visible": _visible(fig, h, H, owner)},
                                      {"title.text": titles[h], **relabel, **shapes}]))
        menus.append(dict(type="buttons", direction="down", showactive=False,
                          x=at[c], xanchor="left",
                          y=1, yanchor="top", buttons=buttons, pad=dict(t=0, l=0),
                          font=dict(size=s.legend, color=p["text"]), bgcolor=p["bg"],
                          bordercolor=p["line"], borderwidth=1))
    extra = len(columns) * (bw + BUTTON_GAP) + 8
    m["r"] = int(m["r"] + extra)
    tall = m["t"] + max(len(c) for c in columns) * (bh + BUTTON_GAP) + 8
    fig.update_layout(updatemenus=menus, margin=m, width=int(size.width + extra),
                      height=int(max(size.height, tall)), title_text=titles[head])
