"""GPT-2 (random, saved by transformers) in our modules: logits, hidden states and attention
equal `transformers` eager within 1e-4; the KV cache and generate() agree with an uncached run
and with transformers' greedy generation; left-padded batches generate as each prompt alone."""
from __future__ import annotations

import pytest
import torch

from pretrained_helpers import T, gpt2_folder, max_diff, reference
from core.decode import DecodeSetup, decode_trace
from core.pretrained import load_pretrained

TOL = 1e-4


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    return gpt2_folder(tmp_path_factory.mktemp("gpt2"))


@pytest.fixture(scope="module")
def loaded(gpt2):
    return load_pretrained(gpt2, device="cpu")


def test_gpt2_equals_transformers_on_a_right_padded_batch(gpt2, loaded):
    ref = reference(gpt2, T.GPT2LMHeadModel)
    inputs = loaded.tokenize(["the quick brown fox jumps", "the lazy dog"])
    keep = inputs["attention_mask"]
    with torch.no_grad():
        out = loaded.model(**inputs, return_attention=True)
        r = ref(input_ids=inputs["input_ids"], attention_mask=keep.long(),
                output_attentions=True, output_hidden_states=True)
    # Padded positions are masked out of every key; their own rows are not compared.
    assert max_diff(out.logits, r.logits, keep) < TOL
    assert max_diff(out.hidden, r.hidden_states[-1], keep) < TOL
    names = loaded.model.attention_names()
    assert names == ["decoder.blocks.0.self_attn", "decoder.blocks.1.self_attn"]
    for name, a in zip(names, r.attentions):
        assert max_diff(out.attention[name].permute(0, 2, 1, 3), a.permute(0, 2, 1, 3), keep) < TOL


def test_gpt2_without_lm_head_has_tied_logits(tmp_path):
    folder = gpt2_folder(tmp_path, lm_head=False, seed=4)
    pt = load_pretrained(folder, device="cpu")
    ref = reference(folder, T.GPT2Model)
    ids = pt.tokenize("the quick brown fox")["input_ids"]
    with torch.no_grad():
        out, r = pt.model(ids, return_attention=True), ref(ids, output_attentions=True)
    assert max_diff(out.hidden, r.last_hidden_state) < TOL
    assert max_diff(out.logits, r.last_hidden_state @ ref.wte.weight.T) < TOL
    assert max(max_diff(out.attention[f"decoder.blocks.{i}.self_attn"], a)
               for i, a in enumerate(r.attentions)) < TOL


def test_cached_decoding_equals_uncached_and_transformers_greedy(gpt2, loaded):
    prompt = loaded.tokenize("the quick")["input_ids"]
    setup = DecodeSetup(prompt=prompt, labels=loaded.tokens, max_new_tokens=12)
    trace = decode_trace(loaded.model, setup)                 # the masked-decoding page's call
    assert trace.cache_tokens_equal and trace.cache_max_diff < 1e-5
    assert len(trace.steps) == 12 and trace.labels[:prompt.size(1)] == loaded.tokens(prompt[0])
    ref = reference(gpt2, T.GPT2LMHeadModel)
    want = ref.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=12,
                        do_sample=False, pad_token_id=0, eos_token_id=None)
    got = loaded.model.generate(prompt, 12)
    assert got.tokens.tolist() == want.tolist()


def test_sampling_with_a_seed_is_repeatable_and_cache_checked(loaded):
    prompt = loaded.tokenize("the lazy")["input_ids"]
    setup = DecodeSetup(prompt=prompt, labels=loaded.tokens, max_new_tokens=8)
    a = decode_trace(loaded.model, setup, greedy=False, temperature=1.5, top_k=20, seed=7)
    b = decode_trace(loaded.model, setup, greedy=False, temperature=1.5, top_k=20, seed=7)
    assert a.labels == b.labels and a.cache_tokens_equal and a.cache_max_diff < 1e-5


def test_left_padded_batch_generates_as_each_prompt_alone(loaded):
    prompts = ["the quick brown fox", "a"]
    alone = [loaded.model.generate(loaded.tokenize(p)["input_ids"], 6).tokens[0].tolist()
             for p in prompts]
    rows = [loaded.tokenize(p)["input_ids"][0].tolist() for p in prompts]
    T0 = max(map(len, rows))
    pad = loaded.tokenizer.pad_id
    ids = torch.tensor([[pad] * (T0 - len(r)) + r for r in rows])
    keep = torch.tensor([[False] * (T0 - len(r)) + [True] * len(r) for r in rows])
    for use_cache in (True, False):
        gen = loaded.model.generate(ids, 6, attention_mask=keep, use_cache=use_cache)
        for b, r in enumerate(rows):
            assert gen.tokens[b, T0 - len(r):].tolist() == alone[b]


def test_generation_stops_at_the_context_length(loaded):
    n = loaded.info["max_length"]                            # 48 positions in this tiny GPT-2
    prompt = torch.ones(1, n - 2, dtype=torch.long)
    gen = loaded.model.generate(prompt, 10)
    assert gen.tokens.size(1) == n and gen.stopped == "length"
    with pytest.raises(ValueError, match="more than this model reads"):
        loaded.model(torch.ones(1, n + 1, dtype=torch.long))


def test_gpt2_head_mask_and_info(loaded):
    ids = loaded.tokenize("the quick brown fox")["input_ids"]
    name = "decoder.blocks.1.self_attn"
    off = loaded.model(ids, head_mask={name: torch.tensor([0.0, 1.0, 1.0, 1.0])})
    on = loaded.model(ids)
    assert max_diff(off.logits, on.logits) > 1e-4
    info = loaded.info
    assert info["family"] == "GPT-2" and info["kind"] == "decoder" and info["has_logits"]
    assert info["max_length"] == 48 and info["eos_id"] == 0
    assert loaded.special_mask([0, 5]) == [True, False]


def test_head_patterns_run_on_gpt2_with_a_bos_prefix(loaded):
    from core.head_patterns import head_patterns, rank_heads
    rows = head_patterns(loaded, n_tokens=10, batch=2)
    assert len(rows) == 2 * 4 and all(0.0 <= r["induction"] <= 1.0 for r in rows)
    assert {r["measured_on"] for r in rows} == {"repeated random tokens"}
    # the BOS prefix (<|endoftext|>) is position 0, so "first" is the weight on BOS
    from core.head_patterns import _token_setup
    ids, prefix, suffix, _ = _token_setup(loaded.model, loaded)
    assert prefix == [0] and suffix == [] and 0 not in ids
    assert len(rank_heads(rows, "induction", top=3)) == 3
