"""What the explorer's views draw: the inspection with special tokens ([CLS], [SEP],
<|endoftext|>) shown or hidden.

Hiding a token drops its row and column from every map; the weights of the other cells are the
model's own, unchanged (not renormalised), so a shown row sums to less than 1 by the weight
its query put on the hidden keys. Inspection.special (core.tasks.base) says which positions are
special; a model without special tokens shows everything and no toggle.
"""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
import torch

SHOW_SPECIAL = "show_special"        # URL. The toggle (default on: special tokens shown).


@dataclass(frozen=True)
class Shown:
    """The inspection `ins` as the views show it. keep: the token positions shown (None: all);
    hidden: the labels of the positions left out, in order."""
    ins: object
    keep: tuple | None = None
    hidden: tuple = ()

    def _index(self, n: int):
        """Positions to keep on an axis of length n (None: all; only axes over the input's
        tokens are cut)."""
        if self.keep is None or n != len(self.ins.special or ()):
            return None
        return torch.tensor(self.keep, dtype=torch.long)

    def take(self, name: str, x):
        """x (..., Tq, Tk) of module `name` with the hidden rows and columns left out."""
        if x is None:
            return None
        qi, ki = self._index(x.shape[-2]), self._index(x.shape[-1])
        if qi is not None:
            x = x.index_select(-2, qi)                                   # (..., tq, Tk)
        if ki is not None:
            x = x.index_select(-1, ki)                                   # (..., tq, tk)
        return x

    def weights(self, name: str):
        """(H, tq, tk) weights of module `name`, hidden tokens left out."""
        return self.take(name, self.ins.attention[name])

    def mask(self, name: str, head: int | None = None):
        """(H, tq, tk) or, with head, (tq, tk) allowed-cells mask; None when nothing is masked."""
        m = (self.ins.masks or {}).get(name)
        m = self.take(name, m)
        return m if m is None or head is None else m[head]

    def labels(self, name: str) -> tuple[list, list]:
        q, k = self.ins.labels[name]
        return self._cut(q), self._cut(k)

    def _cut(self, labels):
        labels = list(labels)
        idx = self._index(len(labels))
        return labels if idx is None else [labels[i] for i in idx.tolist()]

    def hidden_share(self, name: str, head: int) -> float | None:
        """Mean over the shown queries of the weight on hidden keys (None: nothing hidden)."""
        w = self.ins.attention[name][head]                               # (Tq, Tk)
        ki = self._index(w.shape[-1])
        if ki is None:
            return None
        qi = self._index(w.shape[-2])
        rows = w if qi is None else w.index_select(0, qi)                # (tq, Tk)
        return float(1.0 - rows.index_select(1, ki).sum(-1).mean()) if rows.numel() else None


def special_toggle(ins, where=st) -> Shown:
    """The "special tokens" toggle (drawn only when the input has some) -> what to show."""
    special = list(ins.special or ())
    if not any(special):
        return Shown(ins)
    names = list(dict.fromkeys(t for t, s in zip(ins.tokens, special) if s))
    show = where.toggle("show " + " ".join(names), value=True, width="content", key=SHOW_SPECIAL, bind="query-params",
                        help="Show the special tokens' rows and columns. Hidden, they leave "
                             "the weights unchanged: only the view leaves them out, so a row "
                             "sums to less than 1 by what its query puts on them.")
    if show or all(special):
        return Shown(ins)
    keep = tuple(i for i, s in enumerate(special) if not s)
    return Shown(ins, keep, tuple(t for t, s in zip(ins.tokens, special) if s))
