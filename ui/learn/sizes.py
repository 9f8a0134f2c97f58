"""How big transformers are: the parameter counts of the models shipped with the app next to
the published sizes of well-known ones (core/data/model_sizes.csv, each with its source), on a
log axis, and the table with every source."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.config import parameter_count
from core.model_sizes import size_table
from viz.lecture import model_size_figure

from .. import models
from .layout import show, width


def ours() -> dict:
    """{name: parameter count} of the shipped checkpoints, counted from their configs."""
    return {r["name"]: parameter_count(r["config"]) for r in models.checkpoints()
            if r.get("shipped")}


def model_sizes(presenter: bool, dark: bool) -> None:
    rows = size_table(ours())
    show(model_size_figure(rows, presenter=presenter, dark=dark, width=width(presenter)),
         key="sizes_figure")
    table = pd.DataFrame([{"model": r["model"] + (" (ours)" if r["ours"] else ""),
                           "parameters": r["parameters"], "size": r["size"],
                           "source": r["source"], "note": r["note"]}
                          for r in reversed(rows)])
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"parameters": st.column_config.NumberColumn(format="localized")})
    st.caption("Published sizes as the papers report them (the source column); ours are "
               "counted from each shipped checkpoint's configuration. Hover a bar for the "
               "exact count.")
