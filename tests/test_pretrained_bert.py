"""BERT-layout checkpoints (random BERT, BERT with an MLM head, RoBERTa, and the real MiniLM)
loaded into our modules: hidden states, logits and every head's attention equal `transformers`
(eager attention) within 1e-4; padding, head_mask and the recorded scores behave as on our
own models."""
from __future__ import annotations

import pytest
import torch

from pretrained_helpers import T, bert_folder, max_diff, minilm_path, reference, train_bpe
from core.pretrained import load_pretrained

TOL = 1e-4
TEXTS = ["The quick brown fox jumps over the lazy dog.", "Hello [MASK] world!"]


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return bert_folder(tmp_path_factory.mktemp("bert"))


@pytest.fixture(scope="module")
def bert_mlm(tmp_path_factory):
    return bert_folder(tmp_path_factory.mktemp("bert_mlm"), mlm=True, seed=1)


def compare(folder, cls, texts=TEXTS):
    """Max differences (hidden, logits, attention) between ours and transformers on `texts`."""
    pt = load_pretrained(folder, device="cpu")
    ref = reference(folder, cls)
    ours_in = pt.tokenize(texts)
    ref_in = {k: (v.long() if v.dtype == torch.bool else v) for k, v in ours_in.items()}
    with torch.no_grad():
        out = pt.model(**ours_in, return_attention=True)
        r = ref(**ref_in, output_attentions=True, output_hidden_states=True)
    hidden = r.hidden_states[-1]
    diffs = {"hidden": max_diff(out.hidden, hidden)}
    if out.logits is not None:
        diffs["logits"] = max_diff(out.logits, r.logits)
    names = pt.model.attention_names()
    assert len(names) == len(r.attentions)
    diffs["attention"] = max(max_diff(out.attention[n], a) for n, a in zip(names, r.attentions))
    return pt, diffs


def test_random_bert_equals_transformers(bert):
    pt, d = compare(bert, T.BertModel)
    assert d["hidden"] < TOL and d["attention"] < TOL, d
    assert pt.info["has_logits"] is None and pt.info["architecture"] == "BertModel"
    assert pt.model.attention_names() == ["encoder.blocks.0.self_attn", "encoder.blocks.1.self_attn"]


def test_bert_with_mlm_head_equals_transformers(bert_mlm):
    pt, d = compare(bert_mlm, T.BertForMaskedLM)
    assert d["hidden"] < TOL and d["logits"] < TOL and d["attention"] < TOL, d
    assert pt.info["has_logits"] == "masked-token"


def test_real_minilm_equals_transformers_and_its_tokenizer():
    path = minilm_path()
    texts = ["Attention is all you need, said the paper in 2017.",
             "Ünïcödé, numbers 3.14 and emoji 😀 are handled!"]
    pt, d = compare(path, T.BertModel, texts)
    assert d["hidden"] < TOL and d["attention"] < TOL, d
    hf_tok = T.AutoTokenizer.from_pretrained(str(path))
    ref = hf_tok(texts, padding=True, return_tensors="pt")
    ours = pt.tokenize(texts)
    assert torch.equal(ours["input_ids"].cpu(), ref["input_ids"])
    assert torch.equal(ours["attention_mask"].cpu().long(), ref["attention_mask"])
    ids = ours["input_ids"][0]
    assert pt.tokens(ids) == hf_tok.convert_ids_to_tokens(ids.tolist())
    assert pt.info["n_layers"] == 6 and pt.info["n_heads"] == 12 and pt.info["max_length"] == 512
    assert pt.info["parameters"] == sum(p.numel() for p in reference(path, T.BertModel)
                                        .parameters()) - 384 * 384 - 384   # no pooler


