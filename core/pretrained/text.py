"""What every text tokenizer shares: added (special) tokens, the [CLS] ... [SEP] template,
length limits, batching into tensors, and token labels.

A subclass turns a plain piece of text (no special tokens in it) into ids (`_encode_text`) and a
vocabulary string into a label (`_label`). Batches are padded on the right, with an
`attention_mask` that is True on real tokens (True = may attend), so each text's tokens keep the
positions they have alone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import torch

MAX_CHARS = 100_000        # a text longer than this is refused before tokenizing (512 tokens
                           # of English are about 2,500 characters)


@dataclass(frozen=True)
class AddedToken:
    """A token matched in the raw text before anything else (as `tokenizers` does): [CLS],
    [MASK], <|endoftext|> ... lstrip / rstrip swallow the whitespace beside it."""
    content: str
    id: int
    special: bool = True
    lstrip: bool = False
    rstrip: bool = False
    single_word: bool = False


class TextTokenizer:
    """Base class. prefix / suffix: ids put around every text ([CLS] / [SEP] for BERT, none for
    GPT-2); pad_id fills batches; max_length is the longest input the model reads (specials
    included)."""

    type_ids = False          # does the model take token_type_ids (BERT)?

    def __init__(self, vocab: dict, added=(), prefix=(), suffix=(), pad_id: int = 0,
                 max_length: int = 512):
        self.vocab = dict(vocab)
        self.added = [a for a in added if a.content]
        for a in self.added:
            self.vocab.setdefault(a.content, a.id)
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.prefix, self.suffix = list(prefix), list(suffix)
        self.pad_id, self.max_length = int(pad_id), int(max_length)
        self.special_ids = {a.id for a in self.added if a.special} | set(self.prefix) | set(self.suffix)
        by_content = {a.content: a for a in self.added}
        self._added = by_content
        self._added_re = (re.compile("|".join(re.escape(c) for c in sorted(by_content, key=len,
                                                                             reverse=True)))
                          if by_content else None)

    # ------------------------------------------------------------------ subclasses
    def _encode_text(self, text: str) -> list[int]:
        raise NotImplementedError

    def _label(self, token: str) -> str:
        return token

    # ------------------------------------------------------------------ encoding
    def _split_added(self, text: str) -> list:
        """The text cut around added tokens: a list of str (plain text) and int (token ids)."""
        if self._added_re is None:
            return [text]
        parts, pos = [], 0
        for m in self._added_re.finditer(text):
            tok = self._added[m.group()]
            start, end = m.start(), m.end()
            if tok.single_word and (_word_char(text, start - 1) or _word_char(text, end)):
                continue
            if start < pos:
                continue
            if tok.lstrip:
                while start > pos and text[start - 1].isspace():
                    start -= 1
            parts.append(text[pos:start])
            parts.append(tok.id)
            if tok.rstrip:
                while end < len(text) and text[end].isspace():
                    end += 1
            pos = end
        parts.append(text[pos:])
        return [p for p in parts if p != ""]

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        """Token ids of one text, with the model's special tokens around it when asked."""
        if not isinstance(text, str):
            raise ValueError(f"expected text, got {type(text).__name__}")
        if len(text) > MAX_CHARS:
            raise ValueError(f"the text is {len(text):,} characters long; at most "
                             f"{MAX_CHARS:,} are read")
        ids = []
        for part in self._split_added(text):
            ids.extend([part] if isinstance(part, int) else self._encode_text(part))
        return self.prefix + ids + self.suffix if add_special_tokens else ids

    def tokenize(self, text, max_length: int | None = None, truncation: bool = False,
                 add_special_tokens: bool = True) -> dict:
        """One text or a list of texts -> {"input_ids": (B, T) long, "attention_mask": (B, T)
        bool (True = a real token), and "token_type_ids" (B, T) for BERT}.

        Longer than max_length (default: the model's maximum, special tokens included): a
        ValueError saying how long the text is, unless truncation=True, which keeps the first
        tokens and the closing special tokens."""
        texts = [text] if isinstance(text, str) else list(text)
        if not texts:
            raise ValueError("nothing to tokenize: give a text or a list of texts")
        limit = self.max_length if max_length is None else int(max_length)
        if limit > self.max_length:
            raise ValueError(f"max_length={limit} is more than this model reads "
                             f"({self.max_length} tokens)")
        rows = [self._fit(self.encode(t, add_special_tokens), limit, truncation,
                          add_special_tokens, i if len(texts) > 1 else None)
                for i, t in enumerate(texts)]
        T = max(len(r) for r in rows)
        ids = torch.full((len(rows), T), self.pad_id, dtype=torch.long)          # (B, T)
        keep = torch.zeros(len(rows), T, dtype=torch.bool)                       # (B, T)
        for b, r in enumerate(rows):
            ids[b, :len(r)] = torch.tensor(r, dtype=torch.long)
            keep[b, :len(r)] = True
        out = {"input_ids": ids, "attention_mask": keep}
        if self.type_ids:
            out["token_type_ids"] = torch.zeros_like(ids)                        # (B, T)
        return out

    def _fit(self, ids: list, limit: int, truncation: bool, specials: bool, index) -> list:
        which = "the text" if index is None else f"text {index + 1}"
        n_special = len(self.prefix) + len(self.suffix) if specials else 0
        if len(ids) == 0:
            raise ValueError(f"{which} gives no tokens; type some text")
        if len(ids) <= limit:
            return ids
        if not truncation:
            extra = f" (with {n_special} special tokens)" if n_special else ""
            raise ValueError(f"{which} is {len(ids)} tokens long{extra}; this model reads at "
                             f"most {limit}. Shorten it, or truncate it to the first {limit}.")
        if limit <= n_special:
            raise ValueError(f"max_length={limit} leaves no room for text")
        if not specials:
            return ids[:limit]
        return ids[:limit - len(self.suffix)] + self.suffix

    # ------------------------------------------------------------------ labels
    def convert_ids_to_tokens(self, ids) -> list[str]:
        """The vocabulary strings of ids ("##ing", "Ġthe", "[CLS]"), as transformers gives them."""
        return [self.id_to_token.get(int(i), f"<id {int(i)}>") for i in _ids(ids)]

    def tokens(self, ids) -> list[str]:
        """Labels for axes: BERT word pieces as they are ("##ing", "[CLS]"); GPT-2 byte-level
        pieces decoded to text (" the"). Special tokens keep their names."""
        out = []
        for i in _ids(ids):
            tok = self.id_to_token.get(i)
            if tok is None:
                out.append(f"<id {i}>")
            else:
                out.append(tok if i in self.special_ids else self._label(tok))
        return out

    def special_mask(self, ids) -> list[bool]:
        """True where the id is a special token ([CLS], [SEP], [PAD], <|endoftext|> ...): what a
        view hides when the user hides special tokens (the weights stay as they are)."""
        return [i in self.special_ids for i in _ids(ids)]


def _ids(ids) -> list[int]:
    if torch.is_tensor(ids):
        if ids.dim() > 1:
            if ids.size(0) != 1:
                raise ValueError(f"expected the ids of one text, got shape {tuple(ids.shape)}")
            ids = ids[0]
        return [int(i) for i in ids.tolist()]
    return [int(i) for i in ids]


def _word_char(text: str, i: int) -> bool:
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] == "_")
