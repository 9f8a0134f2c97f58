"""The app shell through Streamlit's AppTest: the home page's lecture path, the shared sidebar
(presenter toggle, device caption) on every page, and presenter mode on and off on every page.

Every page runs under app.py's router, shared sidebar included: AppTest restarts Streamlit's
legacy pages/ mode on every run, so these tests also exercise ui.navigation.ensure_router
(tests/e2e/test_direct_link.py checks direct links in a real browser).
"""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ui.navigation import LECTURE_PATH, PAGES, PAGES_DIR, entry, existing
from ui.theme import PRESENTER_CSS

from app_helpers import APP, ok

PAGE_FILES = [e[0] for entries in PAGES.values() for e in existing(entries)]
# The Train page times a few steps of the chosen architecture: keep it tiny here.
TINY_TRAIN = {"train_w_sort.layers": 1, "train_w_sort.heads": 2, "train_w_sort.d_model": 16,
              "train_w_sort.batch": 16, "train_w_sort.steps": 60}


def app(presenter: bool | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in TINY_TRAIN.items():
        at.session_state[key] = value
    if presenter is not None:
        at.session_state["presenter"] = presenter
    return at


def presenter_css_shown(at) -> bool:
    return any("font-size: 20px" in h.proto.body for h in at.get("html"))


def test_home_renders_the_lecture_path_and_every_page_link():
    at = app().run()
    ok(at)
    assert at.title[0].value == "Attention Visualizer"
    links = [link.proto.label for link in at.get("page_link")]
    lecture = [f for f in LECTURE_PATH if (PAGES_DIR / f).exists()]
    assert len(lecture) >= 3
    for n, file in enumerate(lecture, 1):
        assert f"{n}. {entry(file)[1]}" in links
    for file in PAGE_FILES:
        if file != "home.py":
            assert any(label.startswith(entry(file)[1] + ":") for label in links), file


def test_the_sidebar_has_the_presenter_toggle_and_the_theme():
    """The home page's sidebar: presenter mode and the theme; no device line (that needs torch,
    which the home page does not import: tests/test_cold_start.py)."""
    at = app().run()
    ok(at)
    assert at.sidebar.toggle(key="presenter").value is False
    assert at.sidebar.button_group(key="theme").value is None     # follows the browser
    assert not any(c.value.startswith("Device:") for c in at.sidebar.caption)
    assert not presenter_css_shown(at)


@pytest.mark.parametrize("presenter", [False, True], ids=["normal", "presenter"])
def test_every_page_renders_in_both_modes(presenter):
    at = app(presenter).run()
    ok(at)
    for file in PAGE_FILES:
        at.switch_page(f"pages/{file}").run()
        ok(at)
        # On a projector the explorer gives its title's height to the map (the menu names the
        # page); every other page keeps its title.
        assert at.title or (presenter and file == "explorer.py"), f"{file}: no title"
        # the shared sidebar (app.py's) is on every page
        assert at.sidebar.toggle(key="presenter").value is presenter, file
        if file != "home.py":
            assert any(c.value.startswith("Device:") for c in at.sidebar.caption), file
        assert presenter_css_shown(at) is presenter, file
        assert not at.get("download_button") or not presenter, f"{file}: downloads shown"


def test_presenter_mode_folds_the_train_schedule_away():
    labels = {}
    for presenter in (False, True):
        at = app(presenter).run()
        at.switch_page("pages/train.py").run()
        ok(at)
        labels[presenter] = [e.proto.label for e in at.expander]
        assert at.number_input(key="train_w_sort.steps").value == 60   # there either way
    assert not any(label.startswith("Schedule") for label in labels[False])
    assert any(label.startswith("Schedule") for label in labels[True])


def test_explorer_downloads_only_outside_presenter_mode():
    at = app(False).run()
    at.switch_page("pages/explorer.py").run()
    ok(at)
    if not at.get("plotly_chart"):
        pytest.skip("no explorer checkpoint to draw")
    assert len(at.get("download_button")) == 2
    at.session_state["presenter"] = True
    at.run()
    ok(at)
    assert not at.get("download_button")


def test_presenter_css_is_local_only():
    """Nothing in the injected CSS reaches outside the app (the lecture hall may be offline)."""
    assert "url(" not in PRESENTER_CSS and "@import" not in PRESENTER_CSS


def test_the_model_and_input_survive_a_visit_to_another_page():
    """An encoder chosen on the explorer is not offered on the decoding page; coming back, the
    explorer shows it again with its own input (the decoding page's "input" does not leak)."""
    import ui.models
    from core.tasks import TASKS
    encoders = [r for r in ui.models.checkpoints(("encoder",)) if r["shipped"]]
    if not encoders:
        pytest.skip("no shipped encoder checkpoint")
    row = encoders[0]
    text = TASKS[row["task"]].examples[-1]
    at = app().run()
    at.switch_page("pages/explorer.py").run()
    at.selectbox(key="model").set_value(row["name"]).run()
    at.text_input(key="input").input(text).run()
    ok(at)
    at.switch_page("pages/decoding.py").run()
    ok(at)
    assert row["name"] not in at.selectbox(key="model").options
    at.switch_page("pages/explorer.py").run()
    ok(at)
    assert at.selectbox(key="model").value == row["name"]
    assert at.text_input(key="input").value == text and not at.error


def test_the_explorer_box_is_filled_after_inside_a_transformer():
    """Both pages draw a box under the key "input" (other labels, so other widgets): the
    explorer's box shows its own default, not an empty box and an error, after a visit."""
    at = app().run()
    at.switch_page("pages/transformer.py").run()
    ok(at)
    model = at.selectbox(key="model").value
    at.switch_page("pages/explorer.py").run()
    ok(at)
    assert at.selectbox(key="model").value == model
    assert at.text_input(key="input").value and not at.error, [e.value for e in at.error]


def test_decoding_steps_on_the_arrow_keys():
    at = app().run()
    at.switch_page("pages/decoding.py").run()
    ok(at)
    if not at.get("plotly_chart"):
        pytest.skip("no decoder checkpoint to step through")
    keys = {b.key: b.proto.shortcut.lower() for b in at.button}
    assert keys["dec_back"] == "left" and keys["dec_next"] == "right"
    assert keys["dec_start"] == "home" and keys["dec_end"] == "end"
    at.button(key="dec_next").click().run()
    assert at.session_state["step"] == 2


def test_training_snapshots_step_on_the_arrow_keys():
    """After a tiny run, ◀ / ▶ (bound to ← / →) move the snapshot slider one step."""
    import time
    from ui.state import JOB
    at = app().run()
    at.switch_page("pages/train.py").run()
    at.button[0].click().run()                       # Start training
    ok(at)
    job, t0 = at.session_state[JOB], time.time()
    while job.running and time.time() - t0 < 60:
        time.sleep(0.5)
        at.run()
    job.join(5)
    at.run()
    ok(at)
    last = at.slider(key="train_watch_i").value
    if last == 0:
        pytest.skip("the run kept a single snapshot")
    prev, nxt = at.button(key="train_watch_i_prev"), at.button(key="train_watch_i_next")
    assert prev.proto.shortcut.lower() == "left" and nxt.proto.shortcut.lower() == "right"
    assert nxt.disabled and not prev.disabled
    prev.click().run()
    assert at.slider(key="train_watch_i").value == last - 1
    at.button(key="train_watch_i_next").click().run()
    assert at.slider(key="train_watch_i").value == last


def test_the_model_caption_counts_in_words_and_names_the_input_window():
    """The shipped sine model has one layer and embeds each step from its last 48 values: the
    sidebar says "1 layer", not "1 layers", and says what a step reads."""
    import ui.models
    from core.recipe import describe
    rows = [r for r in ui.models.checkpoints(("decoder",)) if r["shipped"] and r["task"] == "sine"]
    if not rows:
        pytest.skip("no shipped sine checkpoint")
    cfg = rows[0]["config"]
    at = app().run()
    at.switch_page("pages/explorer.py").run()
    at.selectbox(key="model").set_value(rows[0]["name"]).run()
    ok(at)
    caption = next(c.value for c in at.sidebar.caption if "parameters" in c.value)
    assert f"{cfg.n_layers} layer ×" in caption and "layers" not in caption
    assert f"each step reads its last {cfg.in_window} values" in caption
    assert describe(cfg).startswith("1 layer × 4 heads") and describe(cfg).endswith(
        f"input window {cfg.in_window}")
