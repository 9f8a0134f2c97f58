"""The theme choice through Streamlit's AppTest (issue 12): the sidebar's Theme control is kept in
the URL (?theme=dark), so a reload or a shared link opens in it, and every page draws its figures
for that background: paper and text of the dark palette, and colour scales whose lowest (and, for
signed values, highest) colour keeps a 3:1 contrast against it, so a weight near 0 stays visible.
Junk in ?theme is ignored. (The browser's own theme switch: tests/e2e/test_theme.py.)"""
from __future__ import annotations

import pytest
from plotly.colors import sample_colorscale
from streamlit.testing.v1 import AppTest

from viz import theme as vt

from app_helpers import APP, figures, ok

# Pages with figures that draw without a model run of their own choosing (fast on 2 cores).
PAGES = ["attention_math.py", "positional.py", "transformer.py", "decoding.py", "explorer.py"]


def open_page(page: str, **params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(f"pages/{page}").run()
    ok(at)
    return at


def scales(fig: dict) -> list:
    """Every colour scale of a figure: per trace and per layout colour axis."""
    found = [t["colorscale"] for t in fig["data"] if t.get("colorscale")]
    layout = fig["layout"]
    found += [v["colorscale"] for k, v in layout.items()
              if k.startswith("coloraxis") and isinstance(v, dict) and v.get("colorscale")]
    return found


def continuous(scale) -> bool:
    """A scale for values (weights, scores, encodings), not a two-colour key such as the
    decoding page's allowed / blocked mask (which marks its blocked cells with an "×")."""
    return isinstance(scale, str) or len({c for _, c in scale}) > 2


def end_colours(scale) -> list[str]:
    """The colours at 0 and 1 of a scale (a name or a list of [stop, colour])."""
    if isinstance(scale, str):
        return sample_colorscale(scale, [0.0, 1.0])
    return [scale[0][1], scale[-1][1]]


def drawn_for(fig: dict, mode: str) -> bool:
    bg = vt.palette(mode == "dark")["bg"]
    # paper only: a map's plot area may be its "blocked" grey on purpose (NaN cells show it)
    return fig["layout"].get("paper_bgcolor") == bg


@pytest.mark.parametrize("page", PAGES)
def test_a_link_with_theme_dark_draws_every_figure_for_the_dark_background(page):
    at = open_page(page, theme="dark")
    assert at.sidebar.button_group(key="theme").value == "dark"
    figs = figures(at)
    assert figs, f"{page}: no figure drawn"
    bg = vt.DARK["bg"]
    for fig in figs:
        name = (fig["layout"].get("title") or {}).get("text", "?")
        assert drawn_for(fig, "dark"), name
        assert fig["layout"]["font"]["color"] == vt.DARK["text"], name
        for scale in filter(continuous, scales(fig)):
            low, high = end_colours(scale)
            # the lowest weight (and the most negative value) is a visible cell, not a hole
            assert vt.contrast_ratio(low, bg) >= vt.MIN_CONTRAST, (name, low)
            assert vt.contrast_ratio(high, bg) >= vt.MIN_CONTRAST, (name, high)


def test_the_same_link_with_theme_light_draws_for_the_light_background():
    at = open_page("attention_math.py", theme="light")
    assert at.sidebar.button_group(key="theme").value == "light"
    assert all(drawn_for(f, "light") for f in figures(at))


@pytest.mark.parametrize("junk", ["", "purple", "DARK", "dark\x00", "x" * 3000, "日本語"],
                         ids=["empty", "word", "upper", "nul", "long", "non-ascii"])
def test_junk_in_the_theme_parameter_is_ignored(junk):
    at = open_page("attention_math.py", theme=junk)
    assert at.sidebar.button_group(key="theme").value is None     # follows the browser
    assert all(drawn_for(f, "light") for f in figures(at))        # AppTest reports no theme


def test_choosing_dark_puts_it_in_the_link_and_redraws_the_figures():
    """The control, the URL and the figures agree; a reload (a new session with that URL)
    opens in the same theme."""
    at = open_page("positional.py")
    assert all(drawn_for(f, "light") for f in figures(at))
    control = at.sidebar.button_group(key="theme")
    assert control.proto.query_param_key == "theme"      # the browser writes it to the link
    assert list(control.options) == ["light", "dark"]    # as ?theme=dark (the shown option)
    control.set_value("dark").run()
    ok(at)
    assert all(drawn_for(f, "dark") for f in figures(at))
    again = open_page("positional.py", theme="dark")     # the reload, or the shared link
    assert again.sidebar.button_group(key="theme").value == "dark"
    assert [f["layout"]["paper_bgcolor"] for f in figures(again)] == \
        [f["layout"]["paper_bgcolor"] for f in figures(at)]
    at.sidebar.button_group(key="theme").set_value(None).run()   # back to the browser's own
    ok(at)
    assert all(drawn_for(f, "light") for f in figures(at))


def test_the_choice_survives_a_visit_to_another_page():
    at = open_page("attention_math.py", theme="dark")
    at.switch_page("pages/positional.py").run()
    ok(at)
    assert at.sidebar.button_group(key="theme").value == "dark"
    assert figures(at) and all(drawn_for(f, "dark") for f in figures(at))
