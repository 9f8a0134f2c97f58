"""The explorer's statistics view: heads ranked by pattern, so the famous heads of a real model
are found in seconds (the top ones are buttons that open the head in every view), above the
chosen head's map and a table of every head's statistics.

Patterns (core.head_patterns): previous token, first token (a sink), broad, self, positional
offset, measured on the user's input; induction, measured on a repeated random token sequence
(40 tokens twice, 4 sequences) once per model and remembered for every user (st.cache_data).
Positional patterns (previous, self, offset, induction) compare a query's position with a
key's, so cross-attention heads are left out of those rankings (core.statistics_scope).
"""
from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from core import analysis, head_patterns
from core.budget import check, config_cost, sequence_cost
from core.safe_run import safe_run
from core.statistics_scope import CROSS_NOTE, blank_meaningless, columns

from ..widgets import file_version, memo
from . import controls as ec
from .context import Context
from .views import heatmap, title

PATTERN = "pattern"                    # URL. The ranking's pattern (a selectbox).
STATS_TABLE = "stats_table"            # the table (its selection picks a head)
STATS_INDEX = "explorer_stats_index"   # (group, layer, head) of each table row
STATS_MEMO = "explorer_stats"          # statistics and pattern rows per inspection, per user
TOP = 5                                # heads offered as buttons
INDUCTION_TOKENS, INDUCTION_BATCH = 40, 4    # the random run's size (bounded)
NAMES = {"previous": "previous token", "first": "first token (sink)", "broad": "broad",
         "self": "self", "offset": "positional offset", "induction": "induction"}
EXPLAIN = {
    "previous": "weight each query puts on the token just before it",
    "first": "weight on the first token ([CLS] or the first word): an 'attention sink'",
    "broad": "entropy ÷ its maximum: 1 = spread evenly over every key",
    "self": "weight each query puts on its own position",
    "offset": "share of weight at the head's favourite offset (key position − query position)",
    "induction": "on a random sequence repeated twice, the weight from a token's second copy "
                 "to the token that followed its first copy (Olsson et al. 2022)",
}
SELF_ONLY = ("previous", "self", "offset", "induction")


# ----------------------------------------------------------------------------- computing
@st.cache_data(max_entries=16, show_spinner="Measuring induction on a repeated random sequence…")
def _induction(model_key: tuple, _model, _pretrained) -> dict:
    """{module: [score per head]} of the model at model_key (checkpoint path, version, device)."""
    cfg, tokens = _model.cfg, 2 * INDUCTION_TOKENS + 2
    if _pretrained is not None:
        info = _pretrained.info
        cost = sequence_cost(n_layers=int(info["n_layers"]), n_heads=int(info["n_heads"]),
                             d_model=int(info["d_model"]), tokens=tokens,
                             n_params=int(info["parameters"]), batch=INDUCTION_BATCH)
    else:
        cost = config_cost(cfg, tokens=min(tokens, cfg.max_len),
                           target_tokens=min(tokens, cfg.max_len), batch=INDUCTION_BATCH)
    check(cost, what="The induction measurement", advice="a smaller model is needed")
    scores = safe_run(head_patterns.induction_scores, _model, n_tokens=INDUCTION_TOKENS,
                      batch=INDUCTION_BATCH, pretrained=_pretrained,
                      what="The induction measurement")
    return {name: [float(v) for v in s] for name, s in scores.items()}


def rows_of(c: Context) -> tuple[list[dict], list[dict]]:
    """(head_statistics rows, head_patterns rows) of this input, remembered per user."""
    def compute():
        key = (c.row["path"], file_version(c.row["path"]), str(c.model.device))
        induction = _induction(key, c.model, getattr(c.task, "pretrained", None))
        stats = analysis.head_statistics(c.ins.attention, masks=c.ins.masks)
        patterns = head_patterns.head_patterns(c.model, attention=c.ins.attention,
                                               masks=c.ins.masks, induction=induction)
        return stats, patterns
    return memo(STATS_MEMO, c.key, compute, size=4)


def ranked(patterns: list[dict], pattern: str) -> list[dict]:
    """core.head_patterns.rank_heads over the heads the pattern means something for."""
    keep = [r for r in patterns
            if pattern not in SELF_ONLY or "cross_attn" not in r["module"]]
    return head_patterns.rank_heads(keep, pattern)


def where(module: str, head: int, by_group: dict) -> tuple[str, int, int]:
    """(group, layer index within the group, head) of a module's head."""
    group = ec.group_of(module)
    return group, by_group[group].index(module), int(head)


