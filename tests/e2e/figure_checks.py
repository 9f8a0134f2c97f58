"""Reading drawn plotly figures back from the browser: type sizes, overlapping labels, cut-off
text and square heatmap cells. Used by the standalone figure test and by the page tests (every
page at 1280×720 in presenter mode).

    seen = read_figures(page)            # one entry per drawn .js-plotly-plot on the page
    assert problems(seen, presenter=True) == []
"""
from __future__ import annotations

# Every chart on the page: its SVG box, its text by kind (size in px and box), the plot area of
# each subplot, and each heatmap's (rows, columns) where plotly has them.
READ = """(root) => {
  const scope = root || document;
  // every subplot's axes: xtick / x2tick ..., xtitle / x2title ...
  const sel = {tick: '.xaxislayer-above text, .yaxislayer-above text', title: '.gtitle',
               axis: 'text[class^="x"][class$="title"], text[class^="y"][class$="title"]',
               colorbar: '.cbaxis text, .cbtitle text', legend: '.legendtext',
               note: '.annotation-text'};
  return [...scope.querySelectorAll('.js-plotly-plot')].map(gd => {
    const svg = gd.querySelector('.main-svg');
    if (!svg) return null;
    const box = svg.getBoundingClientRect();
    const out = {svg: [box.left, box.top, box.right, box.bottom], text: {}, plots: [], maps: []};
    for (const [k, s] of Object.entries(sel)) {
      out.text[k] = [...gd.querySelectorAll(s)].filter(e => e.textContent.trim())
        .map(e => { const b = e.getBoundingClientRect();
                    return {t: e.textContent, size: parseFloat(getComputedStyle(e).fontSize),
                            box: [b.left, b.top, b.right, b.bottom]}; })
        .filter(e => e.box[2] > e.box[0]);
    }
    out.plots = [...gd.querySelectorAll('.nsewdrag')]
      .map(p => [Number(p.getAttribute('width')), Number(p.getAttribute('height'))]);
    out.maps = (gd._fullData || []).filter(t => t.type === 'heatmap' && t.visible !== false)
      .map(t => { const z = t.z || []; return [z.length, z.length ? z[0].length : 0]; });
    return out;
  }).filter(x => x);
}"""

MIN_PX = {True: {"tick": 18, "axis": 18, "colorbar": 18, "legend": 18, "title": 22},
          False: {"tick": 12, "axis": 12, "colorbar": 12, "legend": 12, "title": 12}}


def read_figures(page, root=None) -> list[dict]:
    """What plotly drew: one dict per chart (see READ), in page order."""
    handle = page.query_selector(root) if isinstance(root, str) else root
    return page.evaluate(READ, handle)


def overlapping(items):
    """The first pair of text boxes that overlap by more than a pixel, or None."""
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            A, B = a["box"], b["box"]
            if A[0] < B[2] - 1 and B[0] < A[2] - 1 and A[1] < B[3] - 1 and B[1] < A[3] - 1:
                return a["t"], b["t"]
    return None


def problems(figures: list[dict], presenter: bool, square: bool = True,
             name: str = "figure") -> list[str]:
    """Everything a back row could not read: text under the minimum size, overlapping labels,
    text cut off at the figure's edge, and (square=True) one-map figures whose cells are not
    square. An empty list means the page passes."""
    found = []
    for i, seen in enumerate(figures):
        label = f"{name} {i}"
        text = seen["text"]
        for kind, least in MIN_PX[presenter].items():
            small = [e for e in text.get(kind, []) if e["size"] < least]
            if small:
                found.append(f"{label}: {kind} '{small[0]['t']}' at {small[0]['size']} px "
                             f"(< {least})")
        clash = overlapping(text["tick"]) or overlapping(text["title"] + text["axis"])
        if clash:
            found.append(f"{label}: {clash[0]!r} overlaps {clash[1]!r}")
        x0, y0, x1, y1 = seen["svg"]
        for kind, items in text.items():
            for e in items:
                b = e["box"]
                if b[0] < x0 - 1 or b[2] > x1 + 1 or b[1] < y0 - 1 or b[3] > y1 + 1:
                    found.append(f"{label}: {kind} '{e['t']}' is cut off")
        if square and len(seen["maps"]) == 1 and len(seen["plots"]) == 1:
            (rows, cols), (w, h) = seen["maps"][0], seen["plots"][0]
            if rows and cols and abs((w / cols) / (h / rows) - 1) > 0.05:
                found.append(f"{label}: cells {w / cols:.1f}×{h / rows:.1f} px, not square")
    return found
