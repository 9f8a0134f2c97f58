"""The masked-decoding page's views: the sequence so far, the step's attention (mask, one head,
all heads, cross-attention), the next-token choice, the KV-cache check and teacher forcing.

Each renders from a core.decode trace (or teacher_forcing) and viz figures; nothing here runs the
model except teacher_view, through core.decode.teacher_forcing.
"""
from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from core import analysis
from core.decode import teacher_forcing
from viz import attention as va
from viz import decoding as vd

from ..widgets import chart

CACHE_OK = 1e-5                      # the KV-cache check passes below this difference
MAX_CHIPS = 40                       # tokens of the sequence shown as chips (the latest ones)
_MD = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$])")


def md(label) -> str:
    """A token label safe inside markdown ('<eos>' would otherwise vanish as HTML)."""
    return _MD.sub(r"\\\1", str(label)) or "␣"


# ----------------------------------------------------------------------------- step by step
def sequence(tr, i: int) -> None:
    """The tokens so far as chips, the new one highlighted, and what this step chose."""
    s = tr.steps[i]
    if tr.source_labels:
        st.markdown("**Source:** " + " ".join(f"`{t}`" for t in tr.source_labels))
    shown = tr.labels[: s.position + 2]
    first = max(0, len(shown) - MAX_CHIPS)
    chips = [f"`{t}`" if j < tr.prompt_len else f":blue-background[**{md(t)}**]"
             for j, t in enumerate(shown[:-1]) if j >= first]
    chips.append(f":red-background[**{md(shown[-1])}**]")
    if first:
        chips.insert(0, f"*… {first} earlier*")
    st.markdown(f"**{'Output' if tr.source_labels else 'Sequence'} so far:** " + " ".join(chips))
    p = f" (p = {float(s.probs[int(s.token)]):.3f})" if s.probs is not None else ""
    st.markdown(f"**Step {i + 1} of {len(tr.steps)}:** the query `{tr.labels[s.position]}` at "
                f"position {s.position} sees positions 0–{s.position} and writes "
                f":red-background[**{md(s.label)}**]{p}")
    if i == len(tr.steps) - 1:
        if tr.stopped == "eos":
            st.success("Generation stopped at the end-of-sequence token (<eos>).",
                       icon=":material/stop_circle:")
        else:
            st.info(f"Generation stopped at the length limit ({len(tr.steps)} new tokens).",
                    icon=":material/straighten:")
    else:
        st.caption(f"{len(tr.steps) - i - 1} more step(s) to the end.")


def attention_views(tr, i: int, layer: int, head: int, selfs, crosses, presenter: bool) -> None:
    """The causal mask with this query's row outlined and the top-k choice (left); the query's
    attention for one head and all heads (right); for an encoder-decoder its cross-attention
    over the source below."""
    s = tr.steps[i]
    keys = tr.labels[: s.position + 1]
    shown = [t if j <= s.position + 1 else "·" for j, t in enumerate(tr.labels)]
    left, right = st.columns([2, 3])
    with left:
        fig = vd.causal_mask_figure(shown, s.position, presenter=presenter)
        fig.update_layout(margin_t=110 if presenter else 90, title_y=0.99, title_yanchor="top")
        chart(fig, key="dec_mask")
        st.caption("Row = the token looking (query), column = the token looked at (key). Dark "
                   "cells with × are the future: the mask sets their score to −∞, so softmax "
                   "gives them weight 0. The outlined row is this step; · = not written yet.")
        choice(tr, i, presenter)
    with right:
        name = selfs[layer]
        chart(vd.attention_row(s.attention[name][head], keys, presenter=presenter,
                               title=f"layer {layer} · head {head}: where “{keys[-1]}” looks"),
              key="dec_row")
        chart(vd.heads_row(s.attention[name], keys, presenter=presenter), key="dec_heads")
        st.caption(f"All {s.attention[name].shape[0]} heads of layer {layer}: each row sums to "
                   "1 over the positions written so far.")
    if crosses:
        name = crosses[layer]
        src = tr.source_labels
        c1, c2 = st.columns(2)
        with c1:
            chart(vd.attention_row(s.cross[name][head], src, presenter=presenter,
                                   title=f"cross-attention over the source, layer {layer} · "
                                         f"head {head}"), key="dec_cross_row")
        with c2:
            chart(vd.heads_row(s.cross[name], src, presenter=presenter), key="dec_cross_heads")
        st.caption("Cross-attention: the new query reads the encoded source; no mask is needed "
                   "there, the whole source is known from the start.")