def test_a_padded_batch_gives_each_text_its_attention_alone(bert):
    pt = load_pretrained(bert, device="cpu")
    texts = ["a short one", "a much longer sentence, with more words in it than the first"]
    batch = pt.model(**pt.tokenize(texts), return_attention=True)
    for b, text in enumerate(texts):
        alone = pt.model(**pt.tokenize(text), return_attention=True)
        n = alone.hidden.size(1)
        assert max_diff(batch.hidden[b, :n], alone.hidden[0]) < 1e-5
        for name, w in alone.attention.items():
            assert max_diff(batch.attention[name][b, :, :n, :n], w[0]) < 1e-6
            padding = batch.attention[name][b, :, :, n:]                  # keys past the text
            assert padding.numel() == 0 or float(padding.abs().max()) == 0.0


def test_head_mask_switches_off_exactly_one_heads_output(bert):
    """Our head_mask against an independent reference: the same head's columns of out_proj's
    weight set to zero."""
    pt = load_pretrained(bert, device="cpu")
    inputs = pt.tokenize("heads can be switched off one at a time")
    name, h, dh = "encoder.blocks.0.self_attn", 2, pt.model.cfg.d_head
    masked = pt.model(**inputs, head_mask={name: torch.tensor([1.0, 1.0, 0.0, 1.0])}).hidden
    with torch.no_grad():
        w = pt.model.get_submodule(name).out_proj.weight
        saved = w[:, h * dh:(h + 1) * dh].clone()
        w[:, h * dh:(h + 1) * dh] = 0.0
        zeroed = pt.model(**inputs).hidden
        w[:, h * dh:(h + 1) * dh] = saved
    plain = pt.model(**inputs).hidden
    assert max_diff(masked, zeroed) < 1e-5 and max_diff(masked, plain) > 1e-3
    with pytest.raises(ValueError, match="names no attention module"):
        pt.model(**inputs, head_mask={"encoder.blocks.9.self_attn": torch.ones(4)})


def test_recorded_scores_give_the_weights(bert):
    pt = load_pretrained(bert, device="cpu")
    out = pt.model(**pt.tokenize(TEXTS), return_attention=True, return_scores=True)
    for name, scores in out.scores.items():
        mask = out.masks[name]
        rebuilt = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        assert max_diff(rebuilt, out.attention[name]) < 1e-6


def test_text_longer_than_the_model_reads_is_refused(bert):
    pt = load_pretrained(bert, device="cpu")                 # 64 positions in this tiny BERT
    with pytest.raises(ValueError, match="this model reads at most 64"):
        pt.tokenize("word " * 100)
    assert pt.tokenize("word " * 100, truncation=True)["input_ids"].shape == (1, 64)
    with pytest.raises(ValueError, match="reads at most 64"):
        pt.model(torch.ones(1, 65, dtype=torch.long))


@pytest.mark.parametrize("mlm", [False, True])
def test_random_roberta_equals_transformers(tmp_path, mlm):
    folder = train_bpe(tmp_path, specials=("<s>", "<pad>", "</s>", "<unk>", "<mask>"))
    hf_tok = T.RobertaTokenizer(vocab=str(folder / "vocab.json"),
                                merges=str(folder / "merges.txt"))
    hf_tok.save_pretrained(folder)
    torch.manual_seed(3)
    cfg = T.RobertaConfig(vocab_size=len(hf_tok), hidden_size=32, num_hidden_layers=2,
                          num_attention_heads=4, intermediate_size=64,
                          max_position_embeddings=40, type_vocab_size=1, pad_token_id=1,
                          attn_implementation="eager")
    cls = T.RobertaForMaskedLM if mlm else T.RobertaModel
    cls(cfg).eval().save_pretrained(folder)
    pt, d = compare(folder, cls, ["the quick fox", "the lazy dog jumps over the fox <mask>"])
    assert d["hidden"] < TOL and d["attention"] < TOL and d.get("logits", 0) < TOL, d
    assert pt.info["max_length"] == 38                        # 40 positions minus the offset 2
    assert pt.tokens(pt.tokenize("the fox")["input_ids"][0])[0] == "<s>"
    assert pt.model.positional_encoding().shape == (38, 32)
