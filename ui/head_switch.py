"""One attention map whose head changes in the browser, with the server's head state following.

    shown = head_switch_map(ins.attention[name], q, k, key="one_head_map", head_key="head",
                            title=f"{group} · layer {layer} · head {{head}}", mask=mask_HTT,
                            presenter=presenter)

draws viz.head_switch.multi_head_heatmap (every head of the layer, switched by plotly's own
buttons without a round trip) and a small in-page component (ui/head_switch_js.py) that reports a
head picked in the browser. The report runs a callback before the next rerun that sets
st.session_state[head_key], so a selectbox with that key (and the URL it is bound to) shows the
new head; that rerun rebuilds nothing: the figure for the same inputs is kept per chart key,
with the head it was first drawn at, so its spec is byte-identical, Streamlit keeps the chart
element (and the head the browser is showing) and sends only a reference to the cached message.
A head chosen on the server (the selectbox) reaches the map the same way in reverse: the
component shows it with the chart's own button, without sending the figure again.

State: st.session_state[head_key] (the caller's, e.g. the explorer's "head"); this module owns
f"{key}-switch" (the component) and f"{key}-memo" (the built figure and the last pick seen).
A layer too big to send whole (viz.head_switch.fits) falls back to one head per server run.
"""
from __future__ import annotations

import functools
import hashlib
import json

import numpy as np
import streamlit as st

from viz.attention import attention_heatmap
from viz.common import PLOTLY_CONFIG, to_numpy
from viz.head_switch import MAX_BYTES, NoRoom, fits, multi_head_heatmap

from .head_switch_js import JS

# While the server stores a pick, the map shows what the user chose: Streamlit's stale-element
# fade (0.5 s into a rerun) would dim a map that is not stale at all.
# (On several lines: Streamlit takes a one-line string with "[" in it for a file glob.)
CSS = """[data-head-sync] {
  opacity: 1 !important;
  transition: none !important;
}"""
_switch = st.components.v2.component("attention_head_switch", js=JS, css=CSS,
                                     isolate_styles=False)


def _fingerprint(w: np.ndarray, mask, **rest) -> str:
    """A digest of everything the figure depends on except the head shown."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((w.shape, str(w.dtype))).encode())
    h.update(np.ascontiguousarray(w).tobytes())
    if mask is not None:
        m = to_numpy(mask).astype(bool)
        h.update(repr(m.shape).encode() + np.packbits(m).tobytes())
    h.update(json.dumps(rest, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _picked(key: str, head_key: str, heads: int) -> None:
    """Callback of the component's `pick` trigger: the browser shows another head."""
    pick = st.session_state[f"{key}-switch"].get("pick")
    if not isinstance(pick, dict) or not isinstance(pick.get("head"), int):
        return
    head = pick["head"]
    if 0 <= head < heads:
        st.session_state[head_key] = head
    memo = st.session_state.get(f"{key}-memo")
    if memo is not None:
        memo["seen"] = {"load": str(pick.get("load")), "n": int(pick.get("n") or 0)}


def _one_head(w, head, q_labels, k_labels, key, title, zmin, zmax, presenter, mask, dark,
              width, max_height, max_labels, config) -> int:
    """The fallback: head `head` of w (H, Tq, Tk) drawn alone, as viz.attention draws it."""
    m = None if mask is None else np.broadcast_to(to_numpy(mask), w.shape)[head]  # (Tq, Tk)
    text = str(title).replace("{head}", str(head)) if title else None
    st.plotly_chart(attention_heatmap(w[head], q_labels, k_labels, title=text, zmin=zmin,
                                      zmax=zmax, presenter=presenter, mask=m, dark=dark,
                                      width=width, max_height=max_height,
                                      max_labels=max_labels),
                    key=key, config=config, width="content")
    return head


def head_switch_map(weights, q_labels, k_labels, *, key: str, head_key: str = "head",
                    title=None, zmin=0.0, zmax=1.0, presenter: bool = False, mask=None,
                    dark: bool = False, width: int | None = None, max_height: int | None = None,
                    max_labels: int = 48, max_bytes: int = MAX_BYTES, config=None) -> int:
    """Draw weights (H, Tq, Tk) as one map of head st.session_state[head_key] (clamped to the
    heads; 0 when unset), switchable in the browser. Returns the head it asked the map to show.

    title: "{head}" in it is replaced by the head shown (in the browser too). mask (Tq, Tk) or
    (H, Tq, Tk) bool, True = may attend. zmin/zmax None: each head's own colour range. Other
    arguments as viz.head_switch.multi_head_heatmap. key: the chart's widget key (unique on
    the page). Call it after the widget bound to head_key, as any reader of a widget's value.
    """
    w = to_numpy(weights)                                            # (H, Tq, Tk)
    H, Tq, Tk = w.shape
    try:
        head = int(st.session_state.get(head_key) or 0)
    except (TypeError, ValueError):
        head = 0
    head = min(max(head, 0), H - 1)
    config = PLOTLY_CONFIG if config is None else config
    if not fits(H, Tq, Tk, max_bytes):                       # one head per server run
        return _one_head(w, head, q_labels, k_labels, key, title, zmin, zmax, presenter, mask,
                         dark, width, max_height, max_labels, config)
    options = dict(q=list(map(str, q_labels)) if q_labels is not None else None,
                   k=list(map(str, k_labels)) if k_labels is not None else None,
                   title=title, zmin=zmin, zmax=zmax, presenter=presenter, dark=dark,
                   width=width, max_height=max_height, max_labels=max_labels,
                   max_bytes=max_bytes)
    fp = _fingerprint(w, mask, **options)
    memo = st.session_state.get(f"{key}-memo")
    if memo is None or memo["figure"] != fp:
        try:
            fig = multi_head_heatmap(w, q_labels, k_labels, head=head, title=title, zmin=zmin,
                                     zmax=zmax, presenter=presenter, mask=mask, dark=dark,
                                     width=width, max_height=max_height, max_labels=max_labels,
                                     max_bytes=max_bytes)
        except NoRoom:                          # a tiny map: one head per server run
            return _one_head(w, head, q_labels, k_labels, key, title, zmin, zmax, presenter,
                             mask, dark, width, max_height, max_labels, config)
        fig.layout.meta = {**fig.layout.meta, "figure": fp}
        memo = {"figure": fp, "fig": fig, "seen": memo.get("seen") if memo else None}
        st.session_state[f"{key}-memo"] = memo
    st.plotly_chart(memo["fig"], key=key, config=config, width="content")
    _switch(key=f"{key}-switch", width="content", height="content",
            data={"chart": key, "head": head, "heads": H, "figure": fp, "seen": memo["seen"]},
            on_pick_change=functools.partial(_picked, key, head_key, H))
    return head
