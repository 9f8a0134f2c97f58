"""The masked-decoding page's step views: the sequence so far, the step's attention (mask, one
head, all heads, cross-attention), the next-token choice or the forecast, the KV-cache check and
the closing note of the last step.

Each renders from a core.decode trace and viz figures (themed: presenter and dark); nothing here
runs the model. Token labels go through ui.decoding.tokens.readable, so GPT-2 pieces show their
spaces and newlines.
"""
from __future__ import annotations

import streamlit as st

from viz import decoding as vd
from viz import sizing

from ..widgets import chart
from .tokens import chip, md, readable, readable_all

CACHE_OK = 1e-5                      # the KV-cache check passes below this difference
MAX_CHIPS = 40                       # tokens of the sequence shown as chips (the latest ones)
MASK_WINDOW = 64                     # positions the causal mask shows at most (the latest)
GAP_PX = {False: 16, True: 20}       # Streamlit's column gap ("small": 1rem)


def widths(presenter: bool) -> tuple[int, int]:
    """(left, right) px of the page's [2, 3] columns at the mode's default screen."""
    room = sizing.content_width(presenter=presenter) - GAP_PX[presenter]
    return int(room * 2 / 5), int(room * 3 / 5)


# ----------------------------------------------------------------------------- step by step
def sequence(tr, i: int) -> None:
    """The tokens so far as chips (prompt grey, written blue, this step's red) and what this
    step chose."""
    s = tr.steps[i]
    if tr.source_labels:
        st.markdown("**Source:** " + " ".join(chip(t) for t in tr.source_labels))
    shown = tr.labels[: s.position + 2]
    first = max(0, len(shown) - MAX_CHIPS)
    chips = [chip(t) if j < tr.prompt_len else chip(t, "blue", bold=True)
             for j, t in enumerate(shown[:-1]) if j >= first]
    chips.append(chip(shown[-1], "red", bold=True))
    if first:
        chips.insert(0, f"*… {first} earlier*")
    st.markdown(f"**{'Output' if tr.source_labels else 'Sequence'} so far:** " + " ".join(chips))
    p = f" (p = {float(s.probs[int(s.token)]):.3f})" if s.probs is not None else ""
    st.markdown(f"**Step {i + 1} of {len(tr.steps)}:** the query {chip(tr.labels[s.position])} "
                f"at position {s.position} sees positions 0–{s.position} and writes "
                f"{chip(s.label, 'red', bold=True)}{p}")


def closing(tr, i: int, task) -> None:
    """Why generation stopped (last step), or how many steps are left; and, where the task
    can judge an output (an optional `answer_problem(text) -> str | None`, e.g. a date that
    does not exist), its verdict on what was written."""
    if i < len(tr.steps) - 1:
        st.caption(f"{len(tr.steps) - i - 1} more step(s) to the end.")
        return
    if tr.stopped == "eos":
        st.success("Generation stopped at the end-of-sequence token (<eos>).",
                   icon=":material/stop_circle:")
    else:
        st.info(f"Generation stopped at the length limit ({len(tr.steps)} new tokens).",
                icon=":material/straighten:")
    problem = output_problem(task, tr)
    if problem:
        st.warning(f"The model wrote **{md(written(tr))}**: {problem}", icon=":material/warning:")


def written(tr) -> str:
    """The generated text: the written tokens' labels joined, the end-of-sequence token left
    out (for the dates model: the ISO date it wrote)."""
    labels = [s.label for s in tr.steps]
    if tr.stopped == "eos" and labels:
        labels = labels[:-1]
    return "".join(labels)


def output_problem(task, tr) -> str | None:
    """task.answer_problem(written text) where the task offers it: a message when the output
    is not acceptable (None when it is, or when the task cannot judge)."""
    judge = getattr(task, "answer_problem", None)
    if not callable(judge) or not tr.steps or tr.steps[0].probs is None:
        return None
    try:
        return judge(written(tr)) or None
    except ValueError as e:
        return str(e)


