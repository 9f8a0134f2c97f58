"""Reading the explorer's switchable one-head map (ui.head_switch) in the browser."""
from __future__ import annotations

# The weights of the head the switchable one-head map (ui.head_switch) shows: its visible head
# trace, as nested lists (null on masked cells). The page's component decodes the integer levels
# sent into weights in the browser (meta.decoded); before that, weight = base + level * step.
SHOWN_WEIGHTS = """el => {
    const t = (el._fullData || []).find(t => t.visible === true && t.meta && t.meta.step);
    if (!t) return null;
    const m = t.meta;
    const weight = (v) => v === null || Number.isNaN(Number(v)) ? null
        : m.decoded ? Number(v) : Number(v) === m.masked ? null : m.base + Number(v) * m.step;
    return Array.from(t.z, r => Array.from(r, weight)); }"""


def shown(plot):
    """The weights the one-head map shows now (None while it is not drawn, or two are)."""
    from playwright.sync_api import Error
    if plot.count() != 1:
        return None
    try:
        return plot.evaluate(SHOWN_WEIGHTS)
    except Error:                                # replaced by a rerun while being read
        return None


def square_problem(seen: dict, name: str) -> str | None:
    """Whether the one-head map's cells are square (figure_checks checks one-trace maps only;
    this one also draws a mask overlay of the same size)."""
    shapes = {tuple(m) for m in seen["maps"]}
    if len(shapes) != 1 or len(seen["plots"]) != 1:
        return f"{name}: {len(shapes)} map shapes, {len(seen['plots'])} plots"
    (rows, cols), (w, h) = shapes.pop(), seen["plots"][0]
    if rows and cols and abs((w / cols) / (h / rows) - 1) > 0.05:
        return f"{name}: cells {w / cols:.1f}×{h / rows:.1f} px, not square"
    return None
