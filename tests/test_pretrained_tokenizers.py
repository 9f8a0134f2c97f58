"""Our pure-Python tokenizers (core.pretrained.wordpiece / bpe) against `tokenizers` and
`transformers` on varied text.

Known, documented differences (not tested): characters whose Unicode category `tokenizers`
reads from older tables (marks and punctuation of rare scripts added after Unicode 8, 13
format characters) and code points newer than Python's own Unicode tables.
"""
from __future__ import annotations

import json
import random
import shutil

import pytest
import torch

from pretrained_helpers import T, VARIED, minilm_path, tokenizers, train_bpe
from core.pretrained.bpe import load_bpe, pre_tokenize
from core.pretrained.wordpiece import load_wordpiece

# Blocks people type in: ASCII, Latin-1 and Latin Extended, Greek, Cyrillic, general
# punctuation and spaces, CJK, Hangul, emoji, and the whitespace / control characters.
BLOCKS = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x2000, 0x206F),
          (0x3000, 0x30FF), (0x4E00, 0x4FFF), (0xAC00, 0xAD00), (0x1F300, 0x1FAFF),
          (0x0, 0x1F), (0x300, 0x36F)]


def random_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        lo, hi = rng.choice(BLOCKS)
        other = rng.choice(BLOCKS)
        chars = [chr(rng.randint(*rng.choice([(lo, hi), other, (0x20, 0x7E), (0x20, 0x20)])))
                 for _ in range(rng.randint(1, 16))]
        out.append("".join(chars))
    return out


@pytest.fixture(scope="module")
def minilm_ref():
    ref = tokenizers.Tokenizer.from_file(str(minilm_path() / "tokenizer.json"))
    ref.no_truncation()
    ref.no_padding()
    return ref


@pytest.fixture(scope="module")
def gpt2_tok(tmp_path_factory):
    folder = train_bpe(tmp_path_factory.mktemp("bpe"))
    hf = T.GPT2Tokenizer(vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"))
    hf.save_pretrained(folder)
    return folder, hf


# ----------------------------------------------------------------------------- WordPiece
def test_wordpiece_equals_tokenizers_on_varied_and_random_text(minilm_ref):
    ours = load_wordpiece(minilm_path(), 10 ** 6)
    for text in VARIED + random_texts(400):
        assert ours.encode(text) == minilm_ref.encode(text).ids, repr(text)


def test_wordpiece_labels_equal_transformers_tokens(minilm_ref):
    ours = load_wordpiece(minilm_path(), 512)
    text = "Tokenization of unbelievably long words, café and [MASK]."
    ids = ours.encode(text)
    assert ours.convert_ids_to_tokens(ids) == minilm_ref.encode(text).tokens
    assert ours.tokens(ids) == minilm_ref.encode(text).tokens      # word pieces shown as such
    assert "##" in "".join(ours.tokens(ids))


def test_wordpiece_from_vocab_txt_equals_tokenizer_json(tmp_path):
    for name in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(minilm_path() / name, tmp_path / name)
    from_txt = load_wordpiece(tmp_path, 512)
    from_json = load_wordpiece(minilm_path(), 512)
    for text in VARIED:
        assert from_txt.encode(text) == from_json.encode(text), repr(text)


def test_cased_wordpiece_keeps_case_and_accents(tmp_path):
    """do_lower_case=False: a cased BERT vocabulary, against `tokenizers` configured the same."""
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Café",
                                         "café", "cafe", "The", "the", "##s", ".", "É", "##cole"])}
    ref = tokenizers.Tokenizer(tokenizers.models.WordPiece(vocab, unk_token="[UNK]"))
    ref.normalizer = tokenizers.normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    ref.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
    ref.save(str(tmp_path / "tokenizer.json"))
    ours = load_wordpiece(tmp_path, 64)
    for text in ["The Cafés café cafe.", "École the", "THE CAFÉ"]:
        assert ours.encode(text, add_special_tokens=False) == ref.encode(text).ids, text
    assert ours.encode("Café", add_special_tokens=False) == [vocab["Café"]]


