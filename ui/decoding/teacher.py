"""The masked-decoding page's teacher-forcing view: the whole reference at once, as training sees
it, with the causal mask; predicted against true next token at every position.

Where the task knows no reference continuation (GPT-2, a sine series typed by hand) the prompt
itself is the reference: its first token is the prompt and the rest (up to REFERENCE_MAX
positions) the target, so each row shows how the model predicts the next token of the user's
own text. Cost-checked (core.budget) and run through core.safe_run.
"""
from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from core import analysis
from core.budget import check, config_cost
from core.decode import teacher_forcing
from core.safe_run import safe_run
from viz import attention as va

from ..widgets import chart
from .tokens import readable_all

REFERENCE_MAX = 64                   # positions of a prompt used as its own reference


def reference(model, setup):
    """(setup with a target, whether the prompt is its own reference), or (None, False)."""
    if setup.target is not None:
        return setup, False
    if model.kind in ("seq2seq", "rnn") or setup.prompt.size(1) < 2:
        return None, False
    prompt = setup.prompt[:, :REFERENCE_MAX]                              # (1, T)
    return dataclasses.replace(setup, prompt=prompt[:, :1], target=prompt[:, 1:]), True


def run(model, setup) -> dict:
    T = setup.prompt.size(1) + setup.target.size(1)
    if model.kind in ("seq2seq", "rnn"):
        cost = config_cost(model.cfg, tokens=int(setup.source.size(1)), target_tokens=T)
    else:
        cost = config_cost(model.cfg, tokens=T)
    check(cost, what="Teacher forcing this input", advice="use a shorter input")
    return safe_run(teacher_forcing, model, setup, what="Teacher forcing")


def teacher_view(model, setup, layer: int, head: int, presenter: bool, dark: bool) -> None:
    """The reference in one pass with the mask; predicted vs target per position."""
    ref, own = reference(model, setup)
    if ref is None:
        st.info("This input has no known reference answer, so there is nothing to "
                "teacher-force.")
        return
    try:
        tf = run(model, ref)
    except ValueError as e:
        st.error(f"Cannot teacher-force this input: {e}", icon=":material/error:")
        return
    names = sorted((n for n in tf["attention"] if not n.endswith("cross_attn")),
                   key=lambda n: analysis.parse_name(n)["layer"])
    labels = readable_all(tf["labels"])
    if not names:                        # a GRU decoder: no self-attention, steps in sequence
        recurrent_view(tf, labels, presenter, dark)
        return
    name = names[min(layer, len(names) - 1)]
    T = len(labels)
    fig = va.attention_heatmap(tf["attention"][name][head], labels, labels, mask=tf["mask"],
                               title=f"teacher forcing: layer {layer} · head {head}, all {T} "
                                     "positions at once", presenter=presenter, dark=dark)
    chart(fig, key="dec_tf_map", width="content")
    if own:
        st.caption(f"No reference answer is known for this input, so the reference is the "
                   f"prompt itself (its first {T + 1} tokens): each row predicts the next "
                   "token of your own text from the ones before it.")
    st.caption("In training the whole correct sequence goes in at once. The causal mask (grey "
               "cells) stops position t from seeing t+1, t+2, …, so every row is exactly what it "
               "would be when decoding step by step — all positions are trained in parallel, and "
               "none can cheat by peeking at the answer it must predict.")
    table(tf, labels)


def recurrent_view(tf: dict, labels: list, presenter: bool, dark: bool) -> None:
    """A recurrent decoder under teacher forcing: its attention over the source at every
    position, then the table. No mask: the GRU's state only ever holds the past."""
    name = next(iter(tf["attention"]), None)
    if name is not None:
        fig = va.attention_heatmap(tf["attention"][name][0], labels,
                                   readable_all(tf["source_labels"]), presenter=presenter,
                                   dark=dark, title=f"teacher forcing: attention over the "
                                                    f"source at all {len(labels)} positions")
        chart(fig, key="dec_tf_map", width="content")
    st.caption("In training the correct previous character goes in at every step. A GRU still "
               "runs its steps one after another (each state needs the one before), which is "
               "what a transformer's causal mask lets it do in parallel.")
    table(tf, labels)


def table(tf: dict, labels: list) -> None:
    rows = range(tf["start"], len(labels))
    if "predicted_values" in tf:
        pred, true = tf["predicted_values"], tf["target_values"]
        st.dataframe(pd.DataFrame({"position": list(rows), "target next": [true[t] for t in rows],
                                   "predicted next": [pred[t] for t in rows],
                                   "|error|": [abs(pred[t] - true[t]) for t in rows]}),
                     hide_index=True, key="dec_tf_table")
        return
    target, predicted = readable_all(tf["targets"]), readable_all(tf["predicted"])
    frame = pd.DataFrame({
        "position": list(rows), "input": [labels[t] for t in rows],
        "target next": [target[t] for t in rows], "predicted next": [predicted[t] for t in rows],
        "right": ["✓" if tf["predicted"][t] == tf["targets"][t] else "✗" for t in rows]})
    st.dataframe(frame, hide_index=True, key="dec_tf_table")
    right = int((frame["right"] == "✓").sum())
    st.caption(f"{right} of {len(frame)} next tokens predicted right from the correct prefix.")
