"""Text from outside the app (file and folder names, paths, metadata, error messages quoting
them) made safe to show in Streamlit's markdown: shown as typed, never as formatting."""
from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def plain(text, most: int = 160) -> str:
    """`text` as plain markdown: control and bidi characters replaced by '�', markdown
    characters escaped (no links, emphasis, code, HTML, maths or :icons:), at most `most`
    characters (the middle cut out)."""
    text = _CONTROL.sub("\N{REPLACEMENT CHARACTER}", str(text))
    if len(text) > most:
        text = text[:most // 2] + "…" + text[-(most - most // 2 - 1):]
    return _MARKDOWN.sub(r"\\\1", text)


def has_control(text) -> bool:
    """True when `text` holds a control or bidi-override character."""
    return bool(_CONTROL.search(str(text)))
