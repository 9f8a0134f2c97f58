"""A tiny Streamlit app around ui.head_switch: random attention weights of one layer, a "Head"
selectbox bound to ?head= (as the explorer's), and the switchable map under it.

    streamlit run tests/e2e/apps/head_switch_app.py   then open  /?tokens=256&heads=12&mask=causal

Query parameters: tokens (1..1024, default 32), heads (1..32, default 12), seed (default 0;
layer n uses seed + n), mask=causal (a lower-triangular mask), presenter=1, budget (max_bytes
of the map: a smaller one makes the layer too big to send whole), mode=rerun (the baseline:
one head's map drawn by viz.attention.attention_heatmap on every run, as the explorer did).
Imported (not run by Streamlit), the module gives `layer()`, so a test can compare the map
with the weights it was given.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def layer(tokens: int, heads: int, seed: int = 0, causal: bool = False):
    """(weights (H, T, T) float32 rows summing to 1 over allowed keys, mask (T, T) or None)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 2.0, (heads, tokens, tokens))                # (H, T, T)
    mask = np.tril(np.ones((tokens, tokens), bool)) if causal else None
    if mask is not None:
        logits = np.where(mask, logits, -np.inf)
    w = np.exp(logits - logits.max(-1, keepdims=True))                    # (H, T, T)
    return (w / w.sum(-1, keepdims=True)).astype(np.float32), mask


def _int(params, name: str, default: int, lo: int, hi: int) -> int:
    try:
        return min(max(int(params.get(name, default)), lo), hi)
    except ValueError:
        return default


def main() -> None:
    import streamlit as st

    from ui.head_switch import head_switch_map

    st.set_page_config(page_title="head switch", layout="wide")
    p = st.query_params
    tokens, heads = _int(p, "tokens", 32, 1, 1024), _int(p, "heads", 12, 1, 32)
    seed, causal = _int(p, "seed", 0, 0, 2**31), p.get("mask") == "causal"
    presenter = p.get("presenter") == "1"
    budget = _int(p, "budget", 4 * 2**20, 1, 2**31)
    if presenter:                                  # the app's presenter type sizes
        from ui import theme
        st.session_state["presenter"] = True
        theme.apply()
    labels = [f"t{i}" for i in range(tokens)]
    c1, c2 = st.columns(2)
    number = c1.selectbox("Layer", [0, 1, 2], key="layer")       # another layer: new weights
    c2.selectbox("Head", list(range(heads)), key="head", bind="query-params")
    w, mask = layer(tokens, heads, seed + number, causal)
    title = f"random weights, {tokens} tokens · layer {number} · head {{head}}"
    if p.get("mode") == "rerun":                   # a server round trip per head
        from viz.attention import attention_heatmap
        from viz.common import PLOTLY_CONFIG
        shown = st.session_state["head"]
        st.plotly_chart(attention_heatmap(w[shown], labels, labels, mask=mask,
                                          title=title.replace("{head}", str(shown)),
                                          presenter=presenter),
                        key="map", config=PLOTLY_CONFIG, width="content")
    else:
        shown = head_switch_map(w, labels, labels, key="map", head_key="head", mask=mask,
                                title=title, presenter=presenter, max_bytes=budget)
    st.caption(f"server head {st.session_state['head']} · asked map for {shown}")


if __name__ == "__main__":
    main()
