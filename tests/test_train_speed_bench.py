"""bench/train_speed.py's bookkeeping: medians, misses, the notebook ratio and the markdown file
(the runs themselves are replaced by fixed figures, so this takes no training time)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import train_speed as ts  # noqa: E402

WALLS = {("sort", 0): 2.0, ("sort", 1): 4.0, ("sort", 2): 2.5,
         ("reverse", 0): 12.0, ("reverse", 1): 30.0, ("reverse", 2): 11.0}


def fake_run(task, seed, device):
    wall = WALLS.get((task.name, seed), 1.0)
    missed = task.name == "reverse" and seed == 1
    evals = [(wall / 2, {"token_acc": 0.9, "exact": 0.5}), (wall, {"token_acc": 0.99,
                                                                   "exact": 0.96})]
    return {"seed": seed, "steps": 100 + seed, "wall": wall, "cpu": wall * 1.5,
            "step_ms": 10.0, "reached": not missed, "final": {"exact": 0.97}, "evals": evals}


@pytest.fixture
def fakes(monkeypatch):
    monkeypatch.setattr(ts, "one_run", fake_run)
    monkeypatch.setattr(ts, "train_notebook", lambda steps, device: {
        "steps": steps, "train_seconds": 20.0, "token_acc": 0.9, "exact": 0.5})


def test_the_table_has_medians_misses_and_the_notebook_ratio(fakes, tmp_path, capsys):
    out = tmp_path / "speed.md"
    assert ts.main(["--tasks", "sort,reverse", "--ref-steps", "1000", "--markdown",
                    str(out), "--device", "cpu"]) == 0
    text = out.read_text()
    assert text in capsys.readouterr().out
    assert "CPU (" in text.splitlines()[0]                       # the device is named
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in text.splitlines()
            if line.startswith("| sort") or line.startswith("| reverse")}
    sort, reverse = rows["sort"], rows["reverse"]
    assert sort[2] == "100 / 101 / 102" and sort[4] == "2.50" and sort[7] == "yes"
    # the notebook: 20 s for 1000 steps, so 2.5 s is 0.125 notebook units; our runs reach its
    # accuracy (0.9 token, 0.5 exact) halfway, at 1.0, 2.0 and 1.25 s: 20 / 1.25 = 16x
    assert sort[8] == "0.12" and sort[9].startswith("16x faster")
    # reverse: seed 1 missed, so the median of 12, inf, 11 is 12; over 20 s would be "no"
    assert reverse[4] == "12.00" and reverse[6] == "20" and reverse[7] == "yes"


def test_a_missed_median_is_not_met(fakes, monkeypatch, capsys):
    WALLS[("reverse", 0)] = 25.0
    try:
        assert ts.main(["--tasks", "reverse", "--ref-steps", "0", "--device", "cpu"]) == 0
    finally:
        WALLS[("reverse", 0)] = 12.0
    row = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("| reverse")][0]
    assert row.split(" | ")[4] == "25.00" and row.split(" | ")[7] == "no"


def test_unknown_and_untrainable_tasks_are_refused(capsys):
    assert ts.main(["--tasks", "sort,nope"]) == 2
    assert "nope" in capsys.readouterr().out
