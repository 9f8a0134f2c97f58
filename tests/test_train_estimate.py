"""The Train page's time estimate (core.estimate, through core.jobs): how many steps a run is
expected to take, and that the time charged for them is the work a real job does.

The reference is a real TrainingJob whose evaluations are counted (the metrics are faked so
that the target is met at a chosen step): the estimate must charge exactly the steps it runs
and the examples it evaluates (during training, the confirmation, the final score).
"""
from __future__ import annotations

import copy
import time

import pytest

import core.recipe
import core.train
from core import estimate, jobs
from core.tasks import TASKS

TINY = dict(n_layers=1, n_heads=2, d_model=16)
SPEED = jobs.Speed(step_s=0.01, eval_s=0.02)


def with_typical(name: str, typical):
    """A copy of a registered task with typical_steps set (the registry is left alone)."""
    task = copy.copy(TASKS[name])
    task.typical_steps = typical
    return task


def counted_job(monkeypatch, task, steps: int, met_at: int):
    """Run a tiny sort job to its end with every evaluation counted; the target is met from
    step `met_at` on. -> (steps run, examples evaluated in all)."""
    evaluated, holder = [], {}

    def fake_evaluate(model, task_, n, seed):
        evaluated.append(n)
        ok = float(holder["job"].step >= met_at)
        return {"token_acc": ok, "exact": ok}

    monkeypatch.setattr(core.train, "evaluate", fake_evaluate)
    monkeypatch.setattr(core.recipe, "evaluate", fake_evaluate)
    monkeypatch.setitem(TASKS, task.name, task)
    spec = jobs.JobSpec(task.name, task.make_config(**TINY), steps=steps, lr=5e-3,
                        batch_size=8, seed=0, stop_at_target=True)
    job = holder["job"] = jobs.TrainingJob(spec, "cpu")
    job.start().join(120)
    assert job.state == "target", (job.state, job.error)
    return job.step, sum(evaluated)


@pytest.mark.parametrize("typical", [15, 20, 21])
def test_a_run_stopping_at_its_target_is_charged_what_the_job_does(monkeypatch, typical):
    """Sort evaluates every 10 steps, so a run typically at target after 15-21 steps can only
    stop at step 20 or 30: the estimate charges those steps and exactly the examples the
    job evaluates (evaluations, the 1000-example confirmation, the 2000-example final score)."""
    task = with_typical("sort", typical)
    est = jobs.estimate_run(SPEED, task, task.make_config(**TINY), 60, stop_at_target=True)
    ran, examples = counted_job(monkeypatch, task, steps=60, met_at=typical)
    assert est.steps == ran
    charged_evals = (est.seconds - est.steps * SPEED.step_s) / SPEED.eval_s
    assert charged_evals * jobs.EVAL_N == pytest.approx(examples)
    assert est.seconds < est.all_seconds
    assert f"{typical:,}" in est.why and "target" in est.why


def test_all_steps_when_the_run_does_not_stop_at_the_target():
    task = with_typical("sort", 100)
    cfg = task.make_config(**TINY)
    est = jobs.estimate_run(SPEED, task, cfg, 300, stop_at_target=False)
    assert est.steps == 300 and est.seconds == est.all_seconds
    assert est.seconds > 300 * SPEED.step_s            # the evaluations cost time too
    twice = jobs.estimate_run(jobs.Speed(0.02, 0.02), task, cfg, 300, stop_at_target=False)
    assert twice.seconds - est.seconds == pytest.approx(300 * 0.01)


def test_a_typical_run_longer_than_the_steps_chosen_takes_all_of_them():
    task = with_typical("sort", 250)
    est = jobs.estimate_run(SPEED, task, task.make_config(**TINY), 120, stop_at_target=True)
    assert est.steps == 120 and est.seconds == est.all_seconds
    assert "250" in est.why


def test_without_a_known_typical_run_all_steps_are_charged():
    task = with_typical("sort", None)
    est = jobs.estimate_run(SPEED, task, task.make_config(**TINY), 300, stop_at_target=True)
    assert est.steps == 300 and "no typical run" in est.why


def test_a_model_that_cannot_learn_the_task_runs_all_its_steps():
    """No positional encoding on sorting: the target cannot be reached, so however typical a
    run with positions is, this one runs every step."""
    task = with_typical("sort", 100)
    cfg = task.make_config(pos="none", **TINY)
    est = jobs.estimate_run(SPEED, task, cfg, 300, stop_at_target=True)
    assert est.steps == 300 and "cannot reach the target" in est.why
    assert est.seconds == est.all_seconds


@pytest.mark.parametrize("name, pos, cannot", [
    ("sort", "none", True), ("sort", "learned", False), ("sort", "rope", False),
    ("dates", "none", True), ("dates", "sinusoidal", False),
    ("sine", "none", False),          # a causal decoder: its mask tells a token's place
])
def test_which_models_cannot_learn_their_task(name, pos, cannot):
    task = TASKS[name]
    why = task.cannot_learn(task.make_config(pos=pos))
    assert bool(why) == cannot
    if cannot:
        assert "a set has no order" in why and "positional encoding" in why


def test_the_gru_model_is_never_refused():
    task = TASKS["dates_rnn"]
    for attention in (True, False):
        assert task.cannot_learn(task.make_config(attention=attention)) is None


def test_every_typical_run_fits_its_tasks_default_schedule():
    """Where a task declares typical_steps (measured by bench/train_estimate.py), it is a run
    its own default settings can finish: more than one evaluation, at most the default steps."""
    declared = {n: t for n, t in TASKS.items() if t.trains and t.target and t.typical_steps}
    assert "sort" in declared
    for name, task in declared.items():
        every, _ = estimate.schedule(task.train_defaults["steps"], task)
        assert every <= task.typical_steps <= task.train_defaults["steps"], name


def test_the_speed_leaves_out_the_slow_first_step(monkeypatch):
    """A first step that is slow (imports, kernel choice) does not count: the speed is that of
    the steps after it, sampled for about SPEED_SECONDS."""
    task = copy.copy(TASKS["sort"])
    batch, calls = task.batch, []

    def slow_first(*a, **k):
        calls.append(1)
        time.sleep(1.0 if len(calls) == 1 else 0.02)
        return batch(*a, **k)

    task.batch = slow_first
    monkeypatch.setattr(estimate, "SPEED_SECONDS", 0.3)
    t0 = time.perf_counter()
    speed = jobs.measure_speed(task, task.make_config(**TINY), 8, "cpu")
    assert time.perf_counter() - t0 >= 1.3
    assert 0.02 <= speed.step_s < 0.5
    assert len(calls) >= estimate.SPEED_STEPS[0]
    assert speed.eval_s > 0


def test_evaluation_price_leaves_out_the_first_evaluations_one_off_costs(monkeypatch):
    """A run evaluates ~25 times; the first evaluation of a model also pays one-off costs, so
    the price per evaluation is the faster of two (here: a first one 0.4 s slower)."""
    task = TASKS["sort"]
    seen = []

    def evaluate(model, task_, n, seed):
        seen.append(n)
        time.sleep(0.45 if len(seen) == 1 else 0.05)
        return {}

    monkeypatch.setattr(estimate, "evaluate", evaluate)
    speed = jobs.measure_speed(task, task.make_config(**TINY), 8, "cpu")
    assert seen == [estimate.EVAL_N, estimate.EVAL_N]
    assert 0.05 <= speed.eval_s < 0.3
