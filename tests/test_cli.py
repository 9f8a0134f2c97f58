"""`python -m core.train` and `python -m core.zoo` end to end."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import zoo
from core.checkpoints import load_checkpoint, read_metadata
from core.tasks import TASKS
from core.train_cli import CLIError, check_writable, main, parse_overrides, parse_target

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, module="core.train"):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_trains_and_writes_a_checkpoint(tmp_path):
    out = tmp_path / "tmp" / "x.safetensors"
    p = run_cli("--task", "sort", "--steps", "20", "--target", "none", "--seed", "3",
                "--threads", "1", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr and "step 20/20" in p.stderr
    assert str(out) in p.stdout
    model, info = load_checkpoint(out, device="cpu")
    assert model.kind == "encoder"
    for field in ("task", "metrics", "steps", "train_seconds", "seed", "preset"):
        assert field in info
    assert info["task"] == "sort" and info["steps"] == 20 and info["seed"] == 3
    assert info["preset"] is None and info["target"] is None
    assert set(info["metrics"]) == set(TASKS["sort"].metrics)
    assert info["eval_n"] == 2000 and info["train_seconds"] > 0


@pytest.mark.parametrize("args, words", [
    (["--task", "nope"], "unknown task"),
    (["--task", "sort", "--out", "/dev/null/x.safetensors"], "cannot write"),
])
def test_cli_errors_are_one_line_without_traceback(args, words, tmp_path):
    if "--out" not in args:
        args = args + ["--out", str(tmp_path / "x.safetensors")]
    p = run_cli(*args)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and words in lines[0], p.stderr
    assert not list(tmp_path.iterdir())


def test_unwritable_path_is_refused_before_training(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    called = []
    monkeypatch.setattr("core.train_cli.train_task", lambda *a, **k: called.append(1))
    assert main(["--task", "sort", "--out", str(blocker / "x.safetensors")]) == 2
    assert main(["--task", "sort", "--out", str(tmp_path)]) == 2
    assert main(["--task", "sort", "--out", str(tmp_path / "x.pt")]) == 2
    assert main(["--task", "sort", "--set", "pos=banana", "--out",
                 str(tmp_path / "x.safetensors")]) == 2
    assert main(["--task", "sort", "--steps", "0", "--out", str(tmp_path / "x.safetensors")]) == 2
    assert called == []
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 5 and all(line.startswith("error: ") for line in err)
    assert "is a file" in err[0] and "folder" in err[1] and ".safetensors" in err[2]
    assert "pos" in err[3] and "--steps" in err[4]


def test_option_parsing(tmp_path):
    sort = TASKS["sort"]
    assert parse_target(None, sort) == sort.target
    assert parse_target("none", sort) is None
    assert parse_target("exact=0.99,token_acc=0.995", sort) == {"exact": 0.99,
                                                                "token_acc": 0.995}
    for bad in ("accuracy=0.9", "exact", "exact=high"):
        with pytest.raises(CLIError):
            parse_target(bad, sort)
    assert parse_overrides("pos=none, d_model=64,dropout=0.1") == {
        "pos": "none", "d_model": 64, "dropout": 0.1}
    with pytest.raises(CLIError):
        parse_overrides("d_model")
    assert check_writable(tmp_path / "new" / "a.safetensors").parent.is_dir()


def test_zoo_refuses_to_write_below_the_bar(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(TASKS["sort"], "zoo", {"seed": 0, "steps": 3, "preset": None,
                                               "overrides": {"d_model": 16, "n_layers": 1}})
    assert zoo.main(["--tasks", "sort", "--out", str(tmp_path), "--quiet"]) == 1
    assert not (tmp_path / "sort.safetensors").exists()
    cap = capsys.readouterr()
    assert "NO" in cap.out and "sort" in cap.err and "below the bar" in cap.err


def test_zoo_writes_a_checkpoint_that_meets_the_bar(tmp_path, monkeypatch, capsys):
    task = TASKS["sort"]
    monkeypatch.setattr(task, "zoo", {"seed": 0, "steps": 3, "preset": None, "overrides": {}})
    monkeypatch.setattr(task, "bar", {"token_acc": 0.0})      # any model meets this bar
    assert zoo.main(["--tasks", "sort", "--out", str(tmp_path), "--quiet"]) == 0
    meta = read_metadata(tmp_path / "sort.safetensors")
    assert meta["info"]["steps"] == 3 and meta["info"]["task"] == "sort"
    assert "yes" in capsys.readouterr().out


def test_zoo_refuses_to_overwrite_without_force(tmp_path, monkeypatch, capsys):
    task = TASKS["sort"]
    monkeypatch.setattr(task, "zoo", {"seed": 0, "steps": 3, "preset": None, "overrides": {}})
    monkeypatch.setattr(task, "bar", {"token_acc": 0.0})
    shipped = tmp_path / "sort.safetensors"
    shipped.write_bytes(b"the shipped file")
    trained = []
    monkeypatch.setattr(zoo, "train_task", lambda *a, **k: trained.append(1))
    assert zoo.main(["--tasks", "sort", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sort.safetensors" in err[0] and "--force" in err[0]
    assert shipped.read_bytes() == b"the shipped file" and trained == []
    monkeypatch.undo()
    monkeypatch.setattr(task, "zoo", {"seed": 0, "steps": 3, "preset": None, "overrides": {}})
    monkeypatch.setattr(task, "bar", {"token_acc": 0.0})
    assert zoo.main(["--tasks", "sort", "--out", str(tmp_path), "--quiet", "--force"]) == 0
    assert read_metadata(shipped)["info"]["made_by"] == "python -m core.zoo"


def test_zoo_unknown_task_is_one_line(capsys):
    assert zoo.main(["--tasks", "sort,nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope" in err[0]
