"""A character vocabulary with padding, begin and end tokens, shared by the text tasks."""
from __future__ import annotations

import torch

PAD, BOS, EOS = 0, 1, 2
SPECIALS = ("<pad>", "<bos>", "<eos>")
_SHOW = {" ": "␣"}


class Vocab:
    """ids 0, 1, 2 are <pad>, <bos>, <eos>; then one id per character of `symbols`."""

    def __init__(self, symbols: str):
        if len(set(symbols)) != len(symbols):
            raise ValueError("vocabulary symbols must be unique")
        self.symbols = symbols
        self.itos = list(SPECIALS) + list(symbols)
        self.stoi = {s: i for i, s in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def check(self, text: str) -> None:
        """Raise ValueError naming the characters this vocabulary does not have."""
        bad = sorted({c for c in text if c not in self.stoi or self.stoi[c] < len(SPECIALS)})
        if bad:
            shown = " ".join(repr(c) for c in bad[:8])
            raise ValueError(f"unsupported character(s): {shown}; allowed: {self.symbols!r}")

    def encode(self, text: str) -> list[int]:
        self.check(text)
        return [self.stoi[c] for c in text]

    def decode(self, ids) -> str:
        """Characters up to the first <eos>, skipping <pad> and <bos>."""
        out = []
        for i in (ids.tolist() if hasattr(ids, "tolist") else ids):
            if i == EOS:
                break
            if i >= len(SPECIALS) and i < len(self.itos):
                out.append(self.itos[i])
        return "".join(out)

    def labels(self, ids) -> list[str]:
        """Display labels for ids, specials included (e.g. '<eos>', '␣' for a space)."""
        ids = ids.tolist() if hasattr(ids, "tolist") else ids
        return [_SHOW.get(self.itos[i], self.itos[i]) if 0 <= i < len(self.itos) else "?"
                for i in ids]

    def table(self, device=None) -> torch.Tensor:
        """(len(symbols),) ids of the ordinary symbols, for vectorised data generation."""
        return torch.arange(len(SPECIALS), len(self.itos), device=device)
