"""The dates task's data: the formats people type, a vectorised generator, and date checks.

Dates run from 1900-01-01 to 2099-12-31. Day and month order is fixed per format, never guessed:
with slashes, dots or dashes and the year last the order is always day/month/year ("22/11/2026",
"3.1.2020", "03-01-2020"); with the year first it is year/month/day ("2026/11/22"). Formats with
a two-digit year ("nov 22, 26", "22 Nov '26") mean 2000-2099. Every format with a month name
comes with the day both as typed ("3") and zero-padded ("03"), as people and software write it
("June 03, 2031", "Fri, 03 Jan 2020"). Every format appears as written, all lower case or all
upper case.

Generation is vectorised: every piece of text a format uses (day numbers, ordinals, month and
weekday names, years, separators) sits in one padded table of character ids; a batch picks, per
row, a date, a format and a case, looks its pieces up in that table and scatters them into place.
"""
from __future__ import annotations

import calendar
import datetime
import re

import numpy as np
import torch

from .vocab import PAD

FIRST_YEAR, LAST_YEAR = 1900, 2099
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")     # English names (calendar's follow the locale)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# The formats, as pieces in braces: D 22 / 5, DD 05, Dth 22nd, Month November, Mon Nov, M 11 / 5,
# MM 05, YYYY 2026, YY 26 (= 2000-2099), Weekday Sunday, Wkd Sun; anything else is literal text.
FORMATS = (
    # day, month name, year
    "{D} {Month} {YYYY}",                 # 3 June 2031
    "{DD} {Month} {YYYY}",                # 03 June 2031
    "{D} {Mon} {YYYY}",                   # 3 Jun 2031
    "{DD} {Mon} {YYYY}",                  # 03 Jun 2031
    "{Dth} {Month} {YYYY}",               # 3rd June 2031
    "{Dth} {Mon} {YYYY}",                 # 3rd Jun 2031
    "{Dth} of {Month} {YYYY}",            # 3rd of June 2031
    "{D} {Mon} '{YY}",                    # 3 Jun '31
    "{DD}-{Mon}-{YYYY}",                  # 03-Jun-2031
    # month name, day, year
    "{Month} {D}, {YYYY}",                # June 3, 2031
    "{Month} {DD}, {YYYY}",               # June 03, 2031
    "{Month} {Dth}, {YYYY}",              # June 3rd, 2031
    "{Month} {D} {YYYY}",                 # June 3 2031
    "{Mon} {D}, {YYYY}",                  # Jun 3, 2031
    "{Mon} {DD}, {YYYY}",                 # Jun 03, 2031
    "{Mon}. {D}, {YYYY}",                 # Jun. 3, 2031
    "{Mon} {D}, {YY}",                    # Jun 3, 31
    "{Mon} {D} {YYYY}",                   # Jun 3 2031
    "{Mon} {DD} {YYYY}",                  # Jun 03 2031
    # with the weekday
    "{Weekday} {D} {Month} {YYYY}",       # Tuesday 3 June 2031
    "{Weekday} {DD} {Month} {YYYY}",      # Tuesday 03 June 2031
    "{Weekday}, {D} {Month} {YYYY}",      # Tuesday, 3 June 2031
    "{Weekday}, {Month} {D}, {YYYY}",     # Tuesday, June 3, 2031
    "{Weekday}, {Month} {DD}, {YYYY}",    # Tuesday, June 03, 2031
    "{Weekday} {DD}/{MM}/{YYYY}",         # Tuesday 03/06/2031
    "{Wkd}, {D} {Mon} {YYYY}",            # Tue, 3 Jun 2031
    "{Wkd}, {DD} {Mon} {YYYY}",           # Tue, 03 Jun 2031 (e-mail headers)
    "{Wkd} {Mon} {DD} {YYYY}",            # Tue Jun 03 2031 (JavaScript's toDateString)
    # numbers only, day first
    "{DD}/{MM}/{YYYY}",                   # 03/06/2031
    "{D}/{M}/{YYYY}",                     # 3/6/2031
    "{DD}.{MM}.{YYYY}",                   # 03.06.2031
    "{D}.{M}.{YYYY}",                     # 3.6.2031
    "{DD}-{MM}-{YYYY}",                   # 03-06-2031
    # numbers only, year first
    "{YYYY}/{MM}/{DD}",                   # 2031/06/03
    "{YYYY}.{MM}.{DD}",                   # 2031.06.03
    "{YYYY}-{MM}-{DD}",                   # 2031-06-03 (already ISO: copy it)
)
CASES = ("as written", "lower", "upper")
CASE_PROBS = (0.5, 0.3, 0.2)
SRC_SYMBOLS = (" ',-./0123456789" + "".join(chr(c) for c in range(65, 91))
               + "".join(chr(c) for c in range(97, 123)))
