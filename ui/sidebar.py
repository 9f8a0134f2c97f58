"""The sidebar every page shares: presenter mode, the theme, the device, the model picker.

Nothing here imports torch or a model until a page asks for one (model_picker, the device
caption): the home page draws without them (issue 14, cold start).
"""
from __future__ import annotations

import streamlit as st

from . import theme
from .state import CHOSEN_MODEL, MODEL, PRESENTER
from .text import plain

KIND_NAMES = {"encoder": "encoder", "decoder": "causal decoder", "seq2seq": "encoder-decoder",
              "vit": "vision transformer", "rnn": "GRU encoder-decoder"}


def presenter() -> bool:
    """True when the presenter (lecture) mode is on for this browser session."""
    return theme.presenting()


def render_common(show_device: bool = True) -> None:
    """Presenter toggle, theme and (unless show_device is False: the home page) the device,
    shown on every page (called by app.py)."""
    with st.sidebar:
        st.toggle("Presenter mode", key=PRESENTER, bind="query-params",
                  help="Larger fonts, high-contrast colours and fewer controls for a "
                       "projector (kept in the link: ?presenter=true)")
        theme.theme_control()
        if show_device:
            device_caption()
    theme.apply()


def device_caption() -> None:
    """'Device: CPU (2 threads)' (imports torch: pages that run models only)."""
    from core.device import describe_device

    from .models import device
    st.caption(f"Device: **{describe_device(device())}**")


def unusable_notes(files: list[dict], folders: list[dict]) -> None:
    """The entries of the checkpoint folder, and the Hugging Face folders, that cannot be used,
    each with the reason, folded in one expander (nothing when there are none)."""
    n = len(files) + len(folders)
    if not n:
        return
    with st.expander(f"{n} model{'s' if n > 1 else ''} cannot be used",
                     icon=":material/report:"):
        for r in files:
            st.caption(f"**{plain(r['name'], 60)}** (checkpoints): {plain(r['reason'])}")
        for r in folders:
            st.caption(f"**{plain(r['name'], 60)}** (Hugging Face folder): "
                       f"{plain(r['problem'] or 'not a supported model')}")


def model_picker(kinds=None, key: str = MODEL):
    """Pick a checkpoint in the sidebar -> (row, model, task) or None (with a message shown).

    The choice is remembered per user (session_state) across pages: a page that cannot use the
    chosen kind offers the models it can use, keeping the user's choice for the other pages.
    It is also kept in the URL (?model=<name>, for links and refreshes); a name that is not
    offered here is ignored and the remembered choice or the first model is shown.
    """
    from core.safe_run import guard
    from core.tasks import TASKS

    from . import models, pretrained
    rows, unreadable = models.listing(kinds)
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
            unusable_notes(unreadable, pretrained.unusable())
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
            with guard(f"Loading {name}"):
                if row.get("pretrained"):
                    pt, task = pretrained.load(row, str(models.device()))
                    model, info = pt.model, pt.info
                    row = {**row, "config": model.cfg}
                else:
                    model, info = models.load(row)
                    task = TASKS[row["task"]]
        except ValueError as e:
            st.error(f"Could not load {plain(name, 80)}: {plain(e, 400)}")
            picked = None
        else:
            _describe(row, model, info)
            picked = row, model, task
        pretrained.open_folder_box()
        unusable_notes(unreadable, pretrained.unusable())
    return picked


def _remember(key: str) -> None:
    """The user picked a model: it is the choice on every page that offers it."""
    st.session_state[CHOSEN_MODEL] = st.session_state[key]


def _describe(row, model, info) -> None:
    from core.recipe import counted           # a model is loaded: torch is imported already
    cfg = row["config"]
    if row.get("pretrained"):
        st.caption(f"Pretrained **{info['architecture']}** · "
                   f"{KIND_NAMES.get(row['kind'], row['kind'])} · {model.num_parameters():,} "
                   f"parameters · {counted(cfg.n_layers, 'layer')} × "
                   f"{counted(cfg.n_heads, 'head')} · d_model {cfg.d_model} · up to "
                   f"{info['max_length']} tokens  \n"
                   f"From {plain(row['origin'])}")
        return
    metrics = info.get("metrics") or {}
    shown = ", ".join(f"{plain(k, 30)} {v:.3f}" if isinstance(v, float)
                      else f"{plain(k, 30)} {plain(v, 30)}" for k, v in list(metrics.items())[:3])
    mine = "" if row.get("shipped") else "your model · "
    kind = KIND_NAMES.get(row["kind"], row["kind"])
    window = getattr(cfg, "in_window", 1)
    shape = (f"{counted(cfg.n_layers, 'layer')} × {counted(cfg.n_heads, 'head')} · d_model "
             f"{cfg.d_model} · PE {cfg.pos}" + (f" · each step reads its last {window} values"
                                                if window > 1 else "")
             ) if row["kind"] != "rnn" else (
        f"GRU state {cfg.d_hidden} · " + ("additive (Bahdanau) attention" if cfg.attention
                                          else "no attention: one fixed context"))
    st.caption(f"{mine}Task **{plain(row['task'])}** · {kind} · "
               f"{model.num_parameters():,} parameters · {shape}"
               + (f"  \nMetrics: {shown}" if shown else ""))
