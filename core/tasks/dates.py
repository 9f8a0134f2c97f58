"""`dates`: translate a human-written date into ISO 8601 with an encoder-decoder.

"22 November 2026", "nov 22, 26" or "Sunday 22/11/2026" become "2026-11-22" + <eos>. The
cross-attention of a trained model draws the alignment figure of Bahdanau et al. (2015): to write
the month digits the decoder looks at "November", to write the year it looks at "2026".

Dates run from 1900-01-01 to 2099-12-31. Day and month order is fixed per format, never guessed:
with slashes or dots and the year last the order is always day/month/year ("22/11/2026",
"22.11.2026"); with the year first it is year/month/day ("2026/11/22"). Formats with a two-digit
year ("nov 22, 26", "22 Nov '26") mean 2000-2099. Every format appears as written, all lower
case or all upper case.

Data generation is vectorised: every piece of text a format uses (day numbers, ordinals, month and
weekday names, years, separators) sits in one padded table of character ids; a batch picks, per
row, a date, a format and a case, looks its pieces up in that table and scatters them into place.

Attention labels: source characters for the encoder; the decoder's input tokens (<bos>, then the
output so far) for decoder self-attention; for cross-attention each query row is labelled with the
character that position writes, so the heatmap reads like the translation alignment figure.
"""
from __future__ import annotations

import datetime
import re

import numpy as np
import torch
import torch.nn.functional as F

from ..decode import DecodeSetup
from .base import IGNORE, Inspection, LabelPairs, Task, scores_and_masks, squeeze_batch
from .vocab import BOS, EOS, PAD, Vocab

FIRST_YEAR, LAST_YEAR = 1900, 2099
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")     # English names (calendar's follow the locale)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# The formats, as pieces in braces: D 22 / 5, DD 05, Dth 22nd, Month November, Mon Nov, M 11 / 5,
# MM 05, YYYY 2026, YY 26 (= 2000-2099), Weekday Sunday, Wkd Sun; anything else is literal text.
FORMATS = (
    "{D} {Month} {YYYY}",                 # 22 November 2026
    "{D} {Mon} {YYYY}",                   # 22 Nov 2026
    "{Dth} {Month} {YYYY}",               # 22nd November 2026
    "{Dth} of {Month} {YYYY}",            # 22nd of November 2026
    "{Month} {D}, {YYYY}",                # November 22, 2026
    "{Month} {Dth}, {YYYY}",              # November 22nd, 2026
    "{Mon} {D}, {YY}",                    # Nov 22, 26
    "{Mon} {D} {YYYY}",                   # Nov 22 2026
    "{D} {Mon} '{YY}",                    # 22 Nov '26
    "{Weekday} {DD}/{MM}/{YYYY}",         # Sunday 22/11/2026
    "{Weekday}, {Month} {D}, {YYYY}",     # Sunday, November 22, 2026
    "{Wkd}, {D} {Mon} {YYYY}",            # Sun, 22 Nov 2026
    "{DD}/{MM}/{YYYY}",                   # 22/11/2026
    "{D}/{M}/{YYYY}",                     # 5/3/2026 (day first)
    "{DD}.{MM}.{YYYY}",                   # 22.11.2026
    "{DD}-{Mon}-{YYYY}",                  # 22-Nov-2026
    "{YYYY}/{MM}/{DD}",                   # 2026/11/22
    "{YYYY}.{MM}.{DD}",                   # 2026.11.22
    "{YYYY}-{MM}-{DD}",                   # 2026-11-22 (already ISO: copy it)
)
CASES = ("as written", "lower", "upper")
CASE_PROBS = (0.5, 0.3, 0.2)
SRC_SYMBOLS = (" ',-./0123456789" + "".join(chr(c) for c in range(65, 91))
               + "".join(chr(c) for c in range(97, 123)))
OUT_LEN = 10                              # "YYYY-MM-DD"


def _ordinal(d: int) -> str:
    suffix = "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return f"{d}{suffix}"