def short(module: str, head: int, several: bool) -> str:
    info = analysis.parse_name(module)
    side = ("cross " if info["kind"] == "cross_attn" else f"{info['side'][:3]} ") \
        if several else ""
    return f"{side}L{info['layer']} H{head}"


def score_text(r: dict, pattern: str) -> str:
    if pattern == "offset":
        return f"offset {r['offset']:+d} · {r['score']:.2f}"
    return f"{r['score']:.2f}"


# ----------------------------------------------------------------------------- the view
def statistics(c: Context) -> None:
    """The ranking (top heads as buttons), the chosen head's map and every head's table."""
    try:
        stats, patterns = rows_of(c)
    except ValueError as e:
        st.error(str(e), icon=":material/error:")
        return
    by_group = ec.groups(c.ins.attention)
    several = len(by_group) > 1
    pick, note = st.columns([1, 2], vertical_alignment="bottom")
    pattern = pick.selectbox("Top heads for", list(NAMES), format_func=NAMES.get, key=PATTERN,
                             bind="query-params")
    order = ranked(patterns, pattern)
    measured = ("a repeated random token sequence" if pattern == "induction" else
                "this input")
    note.caption(f"**{NAMES[pattern]}**: {EXPLAIN[pattern]}. Measured on {measured}."
                 + (" Cross-attention heads are left out (their queries and keys are positions "
                    "in different sequences)." if pattern in SELF_ONLY and
                    "decoder.cross_attn" in by_group else ""))
    top = [r for r in order if not math.isnan(r["score"])][:TOP]
    if not top:
        st.info("This model reads numbers, not tokens, so induction (a repeated token "
                "sequence) cannot be measured on it." if pattern == "induction" else
                "No head has a score for this pattern.")
    with st.container(horizontal=True, gap="small"):
        for i, r in enumerate(top):
            target = where(r["module"], r["head"], by_group)
            current = target == (c.group, c.layer, c.head)
            st.button(f"{short(r['module'], r['head'], several)} · {score_text(r, pattern)}",
                      key=f"rank_{i}", on_click=ec.select, args=target,
                      type="primary" if current else "secondary",
                      help=f"Open this head here and in every other view (rank {r['rank']})")
    heatmap(c, c.name, c.head, title(c.group, c.layer, c.head), key="stats_map")
    table(stats, patterns, order, by_group, several)


def table(stats, patterns, order, by_group, several) -> None:
    """Every head's statistics, in the ranking's order; a click on a row opens that head."""
    rank = {(r["module"], r["head"]): r["rank"] for r in order}
    extra = {(r["module"], r["head"]): r for r in patterns}
    stats = blank_meaningless(stats)
    stats.sort(key=lambda r: rank.get((r["module"], r["head"]), 10**9))
    cols = columns({r["kind"] for r in stats})
    index = [where(r["module"], r["head"], by_group) for r in stats]
    st.session_state[STATS_INDEX] = index
    cross = [r["kind"] == "cross_attn" for r in stats]
    data = {"rank": [rank.get((r["module"], r["head"])) for r in stats],
            "head": [short(r["module"], r["head"], several) for r in stats],
            **{k: [r[k] for r in stats] for k in cols}}
    config = {k: st.column_config.NumberColumn(label, help=text, format="%.3f")
              for k, (label, text) in cols.items()}
    if not all(cross):                 # offset and induction compare positions: self only
        data["offset"] = [None if x else extra[(r["module"], r["head"])]["offset"]
                          for r, x in zip(stats, cross)]
        data["induction"] = [math.nan if x else extra[(r["module"], r["head"])]["induction"]
                             for r, x in zip(stats, cross)]
        only = " (self only)" if any(cross) else ""
        config["offset"] = st.column_config.NumberColumn(
            "offset" + only, format="%+d",
            help="The key position − query position holding most weight" + (only and CROSS_NOTE))
        config["induction"] = st.column_config.NumberColumn(
            "induction" + only, format="%.3f", help=EXPLAIN["induction"] + (only and CROSS_NOTE))
    config["rank"] = st.column_config.NumberColumn("rank", help="Rank for the pattern above "
                                                   "(blank: the pattern does not apply)")
    st.dataframe(pd.DataFrame(data), key=STATS_TABLE, on_select=_stats_pick,
                 selection_mode="single-row", hide_index=True, column_config=config,
                 width="stretch")
    st.caption("Every head, in the ranking's order. Click a column header to sort, click a row "
               "to open that head here and in every other view.")


def _stats_pick() -> None:
    rows = st.session_state[STATS_TABLE]["selection"]["rows"]
    index = st.session_state.get(STATS_INDEX) or []
    if rows and rows[0] < len(index):
        ec.select(*index[rows[0]])
