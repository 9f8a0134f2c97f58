"""What every view of the explorer is handed: the model, its run on the input, the head chosen
and how to draw (presenter, dark). One object, so a view's signature says only what it adds."""
from __future__ import annotations

from dataclasses import dataclass

from viz import sizing

from .. import theme
from . import run as er
from .shown import Shown

# Where the one-head map's figure starts on the page at 1280×720 (measured in Chromium with the
# compact controls: title, input row, prediction, pickers, tabs; presenter / normal). The
# cross-attention map is sized to end above the fold from there.
MAP_TOP_PX = {True: 352, False: 366}
PROJECTOR_H = 720


def dark() -> bool:
    """Figures for the dark theme: the sidebar's Theme choice (?theme=dark), else the browser's
    (ui.theme.dark), so a link with ?theme=dark draws dark maps."""
    return theme.dark()


def fold_height(presenter: bool, window_h: int = PROJECTOR_H) -> int:
    """The tallest map that ends above the fold of a window_h-px-tall window."""
    return max(260, window_h - MAP_TOP_PX[bool(presenter)] - 8)


@dataclass(frozen=True)
class Context:
    row: dict                # the picker row (name, path, pretrained, ...)
    model: object
    task: object
    text: str                # the input as typed
    shown: Shown             # the inspection as the views show it (special tokens or not)
    group: str               # "encoder.self_attn" | "decoder.self_attn" | "decoder.cross_attn"
    layer: int               # index within the group
    head: int
    name: str                # the module name of (group, layer)
    presenter: bool = False
    dark: bool = False
    best: tuple | None = None   # (statistics row, (group, layer, head)) of the best aligned head

    @property
    def ins(self):
        return self.shown.ins

    @property
    def key(self) -> tuple:
        """The inspection's memo key: what results derived from it are remembered under."""
        return er.memo_key(self.row, self.text)

    @property
    def width(self) -> int:
        return sizing.content_width(presenter=self.presenter)
