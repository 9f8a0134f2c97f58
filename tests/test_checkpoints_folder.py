"""The model folder: one bad entry never breaks listing or loading the others.

Special files (FIFOs, sockets, devices, folders), broken / looping / outside symlinks, metadata
of the wrong types, huge headers, orphaned temporary files of an interrupted save, hostile
headers that would make a naive loader allocate a huge model, and configs over the memory
budget: each is listed as unreadable with a reason, and the good model beside it still loads.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest
import torch
from safetensors.torch import save as st_save

import core.checkpoint_files as ckpt_files
import core.checkpoints as ckpt
from conftest import tiny_model
from core.checkpoints import (CheckpointError, clean_orphans, list_checkpoints, load_checkpoint,
                              read_metadata, save_checkpoint)
from peak_memory import REPO, measure

POSIX = os.name == "posix"


@pytest.fixture
def folder(tmp_path):
    """A model folder holding one good checkpoint, good.safetensors."""
    d = tmp_path / "models"
    d.mkdir()
    save_checkpoint(tiny_model("decoder-tokens", "cpu"), d / "good.safetensors",
                    info={"task": "sort", "metrics": {"exact": 0.5}})
    return d


def _rows(folder) -> dict:
    """{name: row} of a listing that must finish within 20 s (a blocking open would not)."""
    out = {}
    t = threading.Thread(target=lambda: out.update(rows=list_checkpoints(folder)), daemon=True)
    t.start()
    t.join(20)
    assert not t.is_alive(), "listing the folder blocked"
    return {r["name"]: r for r in out["rows"]}


def _assert_listed_unreadable(folder, name: str, reason: str):
    """`name` is listed with an error matching `reason`; the good model is listed and loads."""
    rows = _rows(folder)
    row = rows[name]
    assert row["error"] is not None and reason in row["error"], row["error"]
    assert row["error"].startswith(f"{name}.safetensors: ") and row["reason"] in row["error"]
    assert row["kind"] is None and row["task"] is None and row["config"] is None
    good = rows["good"]
    assert good["error"] is None and good["task"] == "sort" and good["bytes"] > 0
    load_checkpoint(good["path"], "cpu")
    for reader in (read_metadata, load_checkpoint):
        with pytest.raises(CheckpointError, match=re.escape(reason)):
            reader(folder / f"{name}.safetensors")


# ----------------------------------------------------------------------------- special files
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_fifo_is_refused_before_any_open(folder, monkeypatch):
    fifo = folder / "pipe.safetensors"
    os.mkfifo(fifo)                           # opening it for reading would block forever
    opened = []
    real_open = os.open
    monkeypatch.setattr(ckpt_files.os, "open", lambda p, *a, **k: (opened.append(str(p)),
                                                                   real_open(p, *a, **k))[1])
    _assert_listed_unreadable(folder, "pipe", "named pipe (FIFO)")
    assert str(fifo) not in opened and any(p.endswith("good.safetensors") for p in opened)


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets here")
def test_socket_file_is_refused(folder):
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(folder / "sock.safetensors"))
        _assert_listed_unreadable(folder, "sock", "is a socket")


def test_device_file_is_refused(folder):
    try:
        os.mknod(folder / "dev.safetensors", 0o600 | 0o020000, os.makedev(1, 5))  # /dev/zero
    except (OSError, AttributeError) as e:
        pytest.skip(f"cannot make a device node here ({e})")
    _assert_listed_unreadable(folder, "dev", "is a device")


def test_folder_named_like_a_checkpoint(folder):
    (folder / "dir.safetensors").mkdir()
    _assert_listed_unreadable(folder, "dir", "is a folder")


# ----------------------------------------------------------------------------- symlinks
@pytest.mark.skipif(not POSIX, reason="symlinks need POSIX here")
def test_broken_and_looping_links(folder):
    (folder / "broken.safetensors").symlink_to(folder / "gone.safetensors")
    _assert_listed_unreadable(folder, "broken", "broken link")
    (folder / "loop_a.safetensors").symlink_to(folder / "loop_b.safetensors")
    (folder / "loop_b.safetensors").symlink_to(folder / "loop_a.safetensors")
    (folder / "self.safetensors").symlink_to("self.safetensors")
    for name in ("loop_a", "loop_b", "self"):
        _assert_listed_unreadable(folder, name, "loops")


@pytest.mark.skipif(not POSIX, reason="symlinks need POSIX here")
def test_links_outside_the_folder_are_refused(folder, tmp_path):
    outside = save_checkpoint(tiny_model("encoder-tagger", "cpu"), tmp_path / "o.safetensors",
                              info={"task": "sort"})
    load_checkpoint(outside, "cpu")                         # a good file, just elsewhere
    (folder / "out.safetensors").symlink_to(outside)
    _assert_listed_unreadable(folder, "out", "outside the model folder")
    (folder / "sub").mkdir()
    save_checkpoint(tiny_model("encoder-tagger", "cpu"), folder / "sub" / "s.safetensors")
    (folder / "sub_link.safetensors").symlink_to("sub/s.safetensors")
    _assert_listed_unreadable(folder, "sub_link", "outside the model folder")
    (folder / "null.safetensors").symlink_to(os.devnull)
    _assert_listed_unreadable(folder, "null", "outside the model folder")


@pytest.mark.skipif(not POSIX, reason="symlinks need POSIX here")
def test_link_to_a_model_in_the_same_folder_works(folder):
    (folder / "latest.safetensors").symlink_to("good.safetensors")
    (folder / "dotted.safetensors").symlink_to(f"../{folder.name}/good.safetensors")
    rows = _rows(folder)
    for name in ("latest", "dotted"):
        assert rows[name]["error"] is None and rows[name]["task"] == "sort"
        model, info = load_checkpoint(rows[name]["path"], "cpu")
        assert info["task"] == "sort"
    (folder / "dirlink.safetensors").symlink_to(folder)
    _assert_listed_unreadable(folder, "dirlink", "outside the model folder")


# ----------------------------------------------------------------------------- metadata types
def _meta(model, info_table=None, **changes):
    meta = {"format": ckpt.FORMAT, "version": "1", "kind": model.kind,
            "config": json.dumps(model.cfg.to_dict()), "info": json.dumps(info_table or {})}
    meta.update(changes)
    return meta


def _tensors(model):
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("info,reason", [
    ({"task": ["sort"]}, "'task' should be text"),
    ({"task": {"name": "sort"}}, "'task' should be text"),
    ({"task": "x" * 500}, "'task' is 500 characters"),
    ({"metrics": [0.9, 0.8]}, "'metrics' should be a table"),
    ({"metrics": "exact=0.9"}, "'metrics' should be a table"),
    ({"metrics": {"exact": "0.99"}}, "metric 'exact' should be a number"),
    ({"metrics": {"exact": None}}, "metric 'exact' should be a number"),
    ({"metrics": {"exact": True}}, "metric 'exact' should be a number"),
    ({"metrics": {"exact": {"nested": [1, [2, [3]]]}}}, "should be a number"),
    ({"steps": "100"}, "'steps' should be a whole number"),
    ({"steps": 1.5}, "'steps' should be a whole number"),
    ({"lr": "0.001"}, "'lr' should be a number"),
    ({"train_seconds": [1]}, "'train_seconds' should be a number"),
])
def test_info_of_the_wrong_types(folder, info, reason):
    model = tiny_model("decoder-tokens", "cpu")
    (folder / "typed.safetensors").write_bytes(st_save(_tensors(model), metadata=_meta(model,
                                                                                       info)))
    _assert_listed_unreadable(folder, "typed", reason)


def test_unknown_info_fields_and_nan_metrics_are_kept(folder):
    model = tiny_model("decoder-tokens", "cpu")
    info = {"task": "sort", "metrics": {"mse": float("nan"), "exact": 1}, "notes": [1, {"a": 2}]}
    save_checkpoint(model, folder / "extra.safetensors", info=info)
    row = _rows(folder)["extra"]
    assert row["error"] is None and row["info"]["notes"] == [1, {"a": 2}]


@pytest.mark.parametrize("changes,reason", [
    (dict(info="[" * 100_000), "info is not valid JSON"),
    (dict(config="{" * 100_000), "config is not valid JSON"),
    (dict(config="[1, 2]"), "config is not a table"),
    (dict(kind="x" * 10_000), "unknown model kind"),
    (dict(version="2"), "format version '2'"),
])
def test_metadata_garbage(folder, changes, reason):
    model = tiny_model("decoder-tokens", "cpu")
    data = st_save(_tensors(model), metadata=_meta(model, **changes))
    (folder / "junk.safetensors").write_bytes(data)
    _assert_listed_unreadable(folder, "junk", reason)


def _raw(header: dict, payload: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return struct.pack("<Q", len(head)) + head + payload


@pytest.mark.parametrize("header,reason", [
    ({"__metadata__": {"format": "attention-visualizer", "kind": ["decoder"], "config": "{}"}},
     "metadata values must be text"),
    ({"__metadata__": {"format": "attention-visualizer", "kind": "decoder", "config": 16}},
     "metadata values must be text"),
    ({"__metadata__": {"format": "attention-visualizer", "kind": "decoder", "config": "{}"},
      "w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, "bad entry"),
    ({"__metadata__": {"format": "attention-visualizer", "kind": "decoder", "config": "{}"},
      "w": {"dtype": "PICKLE", "shape": [1], "data_offsets": [0, 4]}}, "bad entry"),
    ({"__metadata__": {"format": "attention-visualizer", "kind": "decoder", "config": "{}"},
      "w": {"dtype": "F32", "shape": [10 ** 9], "data_offsets": [0, 4]}}, "wrong size"),
])
def test_hand_made_header_garbage(folder, header, reason):
    (folder / "hand.safetensors").write_bytes(_raw(header, b"\0" * 4))
    with pytest.raises(CheckpointError, match=re.escape(reason)):
        load_checkpoint(folder / "hand.safetensors")
    assert _rows(folder)["good"]["error"] is None


def test_huge_header_is_refused_unread(folder, monkeypatch):
    head_len = ckpt.MAX_BYTES - 16          # under the file limit, far over the header limit
    with open(folder / "big.safetensors", "wb") as f:
        f.write(struct.pack("<Q", head_len) + b"{")
        f.truncate(8 + head_len)             # sparse: no disk space used
    reads = []
    real = ckpt_files.read_exactly
    monkeypatch.setattr("core.checkpoint_header.read_exactly",
                        lambda f, n, name: (reads.append(n), real(f, n, name))[1])
    _assert_listed_unreadable(folder, "big", "the file header is 64.0 MB")
    assert all(n <= 1024 * 1024 for n in reads)


# ----------------------------------------------------------------------------- budget
def test_vit_that_asks_for_100_gb_of_attention_is_refused_unbuilt(folder, monkeypatch):
    """The issue's example: a ViT with 4,096 patches and 64 heads in 24 layers (about 100 GB
    of attention weights) is listed as unusable and never built, whatever its file holds."""
    model = tiny_model("vit", "cpu")
    cfg = dict(model.cfg.to_dict(), image_size=256, patch_size=4, d_model=1024, n_heads=64,
               n_layers=24, channels=1)
    built = []
    monkeypatch.setitem(ckpt.MODELS, "vit", lambda c: built.append(c))
    (folder / "huge_vit.safetensors").write_bytes(
        st_save(_tensors(model), metadata=_meta(model, config=json.dumps(cfg))))
    _assert_listed_unreadable(folder, "huge_vit", "attention weights); the limit is 2.0 GB")
    row = _rows(folder)["huge_vit"]
    assert "103 GB of it attention weights" in row["reason"], row["reason"]
    assert built == []


def test_budget_limit_from_the_environment_applies_to_loading(folder, monkeypatch):
    monkeypatch.setenv("ATTNVIZ_MEMORY_LIMIT_MB", "0.01")        # 10 KB: no model fits
    row = _rows(folder)["good"]
    assert "needs about 21 KB of memory; the limit is 10 KB" in row["error"], row["error"]
    monkeypatch.delenv("ATTNVIZ_MEMORY_LIMIT_MB")
    assert _rows(folder)["good"]["error"] is None


# ----------------------------------------------------------------------------- memory
_HOSTILE = """
import json, torch
from safetensors.torch import save as st_save
from core import DecoderConfig, build_model
from core.checkpoints import CheckpointError, load_checkpoint
small = build_model(DecoderConfig(d_model=16, n_heads=2, n_layers=1, max_len=8))
tensors = {k: v.contiguous() for k, v in small.state_dict().items()}
def meta(cfg):
    return {"format": "attention-visualizer", "version": "1", "kind": "decoder",
            "config": json.dumps(cfg), "info": "{}"}
