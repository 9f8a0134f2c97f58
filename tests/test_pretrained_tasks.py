"""Pretrained text models as explore-only tasks: parse limits, inspect against a plain forward,
the [MASK] / next-token prediction, special tokens, and GPT-2 step-by-step decoding."""
from __future__ import annotations

import pytest
import torch

from core.decode import decode_trace
from core.pretrained import load_pretrained
from core.pretrained.tasks import TextModelTask, task_for
from tests.pretrained_helpers import T, bert_folder, gpt2_folder, minilm_path


@pytest.fixture(scope="module")
def minilm():
    return load_pretrained(minilm_path())


def test_minilm_task_explores_but_does_not_train(minilm):
    task = task_for(minilm)
    assert isinstance(task, TextModelTask)
    assert task.kind == "encoder" and task.max_input_len == 512
    assert not task.trains and not task.decodes
    with pytest.raises(ValueError, match="encoder"):
        task.decoding_setup("hello")


def test_inspect_equals_a_plain_forward_and_marks_special_tokens(minilm):
    task = task_for(minilm)
    text = task.parse("The cat sat on the mat.")
    ins = task.inspect(minilm.model, text, return_scores=True)
    inputs = minilm.tokenize(text)
    out = minilm.model(**inputs, return_attention=True)
    for name, w in out.attention.items():
        assert torch.equal(ins.attention[name], w[0].float().cpu())           # (H, T, T)
        assert ins.labels[name][0] == ins.tokens == minilm.tokens(inputs["input_ids"][0])
    assert ins.tokens[0] == "[CLS]" and ins.tokens[-1] == "[SEP]"
    assert ins.special == [t in ("[CLS]", "[SEP]") for t in ins.tokens]
    assert ins.prediction is None                 # a bare encoder has no head to predict with
    assert set(ins.scores) == set(ins.attention)


def test_parse_refuses_empty_and_too_long_text(minilm):
    task = task_for(minilm)
    for bad in ("", "   \n\t"):
        with pytest.raises(ValueError, match="type some text"):
            task.parse(bad)
    with pytest.raises(ValueError, match="512"):
        task.parse("word " * 600)
    assert task.parse("word " * 500) == "word " * 500          # 500 pieces + 2 specials fit
    with pytest.raises(ValueError, match="characters"):
        task.parse("x" * 30_000)


def test_masked_token_prediction_names_the_model_s_best_guess(tmp_path):
    pt = load_pretrained(bert_folder(tmp_path / "bert", mlm=True))
    task = task_for(pt)
    ins = task.inspect(pt.model, task.parse("Paris is the capital of [MASK]."))
    ref = T.BertForMaskedLM.from_pretrained(tmp_path / "bert", attn_implementation="eager")
    enc = pt.tokenize("Paris is the capital of [MASK].")
    where = enc["input_ids"][0].tolist().index(pt.tokenizer.vocab["[MASK]"])
    with torch.no_grad():
        best = ref(input_ids=enc["input_ids"]).logits[0, where].argmax().item()
    assert ins.prediction.startswith("[MASK] → " + pt.tokens([best])[0] + " ")


def test_gpt2_next_token_and_step_by_step_decoding(tmp_path):
    pt = load_pretrained(gpt2_folder(tmp_path / "gpt2"))
    task = task_for(pt)
    assert task.kind == "decoder" and task.decodes and not task.trains
    text = task.parse("the quick brown fox")
    ins = task.inspect(pt.model, text)
    ids = pt.tokenize(text)["input_ids"]
    with torch.no_grad():
        logits = pt.model(ids).logits[0, -1]
    assert torch.allclose(ins.probs, logits.softmax(-1), atol=1e-6)
    assert ins.prediction.startswith(f"next token: “{pt.tokens([int(logits.argmax())])[0]}”")
    setup = task.decoding_setup(text)
    assert torch.equal(setup.prompt, ids.cpu())
    tr = decode_trace(pt.model, setup)
    assert tr.cache_tokens_equal and tr.cache_max_diff < 1e-5
    assert tr.labels[:ids.size(1)] == pt.tokens(ids[0])
    assert len(tr.steps) == setup.max_new_tokens or tr.stopped == "eos"


def test_decoding_setup_leaves_room_to_write(tmp_path):
    pt = load_pretrained(gpt2_folder(tmp_path / "gpt2"))
    task = task_for(pt)
    def n_tokens(k):
        return pt.tokenize(" ".join(["fox"] * k))["input_ids"].size(1)

    k = 1
    while n_tokens(k + 1) < task.max_input_len:
        k += 1                                          # the longest prompt that leaves room
    text = " ".join(["fox"] * k)
    n = pt.tokenize(text)["input_ids"].size(1)
    assert task.decoding_setup(text).max_new_tokens == min(20, task.max_input_len - n) >= 1
    with pytest.raises(ValueError, match="no room to write|reads at most"):
        task.decoding_setup(" ".join(["fox"] * (k + 1)))
