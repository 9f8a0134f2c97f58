"""ui.head_switch in Streamlit's AppTest (tests/e2e/apps/head_switch_app.py): a head chosen on
the server leaves the figure's spec byte-identical (so the browser keeps the chart and gets a
cached reference, not the figure) and asks the component for that head (the URL binding is the
browser's: tests/e2e/test_head_switch.py checks ?head=); a new layer is a new
figure drawn at the current head; a layer too big to send whole falls back to one head per run.
Clicks in the browser are tested in tests/e2e/test_head_switch.py."""
from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.app_helpers import ok
from tests.explorer_helpers import switch_components

APP = Path(__file__).resolve().parent / "e2e" / "apps" / "head_switch_app.py"


def start(**params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = str(value)
    at.run()
    ok(at)
    return at


def spec(at) -> str:
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    return charts[0].proto.spec


def asked(at) -> dict:
    """The data the page gave the component (which head to show, of which figure)."""
    found = switch_components(at)
    assert len(found) == 1
    return json.loads(found[0].proto.json)


def visible_heads(spec_json: str) -> list[int]:
    fig = json.loads(spec_json)
    return [i for i, t in enumerate(fig["data"][:fig["layout"]["meta"]["heads"]])
            if t.get("visible") is True]


def test_a_head_chosen_on_the_server_keeps_the_figure_and_asks_the_component():
    at = start(tokens=16, mask="causal")
    first = spec(at)
    assert visible_heads(first) == [0] and asked(at)["head"] == 0
    at.selectbox(key="head").set_value(5).run()
    ok(at)
    assert spec(at) == first                                        # byte-identical spec
    data = asked(at)
    assert data["head"] == 5 and data["heads"] == 12
    assert data["figure"] == json.loads(first)["layout"]["meta"]["figure"]
    assert "server head 5" in at.caption[0].value


def test_a_new_layer_is_a_new_figure_drawn_at_the_current_head():
    at = start(tokens=16, head=7)
    first = spec(at)
    assert visible_heads(first) == [7]
    at.selectbox(key="layer").set_value(1).run()
    ok(at)
    second = spec(at)
    assert second != first and visible_heads(second) == [7]
    assert asked(at)["figure"] != json.loads(first)["layout"]["meta"]["figure"]


def test_a_layer_too_big_to_send_whole_is_drawn_one_head_per_run():
    at = start(tokens=16, heads=4, budget=16 * 16 * 4 - 1, head=2)  # one byte a cell too many
    fig = json.loads(spec(at))
    assert len(fig["data"]) == 1 and "updatemenus" not in fig["layout"]
    assert "head 2" in fig["layout"]["title"]["text"]
    assert not switch_components(at)                              # nothing to switch
    at.selectbox(key="head").set_value(3).run()
    assert "head 3" in json.loads(spec(at))["layout"]["title"]["text"]