# field -> (value column, strings indexed by value): columns 0 day-1, 1 month-1, 2 year-1900,
# 3 weekday (Monday = 0).
_YEARS = range(FIRST_YEAR, LAST_YEAR + 1)
FIELDS = {
    "D": (0, [str(d) for d in range(1, 32)]),
    "DD": (0, [f"{d:02d}" for d in range(1, 32)]),
    "Dth": (0, [_ordinal(d) for d in range(1, 32)]),
    "Month": (1, list(MONTHS)),
    "Mon": (1, [m[:3] for m in MONTHS]),
    "M": (1, [str(m) for m in range(1, 13)]),
    "MM": (1, [f"{m:02d}" for m in range(1, 13)]),
    "YYYY": (2, [str(y) for y in _YEARS]),
    "YY": (2, [f"{y % 100:02d}" for y in _YEARS]),
    "Weekday": (3, list(WEEKDAYS)),
    "Wkd": (3, [w[:3] for w in WEEKDAYS]),
}


def _day_table():
    """(n_days, 4) long: day-1, month-1, year-1900, weekday of every date 1900-01-01..2099-12-31."""
    days = np.arange(f"{FIRST_YEAR}-01-01", f"{LAST_YEAR + 1}-01-01", dtype="datetime64[D]")
    months = days.astype("datetime64[M]")
    years = days.astype("datetime64[Y]")
    cols = [(days - months).astype(np.int64),                               # day - 1
            months.astype(np.int64) % 12,                                    # month - 1
            years.astype(np.int64) + 1970 - FIRST_YEAR,                      # year - 1900
            (days.astype(np.int64) + 3) % 7]                                 # 1970-01-01: Thursday
    return torch.from_numpy(np.stack(cols, 1))                               # (N, 4)


