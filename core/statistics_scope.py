"""Which head statistics mean something for which kind of attention, and the head that focuses
most: for the explorer's statistics table and for opening a cross-attention map on its best
aligned head.

The statistics are those of core.analysis.head_statistics. Three of them compare a query's
position with a key's: mean distance |i − j|, diagonal (weight on j = i) and previous
(j = i − 1). In self-attention both index the same sequence; in cross-attention the query is a
target position and the key a source position, so "distance" and "diagonal" compare positions in
two different sequences and mean nothing (a date's 3rd output character has no reason to sit
near the input's 3rd character). Pure Python, no torch needed.
"""
from __future__ import annotations

import math

POSITIONAL = ("mean_distance", "diagonal", "previous")   # compare query index with key index
LABELS = {
    "entropy": ("entropy", "Mean entropy of a query's weights, in nats: 0 = one key, high = "
                           "spread out"),
    "entropy_norm": ("entropy / max", "Entropy divided by its maximum: 1 = uniform over the "
                                      "allowed keys"),
    "mean_distance": ("mean distance", "Average |query position − key position| weighted by "
                                       "attention"),
    "max_weight": ("max weight", "Average of each query's largest weight"),
    "first_token": ("first token", "Share of weight on the first token (an 'attention sink')"),
    "diagonal": ("diagonal", "Share of weight on the query's own position"),
    "previous": ("previous", "Share of weight on the previous position"),
}
CROSS_NOTE = " (self-attention only: in cross-attention the query and key positions belong to " \
             "different sequences)"


def meaningful(kind: str) -> list[str]:
    """The statistics (keys of LABELS, in table order) that mean something for attention of
    `kind`: "self_attn" all of them, "cross_attn" all but POSITIONAL."""
    if kind not in ("self_attn", "cross_attn"):
        raise ValueError(f"kind must be 'self_attn' or 'cross_attn', got {kind!r}")
    return [k for k in LABELS if kind == "self_attn" or k not in POSITIONAL]


def columns(kinds) -> dict[str, tuple[str, str]]:
    """{statistic: (column label, help)} for a table holding rows of these kinds: only
    cross-attention -> the positional columns are left out; a mix -> they stay, renamed
    "… (self only)" with a help text that says why cross-attention rows are blank there."""
    kinds = set(kinds)
    if not kinds:
        return dict(LABELS)
    shown = [k for k in LABELS if any(k in meaningful(kind) for kind in kinds)]
    out = {}
    for k in shown:
        label, text = LABELS[k]
        if k in POSITIONAL and "cross_attn" in kinds:
            label, text = f"{label} (self only)", text + CROSS_NOTE
        out[k] = (label, text)
    return out


def blank_meaningless(rows: list[dict]) -> list[dict]:
    """Copies of head_statistics rows with the POSITIONAL values of cross-attention rows set to
    NaN, so a table shows them blank rather than as numbers."""
    out = []
    for r in rows:
        r = dict(r)
        if r.get("kind") == "cross_attn":
            for k in POSITIONAL:
                if k in r:
                    r[k] = math.nan
        out.append(r)
    return out


def most_focused(rows: list[dict], kind: str = "cross_attn", by: str = "max_weight"):
    """The row of `kind` whose `by` statistic is highest (for "entropy" and "entropy_norm":
    lowest), NaN rows skipped, ties to the first; None when there is none. For the dates model
    the most focused cross-attention head is the one that aligns output characters with the
    input characters they are read from."""
    lower = by in ("entropy", "entropy_norm")
    best = None
    for r in rows:
        v = r.get(by)
        if r.get("kind") != kind or v is None or math.isnan(v):
            continue
        if best is None or (v < best[by] if lower else v > best[by]):
            best = r
    return best


def focus_reason(row: dict, by: str = "max_weight") -> str:
    """Why the page opened on this head, for a caption."""
    what = "cross-attention" if row["kind"] == "cross_attn" else "self-attention"
    label = LABELS[by][0]
    return (f"Opened on layer {row['layer']}, head {row['head']}: the most focused {what} head "
            f"(highest mean {label}, {row[by]:.2f})" if by not in ("entropy", "entropy_norm")
            else f"Opened on layer {row['layer']}, head {row['head']}: the most focused {what} "
                 f"head (lowest mean {label}, {row[by]:.2f})")
