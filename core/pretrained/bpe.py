"""GPT-2's byte-level BPE tokenizer in plain Python (no `regex` package, no `tokenizers`).

1. Pre-tokenize with GPT-2's pattern, scanned by hand:
   's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
   (letters and digits by Unicode category L* / N*; \\s = the Unicode White_Space set);
2. map each piece's UTF-8 bytes to printable characters (GPT-2's bytes_to_unicode: a space
   becomes "Ġ", a newline "Ċ");
3. merge adjacent symbols by the rank of merges.txt, lowest rank (then leftmost) first, until
   no pair has a rank.
"""
from __future__ import annotations

import heapq
import unicodedata
from pathlib import Path

from .files import PretrainedError, read_json
from .text import AddedToken, TextTokenizer

_CONTRACTIONS = ("s", "t", "re", "ve", "m", "ll", "d")
_WHITE = (set("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000")
          | {chr(c) for c in range(0x2000, 0x200B)})


def bytes_to_unicode() -> dict:
    """GPT-2's reversible map from the 256 byte values to printable characters."""
    keep = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
            + list(range(ord("®"), ord("ÿ") + 1)))
    chars, n = keep[:], 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(keep, map(chr, chars)))


_BYTE_CHAR = bytes_to_unicode()
_CHAR_BYTE = {c: b for b, c in _BYTE_CHAR.items()}


def _kind(c: str) -> str:
    """"S" whitespace, "L" letter, "N" number, "O" anything else."""
    if c in _WHITE:
        return "S"
    cat = unicodedata.category(c)[0]
    return cat if cat in "LN" else "O"


