"""Why attention divides by √d_k: random queries and keys of a chosen size d, their softmax
rows with and without the scaling side by side, and how the largest weight and the spread of
the scores grow with d (core.saturation, viz.lecture.saturation_figure)."""
from __future__ import annotations

import streamlit as st

from core.saturation import DIMS, saturation_example, softmax_saturation
from viz.lecture import saturation_figure

from ..widgets import chart
from .layout import matrix_rows, width

DEFAULT_D = 64                         # the paper's d_k
QUERIES, KEYS = 4, 8                   # the side-by-side example
CURVE_QUERIES, CURVE_KEYS = 512, 16    # the curves


@st.cache_data(show_spinner=False, max_entries=32)
def _curves(d_max: int) -> dict:
    return softmax_saturation(dims=[d for d in DIMS if d <= d_max], n_keys=CURVE_KEYS,
                              n_queries=CURVE_QUERIES)


def why_scale(presenter: bool, dark: bool) -> None:
    """The d slider (kept in the URL: ?sat_d=512), the two weight matrices, the curves."""
    d = int(st.select_slider("d, the size of q and k", options=list(DIMS), value=DEFAULT_D,
                             key="sat_d", bind="query-params",
                             help="Every entry of q and k is drawn from N(0, 1)"))
    ex = saturation_example(d, n_queries=QUERIES, n_keys=KEYS, seed=0)
    q = [f"q{i}" for i in range(QUERIES)]
    k = [f"k{j}" for j in range(KEYS)]
    raw_top = float(ex["raw"].max(-1).values.mean())
    scaled_top = float(ex["scaled"].max(-1).values.mean())
    matrix_rows([(f"softmax(q·k), d = {d}", ex["raw"], q, k),
                 (f"softmax(q·k / √d), d = {d}", ex["scaled"], q, k)], presenter, dark,
                key="sat_rows")
    st.markdown(f"At d = {d} the largest weight of a row averages **{raw_top:.0%}** without "
                f"the scaling and **{scaled_top:.0%}** with it (uniform would be "
                f"{1 / KEYS:.0%}).")
    chart(saturation_figure(_curves(d), presenter=presenter, dark=dark, width=width(presenter)),
          key="sat_curves", width="content")
    st.caption("Each score q·k sums d products of unit-variance numbers, so its spread grows "
               "like √d (right, dashed). Softmax of widely spread scores puts almost all the "
               "weight on one key and its gradient vanishes; dividing by √d keeps the spread "
               "at 1 for every d (Vaswani et al. 2017, §3.2.1). Curves: "
               f"{CURVE_QUERIES} random queries against {CURVE_KEYS} keys per d.")
