"""Trainings running at once share torch's threads (core.jobs.SHARE_THREADS): each job's worker
thread runs on its share while others run, gets its threads back when alone, and leaves the
process's setting as it found it."""
from __future__ import annotations

import threading

import pytest
import torch

from core import jobs
from core.tasks import TASKS


class Recording(jobs.TrainingJob):
    """A tiny sort job that notes (step, other jobs running, its torch threads) at every step,
    after core.jobs has set its share; holds[step] (a callable) pauses it at that step."""

    def __init__(self, steps, holds):
        super().__init__(jobs.JobSpec("sort", TASKS["sort"].make_config(
            n_layers=1, n_heads=2, d_model=16), steps=steps, lr=5e-3, batch_size=8, seed=0,
            stop_at_target=False), "cpu")
        self.holds, self.seen = holds, []

    def on_step(self, step, loss, lr):
        if step in self.holds:
            self.holds[step]()
        super().on_step(step, loss, lr)
        others = sum(1 for j in list(jobs._LIVE) if j is not self and j.running)
        self.seen.append((step, others, torch.get_num_threads()))


def threads_of_a_new_thread() -> int:
    out = []
    t = threading.Thread(target=lambda: out.append(torch.get_num_threads()))
    t.start(), t.join()
    return out[0]


@pytest.mark.parametrize("share", [True, False])
def test_two_jobs_split_the_threads_and_give_them_back(two_threads, monkeypatch, share):
    monkeypatch.setattr(jobs, "SHARE_THREADS", share)
    both = threading.Barrier(2, timeout=60)             # step 1 of each: both are running
    short = Recording(5, {1: both.wait})
    long = Recording(12, {1: both.wait, 8: lambda: short.join(60)})   # then alone from step 8
    short.start(), long.start()
    short.join(60), long.join(60)
    assert short.state == long.state == "done", (short.error, long.error)
    together = {t for s, others, t in long.seen + short.seen if s == 1}
    alone = {t for s, others, t in long.seen if s >= 8}
    if share:
        assert together == {1} and alone == {2}          # a share, then its threads back
    else:
        assert together == alone == {2}
    assert threads_of_a_new_thread() == 2               # the process's setting is intact