def attention_views(tr, i: int, picks, presenter: bool, dark: bool, truth=None) -> None:
    """The causal mask with this query's row outlined and the top-k choice (left); the query's
    attention for one head and all heads (right); a real-valued decoder's forecast below (with
    the true continuation `truth` where known); an encoder-decoder's cross-attention below.
    picks: (layer, head, self-attention names, cross-attention names)."""
    layer, head, selfs, crosses = picks
    s = tr.steps[i]
    if not selfs:                        # a GRU decoder (kind "rnn"): no mask, no self-attention
        recurrent(tr, s, i, presenter, dark, crosses)
        return
    keys = readable_all(tr.labels[: s.position + 1])
    left_w, right_w = widths(presenter)
    left, right = st.columns([2, 3])
    with left:
        chart(mask_figure(tr, s.position, presenter, dark, left_w), key="dec_mask",
              width="content")
        st.caption("Row = the token looking (query), column = the token looked at (key). Dark "
                   "cells with × are the future: the mask sets their score to −∞, so softmax "
                   "gives them weight 0. The outlined row is this step; · = not written yet.")
        if s.probs is not None:
            choice(tr, i, presenter, dark)
    with right:
        name = selfs[layer]
        chart(vd.attention_row(s.attention[name][head], keys, presenter=presenter, dark=dark,
                               width=right_w, title=f"layer {layer} · head {head}: where "
                                                    f"“{sizing.short(keys[-1])}” looks"),
              key="dec_row")
        chart(vd.heads_row(s.attention[name], keys, presenter=presenter, dark=dark,
                           width=right_w), key="dec_heads")
        st.caption(f"All {s.attention[name].shape[0]} heads of layer {layer}: each row sums to "
                   "1 over the positions written so far.")
    if s.probs is None:
        forecast(tr, i, presenter, dark, truth)
    if crosses:
        cross(tr, s, layer, head, crosses[layer], presenter, dark)


def recurrent(tr, s, i: int, presenter: bool, dark: bool, crosses) -> None:
    """A recurrent decoder's step: the next-token choice, then its attention over the source."""
    st.caption("A recurrent (GRU) decoder has no self-attention and needs no mask: its hidden "
               "state carries what it has written so far, one step at a time.")
    if s.probs is not None:
        choice(tr, i, presenter, dark)
    if crosses:
        cross(tr, s, 0, 0, crosses[0], presenter, dark)


def mask_figure(tr, position: int, presenter: bool, dark: bool, width: int):
    """The causal mask over the sequence (its latest MASK_WINDOW positions on a long one), with
    this query's row outlined; · marks positions not written yet."""
    labels = [readable(t) if j <= position + 1 else "·" for j, t in enumerate(tr.labels)]
    start = max(0, len(labels) - MASK_WINDOW)
    fig = vd.causal_mask_figure(labels[start:], position - start, presenter=presenter,
                                dark=dark, width=width)
    if start:
        fig.update_layout(title_text=f"causal mask: query {position} sees keys 0..{position} "
                                     f"(positions {start}–{len(labels) - 1} shown)")
    return fig


def cross(tr, s, layer: int, head: int, name: str, presenter: bool, dark: bool) -> None:
    src = readable_all(tr.source_labels)
    half = sizing.content_width(presenter=presenter) // 2 - GAP_PX[presenter]
    c1, c2 = st.columns(2)
    with c1:
        chart(vd.attention_row(s.cross[name][head], src, presenter=presenter, dark=dark,
                               width=half, title=f"cross-attention over the source, layer "
                                                 f"{layer} · head {head}"), key="dec_cross_row")
    with c2:
        chart(vd.heads_row(s.cross[name], src, presenter=presenter, dark=dark, width=half),
              key="dec_cross_heads")
    st.caption("Cross-attention: the new query reads the encoded source; no mask is needed "
               "there, the whole source is known from the start.")


def choice(tr, i: int, presenter: bool, dark: bool, k: int = 8) -> None:
    """The top-k next-token probabilities with the chosen token highlighted."""
    s = tr.steps[i]
    chart(vd.topk_bars(s.probs, readable_all(tr.vocab), k=k, chosen=int(s.token),
                       presenter=presenter, dark=dark), key="dec_topk_bars")
    st.caption(f"The {min(k, len(tr.vocab))} most likely next tokens; the chosen one is red "
               "(added below the others if sampling picked an unlikely one).")


def forecast(tr, i: int, presenter: bool, dark: bool, truth=None) -> None:
    """A real-valued decoder: the inputs and the values written up to this step."""
    T0 = tr.prompt_len
    st.markdown(f"**Value written:** `{tr.steps[i].label}`")
    fig = vd.forecast_figure(tr.values[:T0], tr.values[T0: T0 + i + 1], truth=truth,
                             title=f"forecast after step {i + 1}: {i + 1} of "
                                   f"{len(tr.steps)} values written",
                             presenter=presenter, dark=dark)
    chart(fig, key="dec_forecast")


def cache_note(tr) -> None:
    d, same = tr.cache_max_diff, tr.cache_tokens_equal
    if d is None:
        return
    ok = d < CACHE_OK and same
    st.caption(f"KV cache check: max |cached − uncached| = {d:.0e} over {len(tr.steps)} steps "
               f"{'✓' if ok else '✗'}" + ("" if same else " (the tokens differ!)") +
               " · With the cache each step feeds only the new token and reuses the stored "
               "keys and values; without it every step reruns the whole sequence.")