# 1) ~300M parameters asked (1.2 GB, inside the budget) of a 30 KB file
huge = dict(small.cfg.to_dict(), d_model=1024, n_heads=8, n_layers=24, max_len=4096)
open(PATH + "/bomb.safetensors", "wb").write(st_save(tensors, metadata=meta(huge)))
# 2) a header claiming a 1 GB tensor, in a file of a few bytes
head = json.dumps({"__metadata__": meta(small.cfg.to_dict()),
                   "w": {"dtype": "F32", "shape": [250_000_000], "data_offsets": [0, 10 ** 9]}})
open(PATH + "/claims.safetensors", "wb").write(
    len(head).to_bytes(8, "little") + head.encode() + b"0" * 64)
try:                                     # warm up every import and lazy init
    load_checkpoint(PATH + "/bomb.safetensors", "cpu")
except CheckpointError:
    pass
"""


_TRY_LOAD = """
try:
    model, _ = load_checkpoint(PATH + "/{name}.safetensors", "cpu")
    RESULT = "loaded"
except CheckpointError as e:
    RESULT = str(e)
"""


def test_hostile_files_allocate_almost_nothing(tmp_path):
    """Loading a tiny file whose header asks for a 1.2 GB model, or claims a 1 GB tensor, is
    refused having allocated under 20 MB (resident peak) and 2 MB of Python objects. Control:
    the same probe sees a real load of 8 MB of weights at one to three times that size."""
    setup = f"PATH = {str(tmp_path)!r}\n" + _HOSTILE + """
