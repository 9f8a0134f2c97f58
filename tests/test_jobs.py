"""core.jobs and core.recipe without any UI: a background run started, polled, stopped and saved
as a notebook would, and the one recipe the CLI, the zoo and the Train page share."""
from __future__ import annotations

import time

import pytest
import torch

from core import jobs, recipe
from core.checkpoints import load_checkpoint, read_metadata
from core.tasks import TASKS
from core.train import train
from core.train_cli import main as cli_main

TINY = dict(n_layers=1, n_heads=2, d_model=16)


def spec(steps=30, seed=0, **kw) -> jobs.JobSpec:
    return jobs.JobSpec("sort", TASKS["sort"].make_config(**TINY), steps=steps, lr=5e-3,
                        batch_size=16, seed=seed, **kw)


def finish(job, budget=120.0):
    job.join(budget)
    assert not job.running, f"still running after {budget} s"
    return job.view()


@pytest.fixture(scope="module")
def done():
    return jobs.TrainingJob(spec(stop_at_target=False), "cpu").start()


def test_a_job_runs_in_the_background_and_reports_its_progress(done):
    v = finish(done)
    assert v["state"] == "done" and v["step"] == 30 and len(v["losses"]) == 30
    assert v["eval_steps"] == sorted(v["eval_steps"]) and v["eval_steps"][-1] == 30
    assert set(v["final"]) == set(TASKS["sort"].metrics) and v["eta"] == 0.0
    names = done.model.attention_names()
    assert set(v["labels"]) == set(names)
    steps = [s for s, _ in v["snapshots"]]
    assert steps[0] == 0 and steps[-1] == 30 and steps == sorted(steps)
    for _, att in v["snapshots"]:
        for name in names:
            q, k = v["labels"][name]
            assert att[name].shape == (2, len(q), len(k))        # (H, Tq, Tk)


def test_the_view_is_a_copy_the_owner_may_change(done):
    v = done.view()
    v["losses"].clear()
    assert len(done.view()["losses"]) == 30


def test_stop_ends_the_run_between_steps_and_still_scores_it():
    job = jobs.TrainingJob(spec(steps=20000), "cpu").start()
    try:
        t0 = time.time()
        while job.view()["step"] < 3 and time.time() - t0 < 60:
            time.sleep(0.05)
        job.stop()
        v = finish(job)
    finally:
        job.stop()
    assert v["state"] == "cancelled" and 3 <= v["step"] < 20000
    assert set(v["final"]) == set(TASKS["sort"].metrics)


def test_at_most_max_jobs_run_at_once():
    started = []
    try:
        for _ in range(jobs.MAX_JOBS):
            started.append(jobs.TrainingJob(spec(steps=20000), "cpu").start())
        with pytest.raises(RuntimeError, match="already running"):
            jobs.TrainingJob(spec(), "cpu").start()
    finally:
        for job in started:
            job.stop()
        for job in started:
            job.join(60)
    finish(jobs.TrainingJob(spec(steps=10), "cpu").start())     # a slot is free again


def test_save_writes_the_model_with_the_recipes_metadata(done, tmp_path):
    finish(done)
    path = done.save("mine", tmp_path)
    model, info = load_checkpoint(path, "cpu")
    for a, b in zip(model.state_dict().values(), done.model.state_dict().values()):
        assert torch.equal(a.cpu(), b.cpu())
    assert info["metrics"] == done.view()["final"] and info["made_by"] == "train page"
    assert info["eval_n"] == recipe.FINAL_EVAL_N and info["steps"] == 30
    with pytest.raises(ValueError, match="already exists"):
        done.save("MINE", tmp_path)
    assert done.save("MINE", tmp_path, overwrite=True).name == "mine.safetensors"
    for bad in ("../x", "sort", ""):
        with pytest.raises(ValueError):
            done.save(bad, tmp_path)


def test_an_unfinished_job_cannot_be_saved(tmp_path):
    job = jobs.TrainingJob(spec(), "cpu")
    with pytest.raises(ValueError, match="no finished model"):
        job.save("early", tmp_path)


def test_the_cli_and_the_train_page_share_one_recipe(done, tmp_path):
    """The same metadata fields from either route, and final metrics that are the recipe's:
    FINAL_EVAL_N fresh examples from seed + FINAL_EVAL_SEED_OFFSET, reproducible from the file."""
    finish(done)
    out = tmp_path / "cli.safetensors"
    sets = ",".join(f"{k}={v}" for k, v in TINY.items())
    assert cli_main(["--task", "sort", "--set", sets, "--steps", "30", "--seed", "2",
                     "--target", "none", "--quiet", "--out", str(out)]) == 0
    page_path = done.save("page", tmp_path)
    infos = {}
    for route, path, seed in (("cli", out, 2), ("page", page_path, 0)):
        model, info = load_checkpoint(path, "cpu")
        assert info["eval_n"] == recipe.FINAL_EVAL_N
        assert info["eval_seed"] == seed + recipe.FINAL_EVAL_SEED_OFFSET
        assert recipe.final_metrics(TASKS["sort"], model, seed) == info["metrics"], route
        infos[route] = info
    assert set(infos["cli"]) == set(infos["page"])
    assert infos["cli"]["made_by"] == "python -m core.train"


@pytest.mark.parametrize("steps", [60, 65])
def test_the_estimate_counts_every_evaluation_a_run_makes(steps):
    """estimate_seconds charges one eval_s per evaluation the engine really runs with the job's
    schedule, plus the final one, scaled to FINAL_EVAL_N examples."""
    task = TASKS["sort"]
    model = recipe.build(task.make_config(**TINY), 0, "cpu")
    evals = []
    eval_every, _ = jobs.schedule(steps)
    train(model, task, steps=steps, batch_size=4, eval_every=eval_every, eval_n=4,
          callbacks={"on_eval": lambda *a: evals.append(a)})
    speed = jobs.Speed(step_s=0.5, eval_s=1.0)
    expected = steps * 0.5 + len(evals) + recipe.FINAL_EVAL_N / jobs.EVAL_N
    assert jobs.estimate_seconds(speed, steps) == pytest.approx(expected)


def test_build_is_seeded_and_leaves_the_global_random_state_alone():
    cfg = TASKS["sort"].make_config(**TINY)
    before = torch.random.get_rng_state()
    a, b, c = recipe.build(cfg, 3), recipe.build(cfg, 3), recipe.build(cfg, 4)
    assert torch.equal(torch.random.get_rng_state(), before)
    pa, pb, pc = (next(m.parameters()) for m in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)