OUT_LEN = 10                              # "YYYY-MM-DD"
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def ordinal(d: int) -> str:
    suffix = "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return f"{d}{suffix}"


# field -> (value column, strings indexed by value): columns 0 day-1, 1 month-1, 2 year-1900,
# 3 weekday (Monday = 0).
_YEARS = range(FIRST_YEAR, LAST_YEAR + 1)
FIELDS = {
    "D": (0, [str(d) for d in range(1, 32)]),
    "DD": (0, [f"{d:02d}" for d in range(1, 32)]),
    "Dth": (0, [ordinal(d) for d in range(1, 32)]),
    "Month": (1, list(MONTHS)),
    "Mon": (1, [m[:3] for m in MONTHS]),
    "M": (1, [str(m) for m in range(1, 13)]),
    "MM": (1, [f"{m:02d}" for m in range(1, 13)]),
    "YYYY": (2, [str(y) for y in _YEARS]),
    "YY": (2, [f"{y % 100:02d}" for y in _YEARS]),
    "Weekday": (3, list(WEEKDAYS)),
    "Wkd": (3, [w[:3] for w in WEEKDAYS]),
}


def is_valid_iso_date(text: str) -> bool:
    """True when `text` is a real calendar date written YYYY-MM-DD ("2034-02-28"); False for
    an impossible one ("2034-02-30", "2031-13-01") or anything not in that form. The dates
    model writes characters, not dates: use this to flag an output it made up."""
    if not isinstance(text, str) or not _ISO.fullmatch(text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def date_problem(text: str) -> str | None:
    """Why `text` is not a real calendar date written YYYY-MM-DD, in words ("February 2034 has
    28 days", "there is no month 13"), or None when it is one (is_valid_iso_date)."""
    if is_valid_iso_date(text):
        return None
    if not isinstance(text, str) or not _ISO.fullmatch(text):
        return "not written YYYY-MM-DD"
    year, month, day = (int(p) for p in text.split("-"))
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    if day == 0:
        return "there is no day 0"
    if year == 0:
        return "there is no year 0"
    days = calendar.monthrange(year, month)[1]
    return f"{MONTHS[month - 1]} {year} has {days} days"


def day_table() -> torch.Tensor:
    """(n_days, 4) long: day-1, month-1, year-1900, weekday of every date 1900-01-01..2099-12-31."""
    days = np.arange(f"{FIRST_YEAR}-01-01", f"{LAST_YEAR + 1}-01-01", dtype="datetime64[D]")
    months = days.astype("datetime64[M]")
    years = days.astype("datetime64[Y]")
    cols = [(days - months).astype(np.int64),                               # day - 1
            months.astype(np.int64) % 12,                                    # month - 1
            years.astype(np.int64) + 1970 - FIRST_YEAR,                      # year - 1900
            (days.astype(np.int64) + 3) % 7]                                 # 1970-01-01: Thursday
    return torch.from_numpy(np.stack(cols, 1))                               # (N, 4)


def read_date(text: str) -> str | None:
    """The true ISO date of a text written in one of FORMATS (any case), else None."""
    for fmt in FORMATS:
        parts = re.split(r"\{(\w+)\}", fmt)
        pattern = "".join(f"(?P<{p}>" + "|".join(map(re.escape, sorted(
            FIELDS[p][1], key=len, reverse=True))) + ")" if i % 2 else re.escape(p)
            for i, p in enumerate(parts))
        m = re.fullmatch(pattern, text, flags=re.IGNORECASE)
        if not m:
            continue
        value = {FIELDS[p][0]: [v.lower() for v in FIELDS[p][1]].index(m.group(p).lower())
                 for p in parts[1::2]}                       # column -> index into its strings
        year = (2000 if "YY" in parts else FIRST_YEAR) + value[2]
        try:
            return datetime.date(year, value[1] + 1, value[0] + 1).isoformat()
        except ValueError:                                   # e.g. 31 February
            continue
    return None


class DateSource:
    """Draws batches of (source text ids, ISO target ids) for a source and a target vocabulary.

    The tables are built on first use and only read afterwards (safe to share between threads).
    """

    def __init__(self, vocab, tgt_vocab):
        self.vocab, self.tgt_vocab = vocab, tgt_vocab
        self._tables = None

    def _build(self) -> dict:
        """Piece table, per-format slot plans and date ranges."""
        strings, field_base, literal = [""], {}, {"": 0}
        for f, (_, values) in FIELDS.items():
            field_base[f] = len(strings)
            strings += values
        plans = []
        for fmt in FORMATS:
            plan = []
            for i, part in enumerate(re.split(r"\{(\w+)\}", fmt)):
                if i % 2:                                  # a field
                    plan.append((field_base[part], FIELDS[part][0] + 1))
                elif part:                                 # literal text
                    if part not in literal:
                        literal[part] = len(strings)
                        strings.append(part)
                    plan.append((literal[part], 0))
            plans.append(plan)
        K = max(len(p) for p in plans)
        base = torch.zeros(len(FORMATS), K, dtype=torch.long)             # (F, K) table row
        column = torch.zeros(len(FORMATS), K, dtype=torch.long)           # (F, K) 0 = constant
        for f, plan in enumerate(plans):
            for k, (b, c) in enumerate(plan):
                base[f, k], column[f, k] = b, c
        L = max(len(s) for s in strings)
        chars = torch.full((len(strings), L), PAD, dtype=torch.long)      # (S, L)
        for i, s in enumerate(strings):
            if s:
                chars[i, :len(s)] = torch.tensor(self.vocab.encode(s))
        lens = torch.tensor([len(s) for s in strings])                    # (S,)
        days = day_table()                                                # (N, 4)
        first_2000 = int((days[:, 2] == 2000 - FIRST_YEAR).nonzero()[0])
        two_digit = torch.tensor(["{YY}" in f for f in FORMATS])
        lo = torch.where(two_digit, first_2000, 0)                        # (F,)
        ids = torch.arange(len(self.vocab))
        lower, upper = ids.clone(), ids.clone()
        for c in SRC_SYMBOLS:
            if c.isalpha():
                lower[self.vocab.stoi[c]] = self.vocab.stoi[c.lower()]
                upper[self.vocab.stoi[c]] = self.vocab.stoi[c.upper()]
        self._tables = dict(base=base, column=column, chars=chars, lens=lens, days=days, lo=lo,
                            n_days=len(days), case_probs=torch.tensor(CASE_PROBS),
                            case_map=torch.stack([ids, lower, upper]))        # (3, V)
        return self._tables

    def sample(self, batch_size: int, generator: torch.Generator, fmt=None) -> dict:
        """CPU tensors: src (B, Ts) padded source ids, tgt (B, 10) output ids, date (B, 3) of
        (year, month, day), fmt (B,) index into FORMATS, case (B,) index into CASES. `fmt`
        (an int or a (B,) tensor) fixes the formats instead of drawing them evenly."""
        t = self._tables or self._build()
        B = batch_size
        drawn = torch.randint(len(FORMATS), (B,), generator=generator)  # (B,)
        fmt = drawn if fmt is None else torch.as_tensor(fmt, dtype=torch.long).expand(B)
        case = torch.multinomial(t["case_probs"], B, replacement=True,
                                 generator=generator)                     # (B,)
        lo = t["lo"][fmt]                                                 # (B,)
        u = torch.rand(B, generator=generator, dtype=torch.float64)
        day = lo + (u * (t["n_days"] - lo)).long().clamp(max=t["n_days"] - 1 - lo)
        values = torch.cat([torch.zeros(B, 1, dtype=torch.long), t["days"][day]], 1)  # (B, 5)
        piece = t["base"][fmt] + values.gather(1, t["column"][fmt])       # (B, K) table rows
        chars, lens = t["chars"][piece], t["lens"][piece]                 # (B, K, L), (B, K)
        start = lens.cumsum(1) - lens                                     # (B, K)
        j = torch.arange(chars.size(2))
        valid = j < lens[..., None]                                       # (B, K, L)
        pos = start[..., None] + j                                        # (B, K, L)
        row = torch.arange(B)[:, None, None].expand_as(chars)             # (B, K, L)
        src = torch.full((B, int(lens.sum(1).max())), PAD, dtype=torch.long)  # (B, Ts)
        src[row[valid], pos[valid]] = chars[valid]
        src = t["case_map"][case[:, None], src]                           # (B, Ts)
        ymd = torch.stack([values[:, 3] + FIRST_YEAR, values[:, 2] + 1, values[:, 1] + 1], 1)
        return {"src": src, "tgt": self.iso_ids(ymd), "date": ymd, "fmt": fmt.clone(),
                "case": case}

    def iso_ids(self, ymd: torch.Tensor) -> torch.Tensor:
        """(B, 3) year, month, day -> (B, 10) target ids of "YYYY-MM-DD"."""
        y, m, d = ymd.unbind(1)
        sep = torch.full_like(y, -1)                                      # the dashes
        digits = torch.stack([y // 1000, y // 100 % 10, y // 10 % 10, y % 10, sep,
                              m // 10, m % 10, sep, d // 10, d % 10], 1)  # (B, 10)
        zero, dash = self.tgt_vocab.stoi["0"], self.tgt_vocab.stoi["-"]
        return torch.where(digits < 0, dash, digits + zero)