from core.checkpoints import save_checkpoint
save_checkpoint(build_model(DecoderConfig(d_model=256, n_heads=4, n_layers=2, vocab_size=512)),
                PATH + "/real.safetensors")
load_checkpoint(PATH + "/real.safetensors", "cpu")
"""
    got = measure({n: _TRY_LOAD.format(name=n) for n in ("bomb", "claims", "real")}, setup)
    for name in ("bomb", "claims"):
        assert f"{name}.safetensors" in got[name]["result"], got[name]
        assert got[name]["rss_peak"] < 20e6, (name, got[name])
        assert got[name]["py_peak"] < 2e6, (name, got[name])
    weights = (tmp_path / "real.safetensors").stat().st_size
    assert weights > 5e6 and got["real"]["result"] == "loaded"
    assert 0.8 * weights < got["real"]["rss_peak"] < 3 * weights, (got["real"], weights)


# ----------------------------------------------------------------------------- orphans
_KILLED_SAVE = """
import os, signal, sys
sys.path.insert(0, {repo!r})
from conftest import tiny_model
import core.checkpoints as ckpt
ckpt.os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)   # killed before the rename
ckpt.save_checkpoint(tiny_model("encoder-tagger", "cpu", seed=9), {path!r}, info={{"v": "new"}})
"""


@pytest.mark.skipif(not POSIX, reason="SIGKILL needs POSIX")
def test_save_killed_before_rename_leaves_an_orphan_that_is_ignored_then_cleaned(folder):
    target = folder / "good.safetensors"
    before = target.read_bytes()
    code = _KILLED_SAVE.format(repo=str(REPO / "tests"), path=str(target))
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]
    orphans = [p for p in folder.iterdir() if ckpt_files.TEMP_RE.fullmatch(p.name)]
    assert len(orphans) == 1 and orphans[0].stat().st_size > 0
    assert target.read_bytes() == before                   # the earlier model is intact
    assert sorted(_rows(folder)) == ["good"]               # the orphan is not listed
    assert clean_orphans(folder) == []                     # too young: maybe a save in progress
    old = time.time() - 3600
    os.utime(orphans[0], (old, old))
    save_checkpoint(tiny_model("encoder-tagger", "cpu"), folder / "other.safetensors")
    assert not orphans[0].exists()                         # the next save cleaned it
    assert sorted(_rows(folder)) == ["good", "other"]


@pytest.mark.skipif(not POSIX, reason="symlinks need POSIX here")
def test_clean_orphans_removes_only_old_regular_temp_files(folder, tmp_path):
    old = time.time() - 3600
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    made = {
        ".good.safetensors.0123456789ab.tmp": "file",       # ours, old: removed
        ".good.safetensors.k2_x9qzt.tmp": "file",          # mkstemp's, old: removed
        ".fresh.safetensors.0123456789ab.tmp": "young",    # a save in progress: kept
        ".link.safetensors.0123456789ab.tmp": "link",      # a link: kept, target untouched
        ".dir.safetensors.0123456789ab.tmp": "dir",        # a folder: kept
        ".notes.tmp": "file",                              # not the save's pattern: kept
        "good.safetensors.0123456789ab.tmp": "file",       # no leading dot: kept
    }
    for name, what in made.items():
        p = folder / name
        if what == "link":
            p.symlink_to(victim)
        elif what == "dir":
            p.mkdir()
        else:
            p.write_bytes(b"partial")
        if what != "young":
            os.utime(p, (old, old), follow_symlinks=False)
    removed = clean_orphans(folder)
    assert sorted(removed) == [".good.safetensors.0123456789ab.tmp",
                               ".good.safetensors.k2_x9qzt.tmp"]
    assert victim.read_text() == "keep me"
    left = {p.name for p in folder.iterdir()}
    assert set(made) - set(removed) <= left and "good.safetensors" in left
    assert clean_orphans(tmp_path / "missing") == []


def test_listing_a_folder_full_of_trouble_keeps_the_good_model(folder, tmp_path):
    """Everything at once: the listing never raises and the good model still loads."""
    (folder / "d.safetensors").mkdir()
    (folder / "e.safetensors").write_bytes(b"")
    (folder / "p.safetensors").write_bytes(b"\x80\x04K.")
    (folder / ".hidden.safetensors").write_bytes(b"")
    (folder / "notes.txt").write_text("not a model")
    if POSIX:
        os.mkfifo(folder / "f.safetensors")
        (folder / "b.safetensors").symlink_to("nowhere")
    rows = _rows(folder)
    assert ".hidden" not in rows and "notes" not in rows
    assert rows["good"]["error"] is None
    assert all(r["error"] for n, r in rows.items() if n != "good")
    assert all(len(r["error"]) < 300 for r in rows.values() if r["error"])
    load_checkpoint(rows["good"]["path"], "cpu")
    assert list_checkpoints(tmp_path / "no-such-folder") == []
    assert torch.is_tensor(next(iter(load_checkpoint(rows["good"]["path"])[0].parameters())))


@pytest.mark.skipif(not POSIX, reason="POSIX file modes")
def test_a_saved_checkpoint_is_an_ordinary_file(folder):
    """Written through a temporary file, but readable like any file the user makes (the umask
    applies; not the 0600 of a private temporary file)."""
    umask = os.umask(0o022)
    try:
        path = save_checkpoint(tiny_model("encoder-tagger", "cpu"), folder / "mode.safetensors")
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_an_unexpected_error_reading_one_entry_does_not_break_the_list(folder, monkeypatch):
    """Defence in depth: even a bug (not a CheckpointError) in reading one file is listed as
    that file's error, logged, and the other models are still listed."""
    save_checkpoint(tiny_model("encoder-tagger", "cpu"), folder / "other.safetensors")
    real = ckpt.parse_metadata

    def buggy(header, name):
        if name == "other.safetensors":
            raise KeyError("a bug")
        return real(header, name)

    monkeypatch.setattr(ckpt, "parse_metadata", buggy)
    rows = _rows(folder)
    assert rows["good"]["error"] is None
    assert rows["other"]["reason"] == "could not be read (KeyError; see the server log)"
