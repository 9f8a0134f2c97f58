"""The model picker over a hostile checkpoint folder (issue 13): every entry that cannot be used
is listed as such, with its reason, and every other model keeps working; the folder comes from
ATTNVIZ_CHECKPOINT_DIR; orphaned temporary files are removed once, at server start.

The folder is a temporary copy: the shipped sort model beside a FIFO, a broken and a looping
symlink, metadata of the wrong types, numbers written as text, a directory named *.safetensors
(whose name is markdown), a symlink to a good model outside the folder, a model of a task this
app lacks, and an orphaned temporary file of an interrupted save.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from safetensors.torch import save as st_save
from streamlit.testing.v1 import AppTest

import ui.models
import ui.server
from core.checkpoints import FORMAT, save_checkpoint
from core.tasks import TASKS

from app_helpers import APP, ok

SHIPPED = ui.models.CHECKPOINT_DIR / "sort.safetensors"
LINK_NAME = "[click me](https:example.com) *bold*"
# name -> a phrase its reason must hold
BAD = {"pipe": "named pipe (FIFO)", "broken": "broken", "loop": "loop",
       "typed": "'task' should be text", "strings": "should be a number",
       LINK_NAME: "folder", "outside": "outside the model folder",
       "unknown_task": "task 'no_such_task', which this app does not have"}
pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo") or not SHIPPED.exists(),
                                reason="needs FIFOs and the shipped sort checkpoint")


def _meta(model, info):
    return {"format": FORMAT, "version": "1", "kind": model.kind,
            "config": json.dumps(model.cfg.to_dict()), "info": json.dumps(info)}


def _tensors(model):
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("picker")
    folder, elsewhere = root / "checkpoints", root / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    shutil.copy(SHIPPED, folder / "sort.safetensors")
    os.mkfifo(folder / "pipe.safetensors")
    (folder / "broken.safetensors").symlink_to(folder / "nothing-here.safetensors")
    (folder / "loop.safetensors").symlink_to(folder / "loop.safetensors")
    model = TASKS["sort"].build_model()
    (folder / "typed.safetensors").write_bytes(
        st_save(_tensors(model), metadata=_meta(model, {"task": ["sort"]})))
    (folder / "strings.safetensors").write_bytes(
        st_save(_tensors(model), metadata=_meta(model, {"task": "sort",
                                                        "metrics": {"exact": "0.99"}})))
    (folder / f"{LINK_NAME}.safetensors").mkdir()
    shutil.copy(SHIPPED, elsewhere / "real.safetensors")
    (folder / "outside.safetensors").symlink_to(elsewhere / "real.safetensors")
    save_checkpoint(model, folder / "unknown_task.safetensors", info={"task": "no_such_task"})
    orphan = folder / ".sort.safetensors.0123abcd.tmp"
    orphan.write_bytes(b"half a save")
    os.utime(orphan, (time.time() - 3600,) * 2)
    return folder


@pytest.fixture
def in_folder(hostile, monkeypatch):
    monkeypatch.setattr(ui.models, "CHECKPOINT_DIR", hostile)
    return hostile


def notes(at) -> dict:
    """{expander label: [caption texts]} of the sidebar's "cannot be used" expanders."""
    return {e.proto.label: [c.value for c in e.caption] for e in at.sidebar.expander
            if "cannot be used" in e.proto.label}


def check_notes(at) -> list[str]:
    found = notes(at)
    assert list(found) == [f"{len(BAD)} models cannot be used"], found
    captions = next(iter(found.values()))
    for name, reason in BAD.items():
        from ui.text import plain
        line = next((c for c in captions if c.startswith(f"**{plain(name, 60)}**")), None)
        assert line is not None, (name, captions)
        assert plain(reason) in line or reason in line, (name, line)
    return captions


def test_the_explorer_lists_every_bad_entry_and_the_good_model_works(in_folder):
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    at.switch_page("pages/explorer.py").run()
    ok(at)
    assert at.sidebar.selectbox(key="model").options[0] == "sort"
    assert not any(o in BAD for o in at.sidebar.selectbox(key="model").options)
    captions = check_notes(at)
    assert all("](https" not in c for c in captions)         # a name is never a live link
    assert at.get("plotly_chart"), "the good model's attention map is not drawn"
    assert not at.error


def test_a_page_with_no_usable_model_still_lists_why(in_folder):
    """The decoding page needs a decoder: none here, so it says so and lists the bad ones."""
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    at.switch_page("pages/decoding.py").run()
    ok(at)
    shown = " ".join(w.value for w in at.warning)
    assert "model is available" in shown, shown
    check_notes(at)


def test_a_broken_pretrained_folder_is_listed_too(in_folder, tmp_path):
    bad = tmp_path / "half-model"
    bad.mkdir()
    (bad / "config.json").write_text("{ not json")
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.session_state["pretrained_folders"] = [str(bad)]
    at.run()
    at.switch_page("pages/explorer.py").run()
    ok(at)
    captions = next(iter(notes(at).values()))
    line = next(c for c in captions if c.startswith("**half\\-model**"))
    assert "(Hugging Face folder)" in line and "not valid JSON" in line


def test_the_folder_comes_from_the_environment(tmp_path):
    code = "import ui.models; print(ui.models.CHECKPOINT_DIR)"
    out = subprocess.run([sys.executable, "-c", code], cwd=APP.parent, capture_output=True,
                         text=True, timeout=120,
                         env={**os.environ, "ATTNVIZ_CHECKPOINT_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(tmp_path)


def test_orphans_are_removed_once_per_server_start(tmp_path, monkeypatch):
    old = tmp_path / ".a.safetensors.0123456789ab.tmp"        # names save_checkpoint uses
    fresh = tmp_path / ".b.safetensors.ba9876543210.tmp"
    for f in (old, fresh):
        f.write_bytes(b"x")
    os.utime(old, (time.time() - 3600,) * 2)
    monkeypatch.setattr(ui.server, "_started", False)
    assert ui.server.start(tmp_path) is True
    assert not old.exists() and fresh.exists()         # a save still under way is left alone
    os.utime(fresh, (time.time() - 3600,) * 2)
    assert ui.server.start(tmp_path) is False           # once per process, not per rerun
    assert fresh.exists()


def test_the_hostile_folder_costs_no_traceback_on_any_page(in_folder):
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    for page in ("pages/home.py", "pages/explorer.py", "pages/vit.py", "pages/positional.py",
                 "pages/train.py"):
        at.switch_page(page).run()
        ok(at)
        assert at.title, page
    at.switch_page("pages/vit.py").run()
    check_notes(at)                                     # no ViT here: the list says why
