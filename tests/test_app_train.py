"""The Train page through Streamlit's AppTest: settings, estimate, a live run, Stop, sessions, save.

Runs use a tiny sort model (1 layer, d_model 16, batch 16) so a 60-step run takes seconds.
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import jobs, recipe
from core.tasks import TASKS
from ui.models import CHECKPOINT_DIR
from ui.state import JOB

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
TINY = dict(layers=1, heads=2, d_model=16, batch=16, steps=60)


def open_train(**settings) -> AppTest:
    """The Train page with the sort task's widgets preset (so no default-size timing runs)."""
    at = AppTest.from_file(str(APP), default_timeout=90)
    for field, value in {**TINY, **settings}.items():
        at.session_state[f"train_w_sort.{field}"] = value
    at.switch_page("pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def widget(at, kind, field):
    return getattr(at, kind)(key=f"train_w_sort.{field}")


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def start(at) -> jobs.TrainingJob:
    at.button[0].click().run()         # "Start training" is the page's first button
    assert not at.exception, [e.value for e in at.exception]
    return at.session_state[JOB]


def wait_until_done(at, budget=150.0) -> jobs.TrainingJob:
    job, t0 = at.session_state[JOB], time.time()
    while job.running and time.time() - t0 < budget:
        time.sleep(0.5)
        at.run()                       # the polling fragment reruns with the script
    job.join(5)
    at.run()
    assert not job.running, f"still running after {budget} s (step {job.step})"
    assert not at.exception, [e.value for e in at.exception]
    return job


def picker_options() -> list[str]:
    """The sidebar model picker's options in a fresh session (it lists checkpoints/ each run)."""
    at = AppTest.from_string(f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
                             "from ui.sidebar import model_picker\nmodel_picker()\n",
                             default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return [o for sb in at.sidebar.selectbox for o in sb.options]


def test_opens_and_parameter_count_follows_d_model():
    at = open_train()
    assert at.title[0].value == "Train a model"
    small = metric(at, "Parameters")
    assert metric(at, "Estimated time") != "–"
    widget(at, "select_slider", "d_model").set_value(32).run()
    assert not at.exception
    assert metric(at, "Parameters") != small
    assert int(metric(at, "Parameters").replace(",", "")) > int(small.replace(",", ""))


def test_invalid_architecture_is_an_error_not_an_exception():
    at = open_train(d_model=48, heads=5)
    assert not at.exception
    assert any("divisible" in e.value for e in at.error), [e.value for e in at.error]
    assert at.button[0].disabled                 # nothing to start


def test_training_error_in_the_thread_is_shown(monkeypatch):
    at = open_train()

    def boom(*args, **kwargs):
        raise RuntimeError("boom from the engine")

    monkeypatch.setattr(recipe, "train", boom)
    start(at)
    job = wait_until_done(at, budget=30)
    assert job.state == "error"
    assert any("boom from the engine" in e.value for e in at.error)


@pytest.fixture(scope="module")
def trained():
    """One finished 60-step run and a unique model name; the saved file is deleted afterwards."""
    at = open_train()
    start(at)
    job = wait_until_done(at)
    name = f"pytest-train-{uuid.uuid4().hex[:8]}"
    yield at, job, name
    (CHECKPOINT_DIR / f"{name}.safetensors").unlink(missing_ok=True)


@pytest.mark.slow
def test_a_short_run_finishes_with_curves_metrics_and_snapshots(trained):
    at, job, _ = trained
    v = job.view()
    assert v["state"] == "target" or (v["state"] == "done" and v["step"] == 60)
    assert len(at.get("progress")) == 1
    assert len(at.get("plotly_chart")) == 2       # curves + the attention heatmap
    first, last = sum(v["losses"][:10]) / 10, sum(v["losses"][-10:]) / 10
    assert last < first, (first, last)
    assert set(v["final"]) >= {"token_acc", "exact"}
    assert any(f"Final metrics on {recipe.FINAL_EVAL_N}" in m.value
               for m in [*at.success, *at.warning])
    assert 10 <= len(v["snapshots"]) <= 32
    assert at.slider(key="train_watch_i").value == len(v["snapshots"]) - 1
    at.slider(key="train_watch_i").set_value(0).run()
    assert not at.exception and "at step 0" in str(at.get("plotly_chart")[1].proto.spec)
    at.run()                                       # a picked snapshot stays picked
    assert at.slider(key="train_watch_i").value == 0


@pytest.mark.slow
def test_leaving_and_coming_back_keeps_the_run_and_the_settings(trained):
    at, job, _ = trained
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert at.session_state[JOB] is job
    assert widget(at, "select_slider", "d_model").value == 16
    assert len(at.get("progress")) == 1


@pytest.mark.slow
def test_save_validates_writes_lists_and_never_overwrites_silently(trained):
    at, job, name = trained
    path = CHECKPOINT_DIR / f"{name}.safetensors"
    for bad in ("../evil", "a.b", "sort", "x" * 41, ""):
        at.text_input(key="train_save_name").set_value(bad)
        at.button(key="train_save").click().run()
        assert at.error and not at.exception, bad
    assert not path.exists()
    at.text_input(key="train_save_name").set_value(name)
    at.button(key="train_save").click().run()
    assert not at.exception and at.success, [e.value for e in at.error]
    assert path.exists()
    assert any(o.startswith(name) for o in picker_options())
    mtime = path.stat().st_mtime_ns
    at.button(key="train_save").click().run()      # same name again, no overwrite ticked
    assert any("already exists" in e.value for e in at.error)
    assert path.stat().st_mtime_ns == mtime
    at.checkbox(key="train_overwrite").check()
    at.button(key="train_save").click().run()      # explicitly asked: replaced
    assert at.success and path.stat().st_mtime_ns >= mtime


@pytest.mark.slow
def test_stop_and_two_sessions_keep_separate_jobs():
    a, b = open_train(steps=20000), open_train(steps=20000)
    job_a, job_b = start(a), start(b)
    try:
        assert job_a is not job_b and job_a.cancel is not job_b.cancel
        widget(a, "number_input", "seed").set_value(7).run()   # a click does not end the run
        assert a.session_state[JOB] is job_a and job_a.running
        a.button(key="train_stop").click().run()
        job_a = wait_until_done(a, budget=60)
        assert job_a.state == "cancelled" and job_a.step < 20000
        assert any("stopped at step" in w.value for w in a.warning)
        assert job_b.running and not job_b.cancel.is_set()
        b.run()
        assert b.session_state[JOB] is job_b
    finally:
        job_a.stop()
        job_b.stop()
        job_b.join(60)


# ----------------------------------------------------------------------------- every task
SMALL = {"rnn": dict(d_emb=8, d_hidden=16, d_attn=16)}     # others: TINY's layers and sizes


def small_settings(task) -> dict:
    """Widget values that make the page's speed timing quick for this task."""
    sizes = SMALL.get(task.kind, dict(layers=1, d_model=16))
    return {f"train_w_{task.name}.{k}": v for k, v in {**sizes, "batch": 16}.items()}


@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_can_be_picked_with_the_settings_of_its_model(name):
    """Picking a task (nothing started) shows the settings its config kind has: a GRU's sizes
    and attention switch, or a transformer's layers and positional encoding; an estimate with
    its why; the task in the link."""
    task = TASKS[name]
    at = open_train()
    options = at.selectbox(key="train_w_task").options
    if not task.trains:                            # nothing to train: not offered
        assert not any(o.endswith(f"({name})") for o in options)
        return
    for key, value in small_settings(task).items():
        at.session_state[key] = value
    at.selectbox(key="train_w_task").set_value(name).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["task"] == [name] or at.query_params["task"] == name
    keys = {w.key for w in [*at.number_input, *at.toggle, *at.select_slider, *at.selectbox]}
    if task.kind == "rnn":
        assert {f"train_w_{name}.attention", f"train_w_{name}.d_hidden"} <= keys
        assert f"train_w_{name}.layers" not in keys
    else:
        assert {f"train_w_{name}.layers", f"train_w_{name}.pos"} <= keys
    assert metric(at, "Estimated time") != "–"
    assert any(c.value.startswith("Estimated from") for c in at.caption)
    assert not at.button[0].disabled              # Start is offered
    assert JOB not in at.session_state            # and nothing started


def test_the_gru_without_attention_is_one_switch_away():
    at = open_train()
    for key, value in small_settings(TASKS["dates_rnn"]).items():
        at.session_state[key] = value
    at.selectbox(key="train_w_task").set_value("dates_rnn").run()
    with_attention = int(metric(at, "Parameters").replace(",", ""))
    assert not at.select_slider(key="train_w_dates_rnn.d_attn").disabled
    at.toggle(key="train_w_dates_rnn.attention").set_value(False).run()
    assert not at.exception
    without = int(metric(at, "Parameters").replace(",", ""))
    cfg = TASKS["dates_rnn"].make_config(**SMALL["rnn"])
    assert with_attention - without == cfg.parameter_count() - \
        cfg.replace(attention=False).parameter_count() > 0
    assert at.select_slider(key="train_w_dates_rnn.d_attn").disabled


@pytest.mark.slow
@pytest.mark.parametrize("attention", [True, False])
def test_the_gru_trains_and_shows_its_alignment_forming(attention):
    settings = {**small_settings(TASKS["dates_rnn"]), "train_w_dates_rnn.steps": 10,
                "train_w_dates_rnn.attention": attention}
    at = AppTest.from_file(str(APP), default_timeout=90)
    for key, value in settings.items():
        at.session_state[key] = value
    at.query_params["task"] = "dates_rnn"
    at.switch_page("pages/train.py").run()
    assert at.selectbox(key="train_w_task").value == "dates_rnn"
    job = start(at)
    job = wait_until_done(at, budget=300)
    assert job.state in ("done", "target") and job.step >= 1
    assert at.subheader[-2].value.startswith(("Finished", "Stopped early")) or any(
        "GRU " in h.value for h in at.subheader)           # core.recipe.describe's words
    assert any("Watch attention form" == h.value for h in at.subheader)
    titles = [t for t in map(str, (e.proto.spec for e in at.get("plotly_chart")))]
    if attention:
        assert any("decoder cross-attention, head 0 at step" in t for t in titles)
    else:
        assert len(titles) == 1                   # the curves; no map
        assert any("no attention to watch" in i.value for i in at.info)


@pytest.mark.parametrize("pos, why", [("none", "a set has no order"), ("learned", "try more")])
def test_a_model_without_positions_is_told_why_it_missed_the_target(pos, why):
    """A sorting run that ends below its target: without a positional encoding the message
    says why no number of steps helps; with one, it suggests training longer."""
    from ui.train.views import outcome
    v = dict(final={"token_acc": 0.41, "exact": 0.0}, state="done", step=300,
             target_reached=False)
    level, message = outcome(v, TASKS["sort"], TASKS["sort"].make_config(pos=pos))
    assert level == "warning" and why in message
    assert ("try more steps" in message) == (pos != "none")
