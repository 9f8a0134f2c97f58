"""The one figure theme: type sizes (normal and presenter), colours for the app's light and dark
backgrounds, and `apply()`, which every figure builder in viz/ calls last.

Why every element's size is set by name: st.plotly_chart's default theme ("streamlit") writes
its own 12-14 px sizes for ticks, axis titles, legend, hover labels and colour bars into the
figure's *template*, and a template's per-element size wins over `layout.font.size`. A size (or
colour) set in the layout itself wins over any template, so apply() sets each one there.

Colours: a figure is drawn for one background, light (default) or dark (`dark=True`): paper,
text, grid and the colour scales all follow it, so a figure reads the same in the app, in a
notebook and as a downloaded PNG. On the dark background the weight scales start at the first
colour with a 3:1 contrast against it (WCAG 2.1 non-text contrast), so a weight near 0 is still
a visible cell rather than a hole in the page; on the light background the full scales already
start dark (about 15:1).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from plotly.colors import hex_to_rgb, sample_colorscale, unlabel_rgb

ATTENTION_SCALE = "Viridis"          # perceptually uniform, readable in print
PRESENTER_SCALE = "Cividis"          # high contrast on a washed-out projector, colour-blind safe
DIVERGING_SCALE = "RdBu_r"           # signed values (scores, encodings)
HEAD_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
                "#7b4173", "#3182bd"]
# The app's backgrounds and text colours (.streamlit/config.toml, [theme.light] / [theme.dark]).
LIGHT = dict(bg="#ffffff", text="#15181f", grid="#e3e6ec", line="#9aa1ad")
DARK = dict(bg="#0f1116", text="#eef1f6", grid="#2c313c", line="#6b7280")
MIN_CONTRAST = 3.0                   # WCAG 2.1 (1.4.11): graphical objects against the page


@dataclass(frozen=True)
class TypeSizes:
    """Font sizes in CSS pixels of each kind of text in a figure."""
    base: int          # layout.font: anything not named below
    tick: int          # tick labels (token names)
    axis_title: int
    title: int         # the figure's title
    subtitle: int      # subplot titles and other annotations
    colorbar: int      # colour-bar tick labels and title
    hover: int
    legend: int
    cell: int          # numbers or marks written inside cells


NORMAL_SIZES = TypeSizes(base=13, tick=12, axis_title=14, title=17, subtitle=14, colorbar=12,
                         hover=13, legend=13, cell=12)
# The back row of a lecture hall: every label >= 18 px, titles >= 22 px (issue 12).
PRESENTER_SIZES = TypeSizes(base=20, tick=20, axis_title=22, title=26, subtitle=22,
                            colorbar=20, hover=20, legend=20, cell=18)


def sizes(presenter: bool = False) -> TypeSizes:
    return PRESENTER_SIZES if presenter else NORMAL_SIZES


def palette(dark: bool = False) -> dict:
    """Background, text, grid and axis-line colours of the chosen background."""
    return DARK if dark else LIGHT


# ----------------------------------------------------------------------------- contrast
def _rgb(colour: str) -> tuple[float, float, float]:
    """(r, g, b) in 0..255 of '#rrggbb', 'rgb(r, g, b)' or 'rgba(r, g, b, a)'."""
    colour = colour.strip()
    if colour.startswith("#"):
        return tuple(float(v) for v in hex_to_rgb(colour))
    if colour.startswith("rgba"):
        colour = "rgb" + colour[4:colour.rindex(",")] + ")"
    return tuple(float(v) for v in unlabel_rgb(colour))


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of an sRGB colour, 0 (black) .. 1 (white)."""
    c = np.asarray(_rgb(colour)) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(lin @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio (L1 + 0.05) / (L2 + 0.05), 1 (same) .. 21 (black on white)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _resample(scale, lo: float, hi: float, n: int = 11) -> list:
    stops = np.linspace(0.0, 1.0, n)
    colours = sample_colorscale(scale, list(lo + (hi - lo) * stops), colortype="rgb")
    return [[float(s), c] for s, c in zip(stops, colours)]


def _first_visible(scale, bg: str, ts) -> float:
    for t in ts:
        if contrast_ratio(sample_colorscale(scale, [float(t)])[0], bg) >= MIN_CONTRAST:
            return float(t)
    raise ValueError(f"no colour of {scale!r} reaches {MIN_CONTRAST}:1 against {bg}")


def weight_scale(presenter: bool = False, dark: bool = False):
    """The sequential scale for weights in [0, 1]: Viridis (Cividis when presenting) on the
    light background; on the dark one the same scale from its first colour with a 3:1 contrast
    against the background (so the lowest weight stays visible), resampled over 11 stops."""
    base = PRESENTER_SCALE if presenter else ATTENTION_SCALE
    if not dark:
        return base
    return _resample(base, _first_visible(base, DARK["bg"], np.linspace(0, 1, 201)), 1.0)


def diverging_scale(dark: bool = False):
    """The signed scale (blue < 0 < red); on the dark background both ends are trimmed
    symmetrically until each has a 3:1 contrast against it, so 0 stays at the centre."""
    if not dark:
        return DIVERGING_SCALE
    lo = max(_first_visible(DIVERGING_SCALE, DARK["bg"], np.linspace(0, 0.5, 101)),
             1 - _first_visible(DIVERGING_SCALE, DARK["bg"], np.linspace(1, 0.5, 101)))
    return _resample(DIVERGING_SCALE, lo, 1 - lo)


def _mix(colour: str, target: str, f: float) -> str:
    a, b = np.asarray(_rgb(colour)), np.asarray(_rgb(target))
    r, g, bl = np.round(a + (b - a) * f).astype(int)
    return f"#{r:02x}{g:02x}{bl:02x}"


def line_colours(dark: bool = False) -> list[str]:
    """HEAD_COLOURS, each lightened (mixed toward white in 5 % steps) until it has a 3:1
    contrast against the chosen background; on the light background all already have."""
    bg = palette(dark)["bg"]
    out = []
    for c in HEAD_COLOURS:
        f = 0.0
        while contrast_ratio(_mix(c, "#ffffff" if dark else "#000000", f), bg) < MIN_CONTRAST:
            f += 0.05
        out.append(_mix(c, "#ffffff" if dark else "#000000", f))
    return out


def title_margin(lines: int, font_px: float) -> int:
    """Top margin in px that holds a title of `lines` lines. Plotly puts the first line's
    baseline at the middle of the top margin and the others below it (1.3 em apart), so the
    margin is twice the larger of the first line's ascent and the rest's depth, plus 4 px; a
    wrapped title gets 0.35 em more per extra line (plotly.js 4 sets the block lower than 3,
    the version inside Streamlit 1.67: measured in both)."""
    if lines <= 0:
        return 20
    depth = max(0.95 * font_px, (lines - 1) * 1.65 * font_px + 0.25 * font_px) + 4
    return int(round(2 * depth))


# ----------------------------------------------------------------------------- apply
def _colorbar_update(s: TypeSizes, text: str) -> dict:
    return dict(tickfont=dict(size=s.colorbar, color=text),
                title=dict(font=dict(size=s.colorbar, color=text)))


def apply(fig, presenter: bool = False, dark: bool = False, height: int | None = None,
          width: int | None = None, margin: dict | None = None):
    """Size and colour every text element of fig for the mode and background (in place).

    Sets tick labels, axis titles, title, subplot titles (annotations with no size or one
    smaller than the tick labels'), colour bars (trace and coloraxis ones), legend and hover labels; paper, plot, text,
    grid and axis-line colours. height/width in px when given; margin (l, r, t, b) when given,
    else 10 px around and room for the title. Returns fig.
    """
    s, p = sizes(presenter), palette(dark)
    lines = fig.layout.title.text.count("<br>") + 1 if fig.layout.title.text else 0
    fig.update_layout(
        template="plotly_dark" if dark else "plotly_white",
        font=dict(size=s.base, color=p["text"]), paper_bgcolor=p["bg"], plot_bgcolor=p["bg"],
        title=dict(font=dict(size=s.title, color=p["text"])),
        legend=dict(font=dict(size=s.legend, color=p["text"]),
                    title=dict(font=dict(size=s.legend, color=p["text"]))),
        hoverlabel=dict(font=dict(size=s.hover)),
        margin=margin or dict(l=10, r=10, t=title_margin(lines, s.title), b=10))
    fig.update_layout(margin_pad=0)        # Streamlit's template pads the plot area (a grey
                                           # frame of plot background around every heatmap)
    axis = dict(tickfont=dict(size=s.tick, color=p["text"]), gridcolor=p["grid"],
                zerolinecolor=p["grid"], linecolor=p["line"], tickcolor=p["line"],
                title=dict(font=dict(size=s.axis_title, color=p["text"]), standoff=8))
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    for ann in fig.layout.annotations:
        if ann.font.size is None or ann.font.size < s.tick:   # unset, or too small to read
            ann.font.size = s.subtitle
        if ann.font.color is None:
            ann.font.color = p["text"]
    for trace in fig.data:
        if "colorbar" in trace:
            trace.colorbar.update(_colorbar_update(s, p["text"]))
        if "marker" in trace and trace.marker.showscale:            # only a shown bar: a
            trace.marker.colorbar.update(_colorbar_update(s, p["text"]))  # colorbar makes one
    for name in fig.layout:
        if name.startswith("coloraxis"):
            fig.layout[name].colorbar.update(_colorbar_update(s, p["text"]))
    if height:
        fig.update_layout(height=int(height))
    if width:
        fig.update_layout(width=int(width))
    return fig
