"""BERT's WordPiece tokenizer in plain Python, following `tokenizers` (BertNormalizer,
BertPreTokenizer, WordPiece) step by step:

1. clean: drop NUL, U+FFFD and control characters (Unicode category C*, except tab / newline /
   carriage return); every whitespace character becomes a space;
2. put spaces around CJK ideographs (each becomes its own word);
3. strip accents (NFD, then drop non-spacing marks) when strip_accents (default: = lowercase);
4. lower-case, character by character;
5. split on whitespace, then split off every punctuation character (ASCII punctuation and
   Unicode P*);
6. each word: greedy longest-match-first pieces, later pieces prefixed "##"; a word longer than
   100 characters, or one that cannot be covered, becomes [UNK].

Known difference: `tokenizers` classifies characters with Unicode 9 tables, Python with its own
(newer) ones; a character assigned after Unicode 9 (some recent emoji) is dropped there as
"unassigned" and becomes [UNK] here.
"""
from __future__ import annotations

import unicodedata
from pathlib import Path

from .files import PretrainedError, read_json
from .text import AddedToken, TextTokenizer

_CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
        (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))
SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_CONTROL = ("Cc", "Cf", "Co", "Cs")        # not Cn: `tokenizers` keeps unassigned code points
_SPACE = " \t\n\r\x0b\x0c"


def _is_cjk(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _CJK)


def _is_punct(c: str) -> bool:
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def normalize(text: str, lowercase: bool = True, strip_accents: bool | None = None,
              clean_text: bool = True, chinese: bool = True) -> str:
    """BertNormalizer: steps 1-4 of the module docstring."""
    if clean_text:
        out = []
        for c in text:
            if c in "\t\n\r":
                out.append(" ")
            elif c == "\x00" or c == "\ufffd" or unicodedata.category(c) in _CONTROL:
                continue
            else:
                out.append(" " if c.isspace() else c)
        text = "".join(out)
    if chinese:
        text = "".join(f" {c} " if _is_cjk(ord(c)) else c for c in text)
    if lowercase if strip_accents is None else strip_accents:
        text = "".join(c for c in unicodedata.normalize("NFD", text)
                       if unicodedata.category(c) != "Mn")
    if lowercase:
        text = "".join(c.lower() for c in text)       # per character: no final-sigma rule
    return text


def pre_tokenize(text: str) -> list[str]:
    """BertPreTokenizer: whitespace-separated words, each punctuation character on its own."""
    words = []
    for chunk in text.split():                  # (after cleaning, only " " is whitespace)
        word = []
        for c in chunk:
            if _is_punct(c):
                if word:
                    words.append("".join(word))
                    word = []
                words.append(c)
            else:
                word.append(c)
        if word:
            words.append("".join(word))
    return words


class WordPieceTokenizer(TextTokenizer):
    type_ids = True

    def __init__(self, vocab: dict, lowercase: bool = True, strip_accents=None,
                 clean_text: bool = True, chinese: bool = True, unk: str = "[UNK]",
                 prefix_marker: str = "##", max_chars: int = 100, **kw):
        super().__init__(vocab, **kw)
        if unk not in self.vocab:
            raise PretrainedError(f"the vocabulary has no unknown token {unk!r}")
        self.lowercase, self.strip_accents = lowercase, strip_accents
        self.clean_text, self.chinese = clean_text, chinese
        self.unk_id, self.marker, self.max_chars = self.vocab[unk], prefix_marker, max_chars
        self._cache: dict = {}

    def _encode_text(self, text: str) -> list[int]:
        norm = normalize(text, self.lowercase, self.strip_accents, self.clean_text, self.chinese)
        ids = []
        for word in pre_tokenize(norm):
            ids.extend(self._word(word))
        return ids

    def _word(self, word: str) -> list[int]:
        if word in self._cache:
            return self._cache[word]
        if len(word) > self.max_chars:
            return [self.unk_id]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else self.marker + word[start:end]
                if piece in self.vocab:
                    pieces.append(self.vocab[piece])
                    break
                end -= 1
            else:
                pieces = [self.unk_id]
                break
            start = end
        if len(self._cache) < 100_000:
            self._cache[word] = pieces
        return pieces


def load_wordpiece(folder: Path, max_length: int) -> WordPieceTokenizer:
    """From tokenizer.json (preferred) or vocab.txt + tokenizer_config.json."""
    if (folder / "tokenizer.json").is_file():
        spec = read_json(folder / "tokenizer.json")
        model = spec.get("model") or {}
        if model.get("type") != "WordPiece" or not isinstance(model.get("vocab"), dict):
            raise PretrainedError(f"tokenizer.json holds a {model.get('type')!r} model; a BERT "
                                  "model needs a WordPiece vocabulary")
        norm = spec.get("normalizer") or {}
        if norm and norm.get("type") != "BertNormalizer":
            raise PretrainedError(f"tokenizer.json uses a {norm.get('type')!r} normalizer; "
                                  "only BERT's is supported")
        added = [AddedToken(str(a["content"]), int(a["id"]), bool(a.get("special", True)),
                            bool(a.get("lstrip")), bool(a.get("rstrip")),
                            bool(a.get("single_word")))
                 for a in spec.get("added_tokens") or []]
        vocab = {str(k): int(v) for k, v in model["vocab"].items()}
        opts = dict(lowercase=bool(norm.get("lowercase", False)),
                    strip_accents=norm.get("strip_accents"),
                    clean_text=bool(norm.get("clean_text", True)),
                    chinese=bool(norm.get("handle_chinese_chars", True)),
                    unk=str(model.get("unk_token", "[UNK]")),
                    prefix_marker=str(model.get("continuing_subword_prefix", "##")),
                    max_chars=int(model.get("max_input_chars_per_word", 100)))
    elif (folder / "vocab.txt").is_file():
        lines = (folder / "vocab.txt").read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines = lines[:-1]
        vocab = {}
        for i, tok in enumerate(lines):
            vocab.setdefault(tok.rstrip("\r"), i)
        cfg = read_json(folder / "tokenizer_config.json") if (
            folder / "tokenizer_config.json").is_file() else {}
        added = [AddedToken(t, vocab[t]) for t in SPECIALS if t in vocab]
        opts = dict(lowercase=bool(cfg.get("do_lower_case", True)),
                    strip_accents=cfg.get("strip_accents"),
                    chinese=bool(cfg.get("tokenize_chinese_chars", True)))
    else:
        raise PretrainedError(f"{folder} has no tokenizer: a BERT model needs tokenizer.json "
                              "or vocab.txt")
    for name in ("[CLS]", "[SEP]"):
        if name not in vocab:
            raise PretrainedError(f"the vocabulary has no {name} token")
    return WordPieceTokenizer(vocab, added=added, prefix=[vocab["[CLS]"]],
                              suffix=[vocab["[SEP]"]], pad_id=vocab.get("[PAD]", 0),
                              max_length=max_length, **opts)