class DatesTask(Task):
    name = "dates"
    title = "Translate dates"
    description = ("Rewrite a date written the way people write it (\"22 November 2026\", "
                   "\"nov 22, 26\") as 2026-11-22. The cross-attention shows which source "
                   "characters each output character was copied or translated from.")
    kind = "seq2seq"
    metrics = ("exact", "char_acc")
    bar = {"exact": 0.99}
    target = {"exact": 0.99}
    vocab = Vocab(SRC_SYMBOLS)                # source characters
    tgt_vocab = Vocab("0123456789-")          # output characters
    max_input_len = 40
    config = dict(src_vocab_size=len(vocab), tgt_vocab_size=len(tgt_vocab), d_model=64,
                  n_heads=4, n_layers=2, max_len=max_input_len, pos="learned")
    train_defaults = dict(steps=700, lr=5e-3, batch_size=128, warmup=100)
    zoo = {"seed": 0, "steps": 1500, "preset": None, "overrides": {}}
    examples = ("22 November 2026", "nov 22, 26", "Sunday 22/11/2026", "22.11.2026",
                "November 22nd, 2026", "2026/11/22", "Sun, 22 Nov 2026", "22nd of March 1999",
                "THURSDAY, JULY 4, 1985")
    probe_example, probe_iso = "November 22nd, 2026", "2026-11-22"
    formats = FORMATS

    def __init__(self):
        self._tables = None

    # -- vectorised generation ---------------------------------------------------------------
    def _build(self):
        """Piece table, per-format slot plans and date ranges (built once, read-only)."""
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
        days = _day_table()                                               # (N, 4)
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

    def sample(self, batch_size: int, generator: torch.Generator) -> dict:
        """CPU tensors: src (B, Ts) padded source ids, tgt (B, 10) output ids, date (B, 3) of
        (year, month, day), fmt (B,) index into FORMATS, case (B,) index into CASES."""
        t = self._tables or self._build()
        B = batch_size
        fmt = torch.randint(len(FORMATS), (B,), generator=generator)     # (B,)
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
        return {"src": src, "tgt": self._iso_ids(ymd), "date": ymd, "fmt": fmt, "case": case}

    def _iso_ids(self, ymd: torch.Tensor) -> torch.Tensor:
        """(B, 3) year, month, day -> (B, 10) target ids of "YYYY-MM-DD"."""
        y, m, d = ymd.unbind(1)
        sep = torch.full_like(y, -1)                                      # the dashes
        digits = torch.stack([y // 1000, y // 100 % 10, y // 10 % 10, y % 10, sep,
                              m // 10, m % 10, sep, d // 10, d % 10], 1)  # (B, 10)
        zero, dash = self.tgt_vocab.stoi["0"], self.tgt_vocab.stoi["-"]
        return torch.where(digits < 0, dash, digits + zero)

    def batch(self, batch_size: int, generator: torch.Generator, device) -> dict:
        """src (B, Ts); tgt_in (B, 11) = <bos> + date; y (B, 11) = date + <eos>."""
        s = self.sample(batch_size, generator)
        bos = torch.full((batch_size, 1), BOS, dtype=torch.long)
        eos = torch.full((batch_size, 1), EOS, dtype=torch.long)
        out = {"src": s["src"], "tgt_in": torch.cat([bos, s["tgt"]], 1),  # (B, 11)
               "y": torch.cat([s["tgt"], eos], 1), "fmt": s["fmt"]}        # (B, 11)
        return {k: v.to(device) for k, v in out.items()}

    def loss(self, model, batch: dict) -> torch.Tensor:
        logits = model(batch["src"], batch["tgt_in"]).logits              # (B, 11, V)
        return F.cross_entropy(logits.transpose(1, 2), batch["y"], ignore_index=IGNORE)

    # -- scoring -----------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, model, n: int = 2000, seed: int = 1234) -> dict:
        """Score n fresh examples in one teacher-forced pass each. exact: all 10 characters and
        the <eos> are the argmax, which is exactly when greedy generation writes the right date
        (each step's input is then the right prefix); char_acc: share of the 10 characters
        that are the argmax given the right characters before them."""
        gen = torch.Generator(device="cpu").manual_seed(seed)
        exact = chars = 0
        for start in range(0, n, 1000):
            b = self.batch(min(1000, n - start), gen, model.device)
            ok = model(b["src"], b["tgt_in"]).logits.argmax(-1) == b["y"]  # (B, 11)
            exact += int(ok.all(1).sum())
            chars += int(ok[:, :OUT_LEN].sum())
        return {"exact": exact / n, "char_acc": chars / (n * OUT_LEN)}

    def _generate(self, model, src, head_mask=None, steps=OUT_LEN + 1):
        """(B, steps) greedy output ids (PAD after an early stop)."""
        g = model.generate(src, BOS, steps, eos_id=EOS, head_mask=head_mask)
        out = g.tokens[:, 1:]                                             # (B, <= steps)
        return F.pad(out, (0, steps - out.size(1)), value=PAD)            # (B, steps)

    # -- a user's input ----------------------------------------------------------------------
    def parse(self, text: str) -> str:
        if not isinstance(text, str):
            raise ValueError("type a date as text, like '22 November 2026'")
        text = " ".join(text.split())
        if not text:
            raise ValueError("type a date, like '22 November 2026' or '22/11/2026'")
        if len(text) > self.max_input_len:
            raise ValueError(f"too long: at most {self.max_input_len} characters, "
                             f"got {len(text)}")
        self.vocab.check(text)
        return text

    def encode(self, texts: list[str], device=None) -> torch.Tensor:
        """Source strings -> (B, Ts) ids, right-padded with <pad>."""
        ids = [self.vocab.encode(self.parse(t)) for t in texts]
        src = torch.full((len(ids), max(len(i) for i in ids)), PAD, dtype=torch.long)
        for r, i in enumerate(ids):
            src[r, :len(i)] = torch.tensor(i)
        return src.to(device)

    def decode(self, ids) -> str:
        """Output ids (without <bos>) -> the text up to <eos>."""
        return self.tgt_vocab.decode(ids)

    @torch.no_grad()
    def predict(self, model, examples: list) -> list:
        if isinstance(examples, (str, bytes)) or not hasattr(examples, "__len__"):
            raise ValueError("predict() takes a list of date strings")
        if not examples:
            return []
        src = self.encode(list(examples), model.device)                  # (B, Ts)
        return [self.decode(row) for row in self._generate(model, src).tolist()]

    @torch.no_grad()
    def inspect(self, model, example, head_mask=None, return_scores: bool = False) -> Inspection:
        """Generate greedily, then run forward(source, <bos> + output) once for the attention.
        outputs (the character each decoder position writes), decoder_inputs, probs (T, V) of
        each written character, confidence (probability of each written one), expected (the ISO
        date, for a source in a known format)."""
        text = self.parse(example)
        src = self.encode([text], model.device)                          # (1, Ts)
        out_ids = self._generate(model, src, head_mask)[0].tolist()
        if EOS in out_ids:
            out_ids = out_ids[:out_ids.index(EOS) + 1]
        out_ids = [i for i in out_ids if i != PAD]
        tgt = torch.tensor([[BOS] + out_ids[:-1]], device=model.device)  # (1, Tt)
        out = model(src, tgt, return_attention=True, return_scores=return_scores,
                    head_mask=head_mask)
        probs = out.logits[0].softmax(-1).float().cpu()                  # (Tt, V)
        pairs = self._labels(src[0].tolist(), tgt[0].tolist(), out_ids)
        labels = {n: pairs[n] for n in out.attention}
        scores, masks = scores_and_masks(out, return_scores)
        return Inspection(
            prediction=self.decode(out_ids), attention=squeeze_batch(out.attention),
            labels=labels, scores=scores, masks=masks, tokens=self.vocab.labels(src[0]),
            expected=self.reference(text), outputs=self.tgt_vocab.labels(out_ids),
            decoder_inputs=self.tgt_vocab.labels(tgt[0]), probs=probs,
            confidence=probs.gather(1, torch.tensor(out_ids)[:, None])[:, 0].tolist(),
            classes=list(self.tgt_vocab.itos))

    def _labels(self, src_ids, tgt_ids, out_ids) -> dict:
        s = self.vocab.labels(src_ids)
        t_in, t_out = self.tgt_vocab.labels(tgt_ids), self.tgt_vocab.labels(out_ids)
        return LabelPairs(encoder=(s, s), self_attn=(t_in, t_in), cross_attn=(t_out, s))

    # -- step-by-step decoding --------------------------------------------------------------
    def answer(self, example) -> str | None:
        return self.reference(example)

    def reference(self, text: str) -> str | None:
        """The true ISO date of a source written in one of FORMATS (any case), else None."""
        text = self.parse(text)
        for fmt in FORMATS:
            parts = re.split(r"\{(\w+)\}", fmt)
            pattern = "".join(f"(?P<{p}>" + "|".join(map(re.escape, sorted(
                FIELDS[p][1], key=len, reverse=True))) + ")" if i % 2 else re.escape(p)
                for i, p in enumerate(parts))
            m = re.fullmatch(pattern, text, flags=re.IGNORECASE)
            if not m:
                continue
            value = {FIELDS[p][0]: [v.lower() for v in FIELDS[p][1]].index(m.group(p).lower())
                     for p in parts[1::2]}                   # column -> index into its strings
            year = (2000 if "YY" in parts else FIRST_YEAR) + value[2]
            try:
                return datetime.date(year, value[1] + 1, value[0] + 1).isoformat()
            except ValueError:                               # e.g. 31 February
                continue
        return None

    def decoding_setup(self, example) -> DecodeSetup:
        """Source: the date's characters; prompt: [[<bos>]]; reference: the ISO date + <eos>
        when the source is in a known format (else None: no teacher forcing)."""
        text = self.parse(example)
        src = self.encode([text])                                        # (1, Ts)
        iso = self.reference(text)
        return DecodeSetup(prompt=torch.tensor([[BOS]]), labels=self.tgt_vocab.labels,
                           eos_id=EOS, bos_id=BOS, max_new_tokens=OUT_LEN + 1, source=src,
                           source_labels=self.vocab.labels(src[0]),
                           target=None if iso is None else
                           torch.tensor([self.tgt_vocab.encode(iso) + [EOS]]))

    def probe(self, device) -> tuple:
        """The probe date with its true output, teacher-forced: (src (1, Ts), tgt_in (1, 11))."""
        src = self.encode([self.probe_example], device)                  # (1, Ts)
        y = self.tgt_vocab.encode(self.probe_iso) + [EOS]
        tgt = torch.tensor([[BOS] + y[:-1]], device=device)              # (1, 11)
        return (src, tgt), self._labels(src[0].tolist(), tgt[0].tolist(), y)


TASK = DatesTask()
