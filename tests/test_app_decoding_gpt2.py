"""GPT-2 on the masked-decoding page, driven through AppTest: a small random GPT-2 saved to a
temporary folder (offline) joins the picker through the user's folder list or the Hugging Face
cache. Greedy and seeded sampling give exactly what core.decode computes outside the app, the KV
cache check passes, stepping moves one token, the pieces read as "␣the" and "↵", the prompt is
its own teacher-forcing reference, and BERT-family models are named as not decoders.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import ui.pretrained
from core.decode import decode_trace
from core.pretrained import load_pretrained
from core.pretrained.tasks import task_for
from ui.decoding.tokens import chip

from app_helpers import ok
from decoding_helpers import chart, open_page, row_weights, sequence_text, step_shown, titles
from pretrained_helpers import bert_folder, gpt2_folder

PROMPT = "the quick brown fox\njumps over the lazy dog"
NAME = "tiny-gpt2"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return gpt2_folder(tmp_path_factory.mktemp("gpt2") / NAME)


@pytest.fixture(scope="module")
def pt(folder):
    return load_pretrained(str(folder))


def reference(pt, text=PROMPT, **sampling):
    task = task_for(pt)
    return decode_trace(pt.model, task.decoding_setup(task.parse(text)), **sampling)


def gpt2_page(folder, **params):
    ui.pretrained._listed.clear()
    return open_page({"pretrained_folders": [str(folder)]}, model=NAME, input=PROMPT, **params)


def test_greedy_decoding_matches_core_and_the_cache_check_passes(folder, pt):
    at = gpt2_page(folder)
    assert at.selectbox(key="model").value == NAME and not at.error
    tr = reference(pt)
    assert step_shown(at) == (1, len(tr.steps))
    cache = [c.value for c in at.caption if c.value.startswith("KV cache check")]
    assert cache and "✓" in cache[0] and "differ" not in cache[0]
    # the pieces as a class reads them: spaces and the newline made visible
    shown = sequence_text(at)
    assert chip(" quick") in shown and ":gray-background[↵]" in shown
    assert "␣quick" in shown and "\\n" not in shown
    mask = chart(at, "causal mask")
    assert "␣quick" in json.dumps(mask["data"][0]["customdata"], ensure_ascii=False)
    # stepping: Next adds one key to the query's row; End shows every written token
    keys = len(row_weights(at))
    at.button(key="dec_next").click().run()
    ok(at)
    assert step_shown(at)[0] == 2 and len(row_weights(at)) == keys + 1
    at.button(key="dec_end").click().run()
    ok(at)
    assert step_shown(at)[0] == len(tr.steps)
    shown = sequence_text(at)
    assert all(chip(s.label, "blue", bold=True) in shown or chip(s.label, "red", bold=True) in
               shown for s in tr.steps[-5:])


def test_seeded_sampling_matches_core_and_repeats(folder, pt):
    settings = dict(dec_mode="sample", dec_temp=1.5, dec_topk=50, dec_topp=0.9, dec_seed=11,
                    dec_len=8)
    at = gpt2_page(folder, **settings)
    tr = reference(pt, greedy=False, temperature=1.5, top_k=50, top_p=0.9, seed=11)
    assert step_shown(at) == (1, 8)
    at.button(key="dec_end").click().run()
    ok(at)
    first = sequence_text(at)
    for s in tr.steps[:8][-3:]:
        assert chip(s.label, "red", bold=True) in first or chip(s.label, "blue", bold=True) in first
    cache = [c.value for c in at.caption if c.value.startswith("KV cache check")]
    assert "✓" in cache[0]
    # another seed, then back: the same draw again
    at.slider(key="dec_seed").set_value(12).run()
    at.slider(key="dec_seed").set_value(11).run()
    ok(at)
    assert step_shown(at) == (8, 8)                # the same model and prompt: the step stays
    assert sequence_text(at) == first


def test_the_prompt_is_its_own_teacher_forcing_reference(folder, pt):
    at = gpt2_page(folder, dec_view="Teacher forcing")
    task = task_for(pt)
    n = task.encode(PROMPT)["input_ids"].size(1)
    assert any(t.startswith(f"teacher forcing: layer 0 · head 0, all {n - 1} positions")
               for t in titles(at))
    [table] = at.dataframe
    frame = table.value
    assert len(frame) == n - 1 and "␣quick" in set(frame["target next"])
    logits = pt.model(task.encode(PROMPT)["input_ids"]).logits[0, :-1]          # (T - 1, V)
    best = pt.tokens(logits.argmax(-1).tolist())
    assert list(frame["predicted next"]) == [t.replace(" ", "␣").replace("\\n", "↵")
                                             for t in best]


def test_a_prompt_that_fills_the_model_is_refused_with_a_reason(folder, pt):
    text = " ".join(["dog"] * 60)                       # more than the 48 positions
    at = gpt2_page(folder)
    at.text_input(key="input").input(text).run()
    ok(at)
    assert at.error and "48" in at.error[0].value
    assert step_shown(at) is None


def test_gpt2_from_the_hugging_face_cache(folder, monkeypatch, tmp_path):
    snap = tmp_path / "hub" / "models--someone--tiny-gpt2" / "snapshots" / "abc123"
    snap.parent.mkdir(parents=True)
    snap.symlink_to(folder, target_is_directory=True)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    ui.pretrained._listed.clear()
    at = open_page(model="someone/tiny-gpt2", input=PROMPT)
    assert at.selectbox(key="model").value == "someone/tiny-gpt2"
    assert step_shown(at) is not None and not at.error
    ui.pretrained._listed.clear()


def test_bert_models_are_named_as_not_decoders(tmp_path):
    bert = bert_folder(tmp_path / "tiny-bert")
    ui.pretrained._listed.clear()
    at = open_page({"pretrained_folders": [str(bert)], "chosen_model": "tiny-bert"})
    assert "tiny-bert" not in at.selectbox(key="model").options
    notes = [c.value for c in at.caption if c.value.startswith("Not offered here")]
    assert notes and "tiny-bert" in notes[0] and "encoder" in notes[0]
    ui.pretrained._listed.clear()


def test_the_attention_row_is_the_model_s_own(folder, pt):
    at = gpt2_page(folder, layer=1, head=3, step=2)
    tr = reference(pt)
    name = sorted(tr.steps[1].attention)[1]
    assert np.allclose(row_weights(at), tr.steps[1].attention[name][3].numpy(), atol=1e-6)


def test_a_cache_that_goes_wrong_is_caught_on_the_page(folder, monkeypatch):
    """The ✓ is earned: a KV cache that hands back wrong keys for the earlier tokens (the prompt
    step is untouched) makes the cached run differ from the uncached one, and the page says so."""
    from core.attention import KVCache
    right = KVCache.update

    def wrong(self, k, v):
        keys, values = right(self, k, v)                                  # (B, H, T, d)
        keys = keys.clone()
        keys[:, :, : -k.size(-2)] *= 2.0                                  # stale keys corrupted
        return keys, values
    monkeypatch.setattr(KVCache, "update", wrong)
    at = gpt2_page(folder)
    [cache] = [c.value for c in at.caption if c.value.startswith("KV cache check")]
    assert "✗" in cache and "✓" not in cache
    monkeypatch.undo()
