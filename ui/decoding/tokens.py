"""Token labels a class can read: GPT-2 pieces such as " the" or "\\n" made visible, as chips
in markdown and as axis labels.

A byte-level BPE piece carries its leading space (" the") and core writes a newline as "\\n";
on an axis or in a chip a space is invisible and "\\n" looks like two characters. `readable`
shows spaces as "␣" and newlines / tabs as "↵" / "⇥", so " the" reads "␣the" and two tokens
"the" and " the" stay distinct. Labels without spaces or escapes (digits, "<eos>", "0.12",
"[CLS]") come back unchanged.
"""
from __future__ import annotations

import re

SPACE, NEWLINE, TAB, RETURN = "␣", "↵", "⇥", "␍"
_ESCAPES = (("\\n", NEWLINE), ("\\t", TAB), ("\\r", RETURN))
_MD = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$])")


def readable(label) -> str:
    """One token label with its spaces, newlines and tabs made visible ("" -> "␣")."""
    s = str(label)
    for raw, mark in _ESCAPES:
        s = s.replace(raw, mark)
    s = s.replace("\n", NEWLINE).replace("\t", TAB).replace("\r", RETURN).replace(" ", SPACE)
    return s or SPACE


def readable_all(labels) -> list[str]:
    return [readable(t) for t in labels]


def md(label) -> str:
    """A label safe inside markdown ('<eos>' would otherwise vanish as HTML)."""
    return _MD.sub(r"\\\1", readable(label))


def chip(label, colour: str = "gray", bold: bool = False) -> str:
    """A token as a coloured markdown chip: colour is a Streamlit colour name."""
    text = f"**{md(label)}**" if bold else md(label)
    return f":{colour}-background[{text}]"