def pre_tokenize(text: str) -> list[str]:
    """The pieces GPT-2's regex finds in `text`, in order (they concatenate back to text)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == "'":
            suffix = next((s for s in _CONTRACTIONS if text.startswith(s, i + 1)), None)
            if suffix is not None:
                out.append("'" + suffix)
                i += 1 + len(suffix)
                continue
        j = i + 1 if c == " " and i + 1 < n and _kind(text[i + 1]) != "S" else i
        kind = _kind(text[j])
        if kind != "S":                                    # ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^...]+`
            k = j + 1
            while k < n and _kind(text[k]) == kind:
                k += 1
            out.append(text[i:k])
            i = k
            continue
        k = i
        while k < n and _kind(text[k]) == "S":
            k += 1
        if k < n and k - i >= 2:                           # `\s+(?!\S)`: leave the last space
            k -= 1                                         # to the word that follows
        out.append(text[i:k])
        i = k
    return out


class ByteLevelBPETokenizer(TextTokenizer):
    def __init__(self, vocab: dict, merges: list, add_prefix_space: bool = False, **kw):
        super().__init__(vocab, **kw)
        self.ranks = {tuple(m): r for r, m in enumerate(merges)}
        self.add_prefix_space = add_prefix_space
        self._cache: dict = {}

    def _encode_text(self, text: str) -> list[int]:
        if self.add_prefix_space and not text.startswith(" "):
            text = " " + text
        ids = []
        for piece in pre_tokenize(text):
            mapped = "".join(_BYTE_CHAR[b] for b in piece.encode("utf-8"))
            for sym in self._bpe(mapped):
                if sym not in self.vocab:
                    raise PretrainedError(f"the BPE vocabulary lacks {sym!r} (a merge result or "
                                          "byte missing from vocab.json)")
                ids.append(self.vocab[sym])
        return ids

    def _bpe(self, word: str) -> list[str]:
        """Merge the lowest-ranked adjacent pair (leftmost first) until none has a rank: a heap
        of candidate pairs over a linked list of symbols, O(n log n) even for a huge word."""
        if word in self._cache:
            return self._cache[word]
        syms: list = list(word)
        n, ranks = len(syms), self.ranks
        nxt = list(range(1, n + 1))
        nxt[-1] = -1
        prv = list(range(-1, n - 1))
        heap = [(ranks[p], i) for i, p in enumerate(zip(syms, syms[1:])) if p in ranks]
        heapq.heapify(heap)
        while heap:
            rank, i = heapq.heappop(heap)
            j = nxt[i] if syms[i] is not None else -1
            if j == -1 or ranks.get((syms[i], syms[j])) != rank:
                continue                                   # a pair that merges already changed
            syms[i], syms[j] = syms[i] + syms[j], None
            nxt[i] = nxt[j]
            if nxt[i] != -1:
                prv[nxt[i]] = i
            for a, b in ((prv[i], i), (i, nxt[i])):
                if a != -1 and b != -1 and (syms[a], syms[b]) in ranks:
                    heapq.heappush(heap, (ranks[(syms[a], syms[b])], a))
        out = [x for x in syms if x is not None]
        if len(self._cache) < 100_000 and len(word) < 1000:
            self._cache[word] = out
        return out

    def _label(self, token: str) -> str:
        """A vocabulary string back to text: "Ġthe" -> " the"; bytes that are not whole UTF-8
        characters (a piece of an emoji) as \\xNN; newlines and tabs as \\n, \\t."""
        if any(c not in _CHAR_BYTE for c in token):
            return token
        raw = bytes(_CHAR_BYTE[c] for c in token)
        text = raw.decode("utf-8", errors="backslashreplace")
        return text.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def _merges(items) -> list:
    out = []
    for m in items:
        pair = m.split(" ") if isinstance(m, str) else list(m)
        if len(pair) != 2:
            raise PretrainedError(f"a BPE merge should be two symbols, got {m!r}")
        out.append(tuple(pair))
    return out


def load_bpe(folder: Path, max_length: int, prefix_tokens=(), suffix_tokens=(),
             pad_token: str | None = None) -> ByteLevelBPETokenizer:
    """From tokenizer.json (preferred) or vocab.json + merges.txt."""
    if (folder / "tokenizer.json").is_file():
        spec = read_json(folder / "tokenizer.json")
        model = spec.get("model") or {}
        if model.get("type") != "BPE" or not isinstance(model.get("vocab"), dict):
            raise PretrainedError(f"tokenizer.json holds a {model.get('type')!r} model; this "
                                  "model needs a byte-level BPE vocabulary")
        pre = spec.get("pre_tokenizer") or {}
        if pre.get("type") != "ByteLevel" or not pre.get("use_regex", True):
            raise PretrainedError(f"tokenizer.json uses a {pre.get('type')!r} pre-tokenizer; "
                                  "only GPT-2's byte-level one is supported")
        vocab = {str(k): int(v) for k, v in model["vocab"].items()}
        merges = _merges(model.get("merges") or [])
        added = [AddedToken(str(a["content"]), int(a["id"]), bool(a.get("special", True)),
                            bool(a.get("lstrip")), bool(a.get("rstrip")),
                            bool(a.get("single_word")))
                 for a in spec.get("added_tokens") or []]
        prefix_space = bool(pre.get("add_prefix_space", False))
    elif (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
        vocab = {str(k): int(v) for k, v in read_json(folder / "vocab.json").items()}
        lines = (folder / "merges.txt").read_text(encoding="utf-8").split("\n")
        merges = _merges(ln for ln in lines if ln.strip() and not ln.startswith("#version"))
        specials = {*prefix_tokens, *suffix_tokens, "<|endoftext|>", "<s>", "</s>", "<pad>",
                    "<unk>", "<mask>"}
        added = [AddedToken(t, vocab[t], lstrip=t == "<mask>") for t in sorted(specials)
                 if t in vocab]
        cfg = read_json(folder / "tokenizer_config.json") if (
            folder / "tokenizer_config.json").is_file() else {}
        prefix_space = bool(cfg.get("add_prefix_space", False))
    else:
        raise PretrainedError(f"{folder} has no tokenizer: a byte-level BPE model needs "
                              "tokenizer.json, or vocab.json and merges.txt")
    ids = {**vocab, **{a.content: a.id for a in added}}
    for t in (*prefix_tokens, *suffix_tokens):
        if t not in ids:
            raise PretrainedError(f"the vocabulary has no {t} token")
    pad = pad_token if pad_token in ids else "<|endoftext|>"
    return ByteLevelBPETokenizer(vocab, merges, prefix_space, added=added,
                                 prefix=[ids[t] for t in prefix_tokens],
                                 suffix=[ids[t] for t in suffix_tokens],
                                 pad_id=ids.get(pad, 0), max_length=max_length)
