"""The sidebar every page shares: the model picker, device, presenter mode."""
from __future__ import annotations

import streamlit as st

from core.device import describe_device
from core.tasks import TASKS

from . import models, pretrained, theme
from .state import CHOSEN_MODEL, MODEL, PRESENTER

KIND_NAMES = {"encoder": "encoder", "decoder": "causal decoder", "seq2seq": "encoder-decoder",
              "vit": "vision transformer"}


def presenter() -> bool:
    """True when the presenter (lecture) mode is on for this browser session."""
    return theme.presenting()


def render_common() -> None:
    """Device and presenter toggle, shown on every page (called by app.py)."""
    with st.sidebar:
        st.toggle("Presenter mode", key=PRESENTER, bind="query-params",
                  help="Larger fonts, high-contrast colours and fewer controls for a "
                       "projector (kept in the link: ?presenter=true)")
        st.caption(f"Device: **{describe_device(models.device())}**")
    theme.apply()


def model_picker(kinds=None, key: str = MODEL):
    """Pick a checkpoint in the sidebar -> (row, model, task) or None (with a message shown).

    The choice is remembered per user (session_state) across pages: a page that cannot use the
    chosen kind offers the models it can use, keeping the user's choice for the other pages.
    It is also kept in the URL (?model=<name>, for links and refreshes); a name that is not
    offered here is ignored and the remembered choice or the first model is shown.
    """
    rows = models.checkpoints(kinds)
    names = [r["name"] for r in rows]
    for r in pretrained.rows(kinds):                 # real models after the shipped ones
        if r["name"] in names:
            r["name"] = f"{r['name']} (pretrained)"
        rows.append(r)
        names.append(r["name"])
    if not rows:
        wanted = ", ".join(KIND_NAMES[k] for k in (kinds or KIND_NAMES))
        with st.sidebar:
            pretrained.open_folder_box()
        st.warning(f"No {wanted} model is available. Train one on the Train page, or open a "
                   "local Hugging Face folder in the sidebar.")
        return None
    remembered = st.session_state.get(CHOSEN_MODEL)
    if remembered in names:                         # the user's choice, where it is offered
        st.session_state[key] = remembered
    elif st.session_state.get(key) not in names:
        st.session_state[key] = names[0]
    with st.sidebar:
        # Options are the bare model names: the URL stores the shown option, so
        # ?model=dates must match it exactly. Kind and size are in the caption below.
        name = st.selectbox("Model", names, key=key, bind="query-params",
                            on_change=_remember, args=(key,),
                            help="The checkpoints in checkpoints/ (the shipped models, then "
                                 "the ones saved on the Train page), then pretrained Hugging "
                                 "Face models found on this machine")
        row = rows[names.index(name)]
        if remembered is None or remembered in names:   # else keep it for the other pages
            st.session_state[CHOSEN_MODEL] = name
        try:
            if row.get("pretrained"):
                pt, task = pretrained.load(row, str(models.device()))
                model, info = pt.model, pt.info
                row = {**row, "config": model.cfg}
            else:
                model, info = models.load(row)
                task = TASKS[row["task"]]
        except ValueError as e:
            st.error(f"Could not load {name}: {e}")
            return None
        _describe(row, model, info)
        pretrained.open_folder_box()
    return row, model, task


def _remember(key: str) -> None:
    """The user picked a model: it is the choice on every page that offers it."""
    st.session_state[CHOSEN_MODEL] = st.session_state[key]


def _describe(row, model, info) -> None:
    cfg = row["config"]
    if row.get("pretrained"):
        st.caption(f"Pretrained **{info['architecture']}** · "
                   f"{KIND_NAMES.get(row['kind'], row['kind'])} · {model.num_parameters():,} "
                   f"parameters · {cfg.n_layers} layers × {cfg.n_heads} heads · d_model "
                   f"{cfg.d_model} · up to {info['max_length']} tokens  \nFrom {row['origin']}")
        return
    metrics = info.get("metrics") or {}
    shown = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                      for k, v in list(metrics.items())[:3])
    mine = "" if row.get("shipped") else "your model · "
    st.caption(f"{mine}Task **{row['task']}** · {KIND_NAMES.get(row['kind'], row['kind'])} · "
               f"{model.num_parameters():,} parameters · {cfg.n_layers} layers × "
               f"{cfg.n_heads} heads · d_model {cfg.d_model} · PE {cfg.pos}"
               + (f"  \nMetrics: {shown}" if shown else ""))
