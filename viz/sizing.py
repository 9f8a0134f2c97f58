"""How big a figure can be on the screens the app is used on, and how to fit labels in it.

Pure arithmetic, no plotly. Widths measured in headless Chromium on the app (Streamlit 1.67,
layout="wide", sidebar open): the sidebar is 300 px; the main block has 80 px of padding on each
side (5rem of a 16 px root font) and 100 px in presenter mode (its CSS sets a 20 px root). So

    content width = window width − 300 − 2 × padding
    1280×720 projector, presenter:  1280 − 300 − 200 =  780 px
    1280×720, normal:               1280 − 300 − 160 =  820 px
    1920×1080 screen, normal:       1920 − 300 − 160 = 1460 px
    1920×1080, presenter:           1920 − 300 − 200 = 1420 px

and a figure is seen whole when it is at most window height − 80 px tall (Streamlit's 60 px
top bar and a margin): 640 px at 720, 1000 px at 1080. Text widths are estimated, on the safe
side, as CHAR_EM × font size per character (digits are 0.50 em wide in Source Sans, the app's
font, 0.56-0.57 em in Arial and Open Sans, plotly's default); a text line takes LINE_EM × font
size.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from viz.theme import sizes, title_margin

SIDEBAR_PX = 300
PADDING_PX = {False: 80, True: 100}        # each side of the main block
TOP_PX = 80                                # top bar + margin: height not available to a figure
SCREENS = {"projector": (1280, 720), "screen": (1920, 1080)}
DEFAULT_SCREEN = {True: SCREENS["projector"], False: SCREENS["screen"]}
CHAR_EM = 0.6                              # labels: digits, short tokens (safe side)
PROSE_EM = 0.52                            # titles: mixed words (Arial-like fonts: 0.43-0.47)
LINE_EM = 1.3
GAP_PX = 4                                 # clear space between neighbouring labels
MAX_LABEL_CHARS = 14                       # longer tick labels are cut with "…" (hover has all)


def content_width(window_w: int | None = None, presenter: bool = False,
                  sidebar: bool = True) -> int:
    """Width in px of the main column for a browser window window_w px wide (default: the
    mode's screen, 1280 when presenting, 1920 otherwise)."""
    w = DEFAULT_SCREEN[bool(presenter)][0] if window_w is None else int(window_w)
    return max(200, w - (SIDEBAR_PX if sidebar else 0) - 2 * PADDING_PX[bool(presenter)])


def height_limit(window_h: int | None = None, presenter: bool = False) -> int:
    """The tallest figure that fits on the screen at once."""
    h = DEFAULT_SCREEN[bool(presenter)][1] if window_h is None else int(window_h)
    return max(240, h - TOP_PX)


def text_px(text, font_px: float, em: float = CHAR_EM) -> float:
    """Estimated rendered width of text (an upper bound for digits and lower case)."""
    return len(str(text)) * em * font_px


def line_px(font_px: float) -> float:
    return LINE_EM * font_px


def label_step(cell_px: float, label_px: float, gap_px: float = GAP_PX) -> int:
    """The smallest k such that labels on every k-th cell of size cell_px cannot overlap:
    k · cell_px >= label_px + gap_px."""
    if cell_px <= 0:
        raise ValueError(f"cell size must be positive, got {cell_px}")
    return max(1, math.ceil((label_px + gap_px) / cell_px - 1e-9))


def short(label, limit: int = MAX_LABEL_CHARS) -> str:
    s = str(label)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def wrap(text: str, width_px: float, font_px: float) -> str:
    """text broken at spaces into lines (joined by <br>) each estimated to fit width_px."""
    per_line = max(8, int(width_px / (PROSE_EM * font_px)))
    lines, line = [], ""
    for word in str(text).split(" "):
        if line and len(line) + 1 + len(word) > per_line:
            lines.append(line.rstrip())
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "<br>".join(lines)


@dataclass(frozen=True)
class HeatmapSize:
    width: int           # figure width, px
    height: int          # figure height, px
    cell: float          # side of one (square) cell, px
    margin: dict         # l, r, t, b in px
    x_step: int          # label every x_step-th key
    y_step: int          # label every y_step-th query
    x_angle: int         # 0: horizontal key labels, -90: vertical


def colorbar_thickness(presenter: bool) -> int:
    return 22 if presenter else 16


def colorbar_spec(presenter: bool, title: str = "weight") -> dict:
    """A vertical colour bar beside the plot, its title standing along its right side (a title
    on top collides with the top tick label)."""
    return dict(title=dict(text=title, side="right"), xpad=10, len=1.0,
                thickness=colorbar_thickness(presenter))


def colorbar_px(presenter: bool) -> int:
    """Room right of the plot for colorbar_spec: pad, bar, tick labels ("0.75"), title."""
    s = sizes(presenter)
    return int(10 + colorbar_thickness(presenter) + 6 + text_px("0.75", s.colorbar)
               + line_px(s.colorbar) + 12)


def heatmap_size(Tq: int, Tk: int, q_labels=None, k_labels=None, presenter: bool = False,
                 width: int | None = None, max_height: int | None = None,
                 colorbar: bool = True, title_lines: int = 1, axis_titles: bool = True,
                 max_cell: float = 120.0) -> HeatmapSize:
    """Figure size, margins and label thinning for a Tq × Tk map with square cells.

    width: the content width the figure may use (default: content_width() of the mode's
    screen); max_height: default height_limit(). The cell is the largest square that fits both
    (capped at max_cell). Labels (default: positions) are cut to MAX_LABEL_CHARS; key labels
    stay horizontal when every one fits its cell, else stand vertical; each axis then labels
    every k-th cell with k from label_step, so shown labels cannot overlap at the tick size.
    """
    if Tq < 1 or Tk < 1:
        raise ValueError(f"a map needs at least one row and column, got {Tq}×{Tk}")
    s = sizes(presenter)
    W = content_width(presenter=presenter) if width is None else int(width)
    Hmax = height_limit(presenter=presenter) if max_height is None else int(max_height)
    q = [short(x) for x in (range(Tq) if q_labels is None else q_labels)]
    k = [short(x) for x in (range(Tk) if k_labels is None else k_labels)]
    q_w = max(text_px(x, s.tick) for x in q)
    k_w = max(text_px(x, s.tick) for x in k)
    title_h = title_margin(title_lines, s.title)
    axis_h = line_px(s.axis_title) + 10 if axis_titles else 0
    left = int(q_w + 10 + axis_h + 8)
    right = colorbar_px(presenter) if colorbar else 16

    def fit(x_label_h: float) -> tuple[float, int, int]:
        top, bottom = int(title_h), int(x_label_h + 10 + axis_h + 8)
        cell = min((W - left - right) / Tk, (Hmax - top - bottom) / Tq, max_cell)
        return max(cell, 1.0), top, bottom

    cell, top, bottom = fit(line_px(s.tick))
    x_angle, x_step = 0, label_step(cell, k_w)
    if x_step > 1:                     # thinned when flat: stand them up if that shows more
        c2, t2, b2 = fit(k_w)
        if label_step(c2, line_px(s.tick)) < x_step:
            cell, top, bottom = c2, t2, b2
            x_angle, x_step = -90, label_step(cell, line_px(s.tick))
    y_step = label_step(cell, line_px(s.tick))
    margin = dict(l=left, r=right, t=top, b=bottom)
    return HeatmapSize(width=int(math.ceil(left + right + Tk * cell)),
                       height=int(math.ceil(top + bottom + Tq * cell)), cell=cell,
                       margin=margin, x_step=x_step, y_step=y_step, x_angle=x_angle)