def choice(tr, i: int, presenter: bool, k: int = 8) -> None:
    """The top-k next-token probabilities with the chosen token highlighted (or the value)."""
    s = tr.steps[i]
    if s.probs is None:
        T0 = tr.prompt_len
        st.markdown(f"**Value written:** `{s.label}`")
        gen = [None] * (T0 - 1) + tr.values[T0 - 1: T0 + i + 1]    # joined to the last input
        st.line_chart(pd.DataFrame({"input": tr.values[:T0] + [None] * (i + 1),
                                    "generated": gen}), height=240)
        return
    chart(vd.topk_bars(s.probs, tr.vocab, k=k, chosen=int(s.token), presenter=presenter),
          key="dec_topk_bars")
    st.caption(f"The {min(k, len(tr.vocab))} most likely next tokens; the chosen one is red "
               "(added below the others if sampling picked an unlikely one).")


def cache_note(tr) -> None:
    d, same = tr.cache_max_diff, tr.cache_tokens_equal
    if d is None:
        return
    ok = d < CACHE_OK and same
    st.caption(f"KV cache check: max |cached − uncached| = {d:.0e} over {len(tr.steps)} steps "
               f"{'✓' if ok else '✗'}" + ("" if same else " (the tokens differ!)") +
               " · With the cache each step feeds only the new token and reuses the stored "
               "keys and values; without it every step reruns the whole sequence.")


# ----------------------------------------------------------------------------- teacher forcing
def teacher_view(model, setup, layer: int, head: int, presenter: bool) -> None:
    """The whole reference target in one pass, with the mask; predicted vs target per position."""
    if setup.target is None:
        st.info("This input has no known reference answer, so there is nothing to teacher-force.")
        return
    try:
        tf = teacher_forcing(model, setup)
    except ValueError as e:
        st.error(f"Cannot teacher-force this input: {e}", icon=":material/error:")
        return
    names = sorted((n for n in tf["attention"] if not n.endswith("cross_attn")),
                   key=lambda n: analysis.parse_name(n)["layer"])
    name, labels = names[min(layer, len(names) - 1)], tf["labels"]
    T = len(labels)
    fig = va.attention_heatmap(tf["attention"][name][head], labels, labels, mask=tf["mask"],
                               title=f"teacher forcing: layer {layer} · head {head}, all {T} "
                                     "positions at once", presenter=presenter)
    cell = fig.layout.height / (T + 4)              # near-square cells on a wide page
    chart(fig, key="dec_tf_map", width=int(max(420, cell * T + 260)) if T < 40 else "stretch")
    st.caption("In training the whole correct sequence goes in at once. The causal mask (grey "
               "cells) stops position t from seeing t+1, t+2, …, so every row is exactly what it "
               "would be when decoding step by step — all positions are trained in parallel, and "
               "none can cheat by peeking at the answer it must predict.")
    start = tf["start"]
    rows = range(start, len(labels))
    if "predicted_values" in tf:
        pred, true = tf["predicted_values"], tf["target_values"]
        st.dataframe(pd.DataFrame({"position": list(rows), "target next": [true[t] for t in rows],
                                   "predicted next": [pred[t] for t in rows],
                                   "|error|": [abs(pred[t] - true[t]) for t in rows]}),
                     hide_index=True, key="dec_tf_table")
        return
    table = pd.DataFrame({
        "position": list(rows), "input": [labels[t] for t in rows],
        "target next": [tf["targets"][t] for t in rows],
        "predicted next": [tf["predicted"][t] for t in rows],
        "right": ["✓" if tf["predicted"][t] == tf["targets"][t] else "✗" for t in rows]})
    st.dataframe(table, hide_index=True, key="dec_tf_table")
    right = int((table["right"] == "✓").sum())
    st.caption(f"{right} of {len(table)} next tokens predicted right from the correct prefix.")
