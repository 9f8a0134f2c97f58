"""The masked-decoding page's step controls: Start / Back / Next / End / Play and the step slider.

The slider (key STEP, in the URL as ?step=3) is drawn BEFORE anything reads the step, and the
content is drawn from the value it returns, so a link, the widget and the content agree:
on a fresh load Streamlit seeds a URL-bound widget from the link whatever the session says,
so reading the step before the widget would show step 1 under a slider at 3.
It is a select_slider because its identity is its key alone: a plain slider's identity
includes its max, so a new trace length (another model or input) would make it a new widget
that Streamlit seeds again from the stale URL value instead of the reset step.
Buttons move the step through callbacks (they run before the next script run, so the slider
then shows the new step and writes it to the URL).
"""
from __future__ import annotations

import streamlit as st

STEP = "step"                        # URL: the step shown (1-based). Owner: this module;
#                                      ui.decoding.controls.trace resets it for a new trace.
PLAYING, TIMER = "dec_playing", "dec_timer"   # Play is on / the step fragment has its timer
PLAY_EVERY = 0.6                     # seconds between steps while playing


def reset() -> None:
    """A new trace (model or input): back to step 1, not playing (the slider and the URL
    follow on this run)."""
    st.session_state[STEP] = 1
    st.session_state[PLAYING] = False


def _current(default: int = 1) -> int:
    try:
        return int(st.session_state.get(STEP, default))
    except (TypeError, ValueError, OverflowError):
        return default


def _clamp(n: int) -> None:
    """Keep a remembered step inside 1..n (a shorter trace, an old session). A step not yet
    set is left alone, so a link's ?step= can seed the slider on a fresh load."""
    if STEP in st.session_state:
        step = min(max(_current(), 1), n)
        if st.session_state[STEP] != step:       # written only when it changes (see settings)
            st.session_state[STEP] = step


def _go(n: int, delta: int | None = None, to: int | None = None) -> None:
    step = _current()
    st.session_state[STEP] = min(max(to if to is not None else step + delta, 1), n)
    st.session_state[PLAYING] = False


def _play(n: int) -> None:
    playing = not st.session_state.get(PLAYING, False)
    if playing and _current() >= n:
        st.session_state[STEP] = 0                 # at the end: play again from step 1
    st.session_state[PLAYING] = playing


def _stop_playing() -> None:
    st.session_state[PLAYING] = False


def playing() -> bool:
    """Whether Play is on; the page registers its step fragment with a timer while it is."""
    on = bool(st.session_state.get(PLAYING, False))
    st.session_state[TIMER] = on
    return on


def controls(n: int) -> int:
    """Start / Back / Next / End / Play and the step slider -> the 0-based step shown."""
    n = max(int(n), 1)
    if st.session_state.get(PLAYING, False) != st.session_state.get(TIMER, False):
        st.rerun()                                   # a full run starts or stops the timer
    if st.session_state.get(PLAYING):                # one step per timed fragment run
        st.session_state[STEP] = _current(0) + 1     # (0: Play pressed at the end)
    _clamp(n)
    if st.session_state.get(PLAYING) and _current() >= n:
        st.session_state[PLAYING] = False           # the next run stops the timer
    buttons = st.container(horizontal=True, vertical_alignment="bottom")
    step = int(st.select_slider("Step", options=list(range(1, n + 1)), key=STEP,
                                on_change=_stop_playing, bind="query-params",
                                disabled=n <= 1,
                                help="The generation step shown (kept in the link: ?step=3)"))
    with buttons:
        st.button("Start", key="dec_start", on_click=_go, args=(n,), kwargs={"to": 1},
                  icon=":material/first_page:", disabled=step <= 1, shortcut="Home",
                  help="First step (Home key)")
        st.button("◀ Back", key="dec_back", on_click=_go, args=(n, -1), disabled=step <= 1,
                  shortcut="Left", help="One step back (← key)")
        st.button("Next ▶", key="dec_next", on_click=_go, args=(n, 1), disabled=step >= n,
                  shortcut="Right", help="One step forward (→ key)")
        st.button("End", key="dec_end", on_click=_go, args=(n,), kwargs={"to": n},
                  icon=":material/last_page:", disabled=step >= n, shortcut="End",
                  help="Last step (End key)")
        on = st.session_state.get(PLAYING, False)
        st.button("Pause" if on else "Play", key="dec_play", on_click=_play, args=(n,),
                  icon=":material/pause:" if on else ":material/play_arrow:", disabled=n <= 1)
    return step - 1
