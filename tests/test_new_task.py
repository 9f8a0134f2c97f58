"""A new task is one file plus its registration: written here into a temporary package, it
appears in the model picker, on the Train page and in the explorer, and the generic contract
tests (tests/test_task_contract.py) run on it, without editing any list in the project."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui.models
from core.checkpoints import save_checkpoint
from core.tasks import TASKS, register_module

from app_helpers import APP, ok

ROOT = Path(__file__).resolve().parents[1]
PACKAGE, MODULE = "attnviz_extra_tasks", "copy_digits"
TASK_FILE = textwrap.dedent('''
    """`copy`: write the digits back unchanged. One file: the data and the right answer."""
    from core.tasks.base import IGNORE
    from core.tasks.sort import SortTask
    from core.tasks.vocab import PAD


    class CopyTask(SortTask):
        name = "copy"
        title = "Copy digits"
        description = "Write the digits back in the same order (a test-only task)."
        examples = ("3 1 2", "9 9 1")

        def sample(self, batch_size, generator):
            x, _ = super().sample(batch_size, generator)
            return x, x.masked_fill(x == PAD, IGNORE)

        def answer(self, example):
            return list(self.check_example(example))


    TASK = CopyTask()
''')


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """The folder that holds the new task's package (one file and an empty __init__.py)."""
    root = tmp_path_factory.mktemp("extra")
    (root / PACKAGE).mkdir()
    (root / PACKAGE / "__init__.py").write_text("")
    (root / PACKAGE / f"{MODULE}.py").write_text(TASK_FILE)
    return root


@pytest.fixture
def copy_task(package, monkeypatch, tmp_path):
    """The task registered in this process, and a checkpoints folder holding one copy model."""
    monkeypatch.syspath_prepend(str(package))
    task = register_module(f"{PACKAGE}.{MODULE}")
    try:
        save_checkpoint(task.build_model(), tmp_path / "copy.safetensors", {"task": "copy"})
        monkeypatch.setattr(ui.models, "CHECKPOINT_DIR", tmp_path)
        yield task
    finally:
        TASKS.pop("copy", None)
        for name in [m for m in sys.modules if m.startswith(PACKAGE)]:
            del sys.modules[name]


def test_the_new_task_is_in_the_model_picker_and_the_explorer(copy_task):
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page("pages/explorer.py").run()
    ok(at)
    # the one checkpoint in the folder comes first; pretrained models found on disk follow
    options = at.selectbox(key="model").options
    assert options[0] == "copy" and options.count("copy") == 1
    assert all("/" in o for o in options[1:]), options
    assert any("Task **copy**" in c.value for c in at.sidebar.caption)
    at.text_input(key="input").input("4 2 7").run()
    ok(at)
    shown = " ".join(m.value for m in at.markdown)
    assert "**Prediction:**" in shown and ("correct" in shown or "`4 2 7`" in shown)
    assert at.get("plotly_chart"), "no attention map drawn"


def test_the_new_task_can_be_trained_on_the_train_page(copy_task):
    at = AppTest.from_file(str(APP), default_timeout=90)
    for field, value in dict(layers=1, heads=2, d_model=16, batch=16, steps=20).items():
        at.session_state[f"train_w_copy.{field}"] = value
    at.run()
    at.switch_page("pages/train.py").run()
    assert "Copy digits (copy)" in at.selectbox(key="train_w_task").options
    at.selectbox(key="train_w_task").set_value("copy").run()
    ok(at)
    assert any(c.value == copy_task.description for c in at.caption)
    assert next(m.value for m in at.metric if m.label == "Estimated time") != "–"


def test_the_generic_contract_tests_run_on_the_new_task(package):
    env = {**os.environ, "ATTNVIZ_TASKS": f"{PACKAGE}.{MODULE}",
           "PYTHONPATH": os.pathsep.join([str(package), str(ROOT)])}
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
                        "tests/test_task_contract.py", "-k", "copy"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    passed = [ln for ln in p.stdout.splitlines() if ln.startswith("PASSED") and "copy]" in ln]
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert len(passed) >= 7, p.stdout[-3000:]
    assert not [ln for ln in p.stdout.splitlines() if ln.startswith("FAILED")]
