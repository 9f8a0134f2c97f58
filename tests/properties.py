"""Shared pieces of the property tests (tests/test_properties_*.py), built on hypothesis.

The property every parser and validator in core must have: for ANY input it returns a valid
value or raises ValueError (or a documented subclass) with a non-empty message a user can read;
nothing else, and it never hangs. `outcome()` asserts the error half and hands back the value.
"""
from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Short runs keep the suite fast; the deadline only catches a hang or a pathological input
# (the first example of a run also pays for lazy imports on a busy machine).
PROPERTY = settings(max_examples=100, deadline=timedelta(seconds=10),
                    suppress_health_check=[HealthCheck.too_slow], derandomize=False)
MAX_MESSAGE = 600

# Strings that have broken parsers before: numbers Python reads in surprising ways, other
# scripts' digits, control characters, whitespace of every kind.
NASTY = ["", " ", "\t\n", "\x00", "\x1b[31m", "nan", "NaN", "-nan", "inf", "-inf", "Infinity",
         "1e309", "-1e309", "1e-400", "0", "-0", "-1", "+1", "00", "0x1f", "1_000", "1,5", "٣",
         "²", "１２３", "Ⅻ", "𝟗", "\u200b1", "1\u00a02", "9" * 400, "1" * 5000, "☃", "🙂",
         "a" * 70, "%s%n", "{0}", "<script>", "'; DROP", "../../etc/passwd", "\\", "\ud7ff"]


def number_words() -> st.SearchStrategy:
    """One number as text, in every spelling float() and int() accept (and some they don't)."""
    return st.one_of(
        st.integers(-10 ** 6, 10 ** 6).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.floats(width=32).map(lambda f: f"{f:.3g}"),
        st.sampled_from(NASTY),
    )


def texts() -> st.SearchStrategy:
    """Free text, plus text made of the pieces parsers look for (digits, signs, separators,
    month names, number words), so the accepting branches are reached too."""
    pieces = st.one_of(number_words(), st.sampled_from(
        list("0123456789+-=/.,;: ") + ["sample", "November", "nov", "2026", "12/11/1999",
                                       "circle", "7", "\n"]))
    return st.one_of(
        st.text(max_size=120),
        st.sampled_from(NASTY),
        st.lists(pieces, max_size=120).map(" ".join),
        st.lists(pieces, max_size=40).map("".join),
        st.lists(st.floats(-3, 3), min_size=95, max_size=105).map(
            lambda v: ", ".join(f"{x:.4f}" for x in v)),
    )


def outcome(fn, *args, allowed=(ValueError,), max_message=MAX_MESSAGE, **kwargs):
    """fn(*args, **kwargs) -> its value, or None when it raised one of `allowed` with a usable
    message (non-empty, at most `max_message` characters: it is shown on a page). Any other
    exception propagates (hypothesis reports it as the failure)."""
    try:
        return fn(*args, **kwargs)
    except allowed as e:
        message = str(e)
        assert message.strip(), f"{type(e).__name__} with an empty message"
        assert max_message is None or len(message) <= max_message, \
            f"a {len(message)}-character message"
        assert "Traceback" not in message
        return None