# ----------------------------------------------------------------------------- byte-level BPE
def test_gpt2_pretokenizer_equals_the_regex_and_tokenizers():
    regex = pytest.importorskip("regex")
    pattern = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+"""
                            r"""|\s+(?!\S)|\s+""")
    byte_level = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    from core.pretrained.bpe import _BYTE_CHAR
    for text in VARIED + random_texts(400, seed=1) + ["  \n\n  x", "a  ", "'''s", "x\u2028 y"]:
        pieces = pre_tokenize(text)
        assert pieces == pattern.findall(text), repr(text)
        assert "".join(pieces) == text
        mapped = ["".join(_BYTE_CHAR[b] for b in p.encode()) for p in pieces]
        assert mapped == [w for w, _ in byte_level.pre_tokenize_str(text)], repr(text)


def test_bpe_equals_transformers_gpt2_tokenizer(gpt2_tok):
    folder, hf = gpt2_tok
    ours = load_bpe(folder, 10 ** 6)
    for text in VARIED + random_texts(200, seed=2) + ["<|endoftext|>hi<|endoftext|> there"]:
        ids = ours.encode(text)
        assert ids == hf(text)["input_ids"], repr(text)
        assert ours.convert_ids_to_tokens(ids) == hf.convert_ids_to_tokens(ids)


def test_bpe_from_vocab_and_merges_equals_tokenizer_json(gpt2_tok, tmp_path):
    folder, _ = gpt2_tok
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(folder / name, tmp_path / name)
    a, b = load_bpe(tmp_path, 1000), load_bpe(folder, 1000)
    for text in VARIED:
        assert a.encode(text) == b.encode(text), repr(text)


def test_bpe_labels_decode_to_the_text(gpt2_tok):
    folder, _ = gpt2_tok
    ours = load_bpe(folder, 1000)
    text = "the quick brown fox"
    labels = ours.tokens(ours.encode(text))
    assert "".join(labels) == text and any(lab.startswith(" ") for lab in labels)
    assert ours.tokens(ours.encode("a\nb")) == ["a", "\\n", "b"]
    emoji = ours.encode("😀")                       # not in this small vocabulary: 3 byte pieces
    assert len(emoji) == 3 and "".join(ours.tokens(emoji)) == "\\xf0\\x9f\\x98\\x80"
    assert ours.tokens([ours.vocab["<|endoftext|>"]]) == ["<|endoftext|>"]


# ----------------------------------------------------------------------------- shared behaviour
def test_batches_pad_right_with_a_mask_and_type_ids():
    ours = load_wordpiece(minilm_path(), 512)
    out = ours.tokenize(["short", "a somewhat longer text here"])
    ids, keep = out["input_ids"], out["attention_mask"]
    assert keep.dtype == torch.bool and ids.shape == keep.shape == out["token_type_ids"].shape
    n0 = int(keep[0].sum())
    assert n0 == 3 and not keep[0, n0:].any() and keep[1].all()
    assert (ids[0, n0:] == ours.vocab["[PAD]"]).all()
    assert ours.tokens(ids[0, :n0]) == ["[CLS]", "short", "[SEP]"]
    assert ours.special_mask(ids[0]) == [True, False, True] + [True] * (ids.size(1) - 3)


def test_too_long_text_is_refused_or_truncated_keeping_sep():
    ours = load_wordpiece(minilm_path(), 512)
    text = "word " * 600
    with pytest.raises(ValueError, match=r"602 tokens long \(with 2 special tokens\); this "
                                         r"model reads at most 512"):
        ours.tokenize(text)
    cut = ours.tokenize(text, truncation=True)["input_ids"][0].tolist()
    assert len(cut) == 512 and cut[0] == ours.vocab["[CLS]"] and cut[-1] == ours.vocab["[SEP]"]
    assert ours.tokenize("word " * 510)["input_ids"].shape == (1, 512)      # exactly the limit
    with pytest.raises(ValueError, match="more than this model reads"):
        ours.tokenize("x", max_length=513)


def test_huge_inputs_are_refused_or_fast(gpt2_tok):
    ours = load_bpe(gpt2_tok[0], 100)
    with pytest.raises(ValueError, match="characters long; at most 100,000"):
        ours.encode("x" * 100_001)
    with pytest.raises(ValueError, match="tokens long"):          # one 20,000-letter "word":
        ours.tokenize("a" * 20_000)                               # the heap BPE, not O(n^2)
    assert load_wordpiece(minilm_path(), 512).encode("a" * 20_000, False) == [100]   # [UNK]


def test_empty_text_without_special_tokens_is_refused(gpt2_tok):
    ours = load_bpe(gpt2_tok[0], 100)
    with pytest.raises(ValueError, match="no tokens"):
        ours.tokenize("")
    with pytest.raises(ValueError, match="nothing to tokenize"):
        ours.tokenize([])
    assert load_wordpiece(minilm_path(), 512).tokenize("")["input_ids"].tolist() == [[101, 102]]


def test_added_tokens_respect_lstrip(tmp_path):
    """RoBERTa's <mask> swallows the space before it (lstrip), as transformers does."""
    folder = train_bpe(tmp_path, specials=("<s>", "<pad>", "</s>", "<unk>", "<mask>"))
    mask = tokenizers.AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False,
                                 special=True)
    hf = T.RobertaTokenizer(vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"),
                            mask_token=mask)
    hf.save_pretrained(folder)
    spec = json.loads((folder / "tokenizer.json").read_text())
    assert any(a["content"] == "<mask>" and a["lstrip"] for a in spec["added_tokens"])
    ours = load_bpe(folder, 512, ("<s>",), ("</s>",), pad_token="<pad>")
    for text in ["the fox <mask> over", "the<mask>fox", " <mask>", "a  <mask>  b"]:
        assert ours.encode(text) == hf(text)["input_ids"], repr(text)
