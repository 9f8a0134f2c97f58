"""Presenter (lecture) mode and the light / dark theme, for every page.

Presenter mode: `apply()` injects the presenter CSS (called once per run from the shared
sidebar); `advanced()` gives pages a place for secondary widgets that folds away while
presenting. No external asset: the CSS only resizes Streamlit's own elements and fonts.

Theme: Streamlit's own theme switch (the ⋮ menu) is remembered per browser only, so a link or
another browser would lose it. The sidebar's Theme control (`theme_control()`) is kept in the
URL (?theme=dark) and sets Streamlit's real theme for this browser tab: when the tab shows the
other one, a small script picks the chosen entry of the ⋮ menu's theme switch (which Streamlit
also remembers in the browser, so a reload opens in it at once). A change made in the ⋮ menu
becomes the control's value at once: an in-page watcher reports the page's new theme, which
reruns the script (Streamlit itself would not rerun, leaving light figures on a dark page). `dark()` is what every page passes to the figure
builders (`dark=dark()`): the session's choice, else the theme the browser reports.
"""
from __future__ import annotations

import streamlit as st

from .state import PRESENTER, THEME

MODES = ("light", "dark")
SEEN = "theme_seen"          # the browser's theme at this session's last run (ui.theme only)
SWITCHES = "theme_switches"  # how many switch scripts this session was sent (ui.theme only)
# Picks entry `want` ("Light" or "Dark") of the ⋮ menu's theme switch, then closes the menu.
# The run number makes each injected script a new element, so it runs again when needed.
SWITCH_JS = """<script>/* run %(run)d */
(() => {
  const q = s => document.querySelector(s);
  const item = () => q('[data-testid="stMainMenuItem-theme-%(want)s"]');
  let tries = 0;
  const pick = () => {
    const it = item();
    if (it) {
      it.click();
      const menu = q('[data-testid="stMainMenu"] button');
      if (item() && menu) menu.click();                 // close the menu again
      return;
    }
    if (tries++ < 100) setTimeout(pick, 20);
  };
  const open = () => {
    const menu = q('[data-testid="stMainMenu"] button');
    if (!menu) { if (tries++ < 100) setTimeout(open, 50); return; }
    if (!item()) menu.click();
    pick();
  };
  open();
})();
</script>"""

WATCH_KEY = "theme_watch"     # the in-page theme watcher component (ui.theme only)
# Streamlit does not rerun the script when the ⋮ menu changes the theme, so the figures (drawn
# on the server for one background) would stay light on a dark page. This in-page module (a v2
# component: no iframe, no network) reports the page's theme when it changes, which reruns the
# script with that theme as the choice. The page background's luminance says which it is.
WATCH_JS = r"""
export default function (component) {
  const { setTriggerValue } = component;
  const mode = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    const m = app && getComputedStyle(app).backgroundColor.match(/[0-9.]+/g);
    if (!m) return null;
    const [r, g, b] = m.map(Number);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 128 ? "dark" : "light";
  };
  let last = mode();
  const timer = setInterval(() => {
    const now = mode();
    if (now && now !== last) { last = now; setTriggerValue("theme", now); }
  }, 250);
  return () => clearInterval(timer);
}
"""
_watch = st.components.v2.component("attention_theme_watch", js=WATCH_JS)

CAPITALISE_CSS = "<style>.st-key-theme button p { text-transform: capitalize; }</style>"

# Streamlit sizes its type in rem, so a larger root font scales text, widgets and spacing
# together; headings, widget labels and captions get an extra step for the back rows.
PRESENTER_CSS = """
<style>
html { font-size: 20px; }
[data-testid="stWidgetLabel"] p, [data-testid="stWidgetLabel"] label {
  font-size: 1.1rem !important; font-weight: 600; }
[data-testid="stCheckbox"] [data-testid="stWidgetLabel"] p {   /* toggles sit in narrow columns */
  font-size: 1rem !important; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {
  font-size: 1.1rem; line-height: 1.5; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {
  font-size: 1rem !important; }
h1 { font-size: 2.6rem !important; }
h2 { font-size: 2.1rem !important; }
h3 { font-size: 1.7rem !important; }
[data-testid="stMetricValue"] { font-size: 2.4rem !important; }
[data-testid="stMetricValue"] p { font-size: inherit !important; }
button[data-testid^="stBaseButton"] p { font-weight: 600; }
button[data-baseweb="tab"] p { font-size: 1.15rem !important; font-weight: 600; }
[data-testid="stSidebar"] p { font-size: 1rem; }
</style>
"""


def presenting() -> bool:
    """Whether presenter mode is on for this browser session (the sidebar toggle's value)."""
    return bool(st.session_state.get(PRESENTER, False))


def apply() -> None:
    """Inject the presenter CSS when presenter mode is on (nothing otherwise)."""
    if presenting():
        st.html(PRESENTER_CSS)


def advanced(label: str = "More settings", icon: str = ":material/tune:"):
    """A container for secondary controls: folded into an expander while presenting, shown
    inline otherwise. Use as `with advanced(): ...`."""
    if presenting():
        return st.expander(label, expanded=False, icon=icon)
    return st.container()


def chosen() -> str | None:
    """This session's theme choice ("light" or "dark"), or None when it follows the browser."""
    value = st.session_state.get(THEME)
    return value if value in MODES else None


def browser_theme() -> str | None:
    """The theme the browser tab reported with this run ("light" / "dark"), or None."""
    try:
        value = st.context.theme.type
    except Exception:               # noqa: BLE001 - outside a session (bare mode, tests)
        return None
    return value if value in MODES else None


def dark() -> bool:
    """Whether figures are drawn for the dark theme: the sidebar's Theme choice (kept in the URL
    as ?theme=dark), else the browser's theme. Every page passes it: `fig(..., dark=dark())`."""
    return (chosen() or browser_theme()) == "dark"


def theme_control() -> None:
    """The sidebar's Theme control (URL ?theme=light|dark), and the switch of the browser tab's
    theme to it when the tab shows the other one. Call it inside the sidebar, once a run."""
    ss, browser = st.session_state, browser_theme()
    if ss.get(THEME) is not None and ss.get(THEME) not in MODES:
        ss[THEME] = None                              # junk from the URL: follow the browser
    if browser and ss.get(SEEN) not in (None, browser) and chosen() != browser:
        ss[THEME] = browser                           # changed in the ⋮ menu: that is the choice
    ss[SEEN] = browser
    # No format_func: a bound widget keeps its *shown* option in the URL, and the link should
    # read ?theme=dark, not ?theme=%3Amaterial%2Fdark_mode%3A+Dark. CSS capitalises the labels.
    st.html(CAPITALISE_CSS)
    st.segmented_control(
        "Theme", MODES, key=THEME, bind="query-params",
        help="Kept in the link (?theme=dark), so a reload or a shared link opens in it. "
             "With neither chosen the app follows the browser's setting.")
    _watch(key=WATCH_KEY, width="content", height="content", on_theme_change=_page_changed)
    want = chosen()
    if want and browser and want != browser:
        ss[SWITCHES] = ss.get(SWITCHES, 0) + 1
        st.html(SWITCH_JS % {"want": want.title(), "run": ss[SWITCHES]},
                unsafe_allow_javascript=True)


def _page_changed() -> None:
    """The watcher's callback: the page now shows this theme (the ⋮ menu, or the switch above);
    it becomes the choice, so the figures of the rerun are drawn for it."""
    value = (st.session_state.get(WATCH_KEY) or {}).get("theme")
    if value in MODES:
        st.session_state[THEME] = value
