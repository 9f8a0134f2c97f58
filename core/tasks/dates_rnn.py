"""`dates_rnn`: the dates task (human-written date -> ISO) with a GRU encoder-decoder.

The formats, source vocabulary, input checks, inspection and step-by-step decoding are the
dates task's own (core/tasks/dates.py); the model is core/models/rnn.py, with Bahdanau
(additive) attention, or with `attention=False` the fixed-context baseline whose whole view of
the source is the encoder's final states.

One date is about 27 bits however it is written, and a GRU's final state holds that easily at
any length (filler words around the date do not hurt it: it learns to skip them). What the
fixed vector cannot do is hold more and more: so half the sources list two or three dates
("22 nov 2026 and 5/3/1999"), translated in order and separated by spaces ("2026-11-22
1999-03-05"). The longer the source, the more the one vector must carry; attention reads each
date where it is. `accuracy_by_length` measures exactly that, on fresh examples.
"""
from __future__ import annotations

from dataclasses import replace

import torch

from .dates import TASK as DATES
from .dates import DatesTask
from .vocab import BOS, EOS, PAD, Vocab

MAX_DATES = 3
N_DATES_PROBS = (0.5, 0.25, 0.25)     # one, two or three dates in a source
POOL = 8          # batches(): each number of dates' examples drawn 8 batches at a time
JOIN = " and "                        # between source dates; a space between output dates
ISO_LEN = 10
DATE_LEN = 31                         # room for the longest date the dates task writes (29 now)


class DatesRNNTask(DatesTask):
    name = "dates_rnn"
    title = "Translate dates with an RNN"
    description = ("The dates task with the model attention was invented for: a GRU "
                   "encoder-decoder with Bahdanau (additive) attention. A source may list up to "
                   "three dates (\"22 nov 2026 and 5/3/1999\"); without attention the decoder "
                   "must get them all from one fixed vector.")
    kind = "rnn"
    tgt_vocab = Vocab("0123456789- ")
    bar = {"exact": 0.99}
    target = {"exact": 0.99}
    max_input_len = MAX_DATES * DATE_LEN + (MAX_DATES - 1) * len(JOIN)
    max_output_len = MAX_DATES * (ISO_LEN + 1)    # the dates, their spaces and <eos>
    config = dict(src_vocab_size=len(DatesTask.vocab), tgt_vocab_size=len(tgt_vocab),
                  d_emb=32, d_hidden=48, d_attn=32, max_len=max_input_len)
    # issue 14: a live run as fast as this task allows on a CPU. A 3-date step costs ~4x a
    # 1-date one (33 decoder steps, each attending over a source 3x as long), so the GRU is
    # small (d_hidden 48, d_attn 32: ~half the step of 64/64) and the batch 64 with a higher lr
    # (~the same steps to the bar as batch 128 at 5e-3, each half the price).
    batch_help = ("Sources per batch. Every source of a batch lists the same number of dates "
                  "and is about as long as the others: each is drawn fresh, eight batches' "
                  "worth at a time, and cut into batches by length.")
    train_defaults = dict(steps=1000, lr=1e-2, batch_size=64, warmup=50)
    typical_steps = 480      # bench/train_estimate.py with batches() of like lengths: 480,
                             # 520, 480 (seeds 0-2), real time 1.16-1.24x the estimate at 440;
                             # bench/train_sweep.py, one thread, seeds 0-11: 360, 440, 480,
                             # 680, 560, 520, 720, missed, 440, 520, 600, 640 (the earlier
                             # batches: 480, 320, 600, 720, 720, 480, missed, 840, 480, 440,
                             # 440, 560)
    zoo = {"seed": 0, "steps": 1500, "preset": None, "overrides": {}}
    examples = DatesTask.examples + ("22 nov 2026 and 5/3/1999",
                                     "July 4, 1985 and 1 May 2000 and 2026-11-22")

    def small_config(self, layers: int = 1):
        """A tiny GRU pair (a GRU has no layers of attention to vary: `layers` is ignored)."""
        return self.make_config(d_emb=8, d_hidden=16, d_attn=16)

    # -- data --------------------------------------------------------------------------------
    def examples_of(self, n_dates: int, batch_size: int, generator: torch.Generator):
        """batch_size sources of n_dates dates each -> (source ids (B, Ts) right-padded, target
        ids (B, To)). The dates' ids are joined as ids (no round trip through text)."""
        parts = [super(DatesRNNTask, self).sample(batch_size, generator) for _ in range(n_dates)]
        space = torch.full((batch_size, 1), self.tgt_vocab.stoi[" "])
        join = torch.tensor(self.vocab.encode(JOIN)).expand(batch_size, -1)  # (B, J)
        src = torch.cat([x for p in parts for x in (join, p["src"])][1:], 1)  # (B, S) gaps inside
        real = src != PAD                                                 # (B, S)
        order = torch.sort((~real).int(), dim=1, stable=True).indices    # real ids first, in order
        src = src.gather(1, order)[:, :int(real.sum(1).max())]           # (B, Ts)
        pieces = [x for p in parts for x in (space, p["tgt"])][1:]
        return src, torch.cat(pieces, 1)                                   # (B, To)

    def batch(self, batch_size: int, generator: torch.Generator, device,
              n_dates: int | None = None) -> dict:
        """src (B, Ts); tgt_in (B, To + 1) = <bos> + dates; y (B, To + 1) = dates + <eos>, where
        To = 11 n_dates - 1. Every row of a batch lists n_dates dates (drawn per batch when None):
        a batch of single dates then costs what the dates task's does, not a three-date one's."""
        if n_dates is None:
            n_dates = 1 + int(torch.multinomial(torch.tensor(N_DATES_PROBS), 1,
                                                generator=generator))
        return _as_batch(*self.examples_of(n_dates, batch_size, generator), device)

    def batches(self, batch_size: int, generator: torch.Generator, device):
        """A run's training batches: batch()'s (the number of dates drawn per batch, every
        example drawn fresh and used once), of sources of about the same length. For each
        number of dates, POOL batches' examples are drawn at once, sorted by source length, cut
        into POOL batches and served in random order: a batch pads to less, so its encoder
        takes fewer steps and its attention reads fewer columns (issue 14: a step 0.70x for one
        date, 0.71x for two, 0.85x for three; steps to the target as many as before)."""
        ready = {k: [] for k in range(1, MAX_DATES + 1)}   # n_dates -> batches not served yet
        probs = torch.tensor(N_DATES_PROBS)
        while True:
            k = 1 + int(torch.multinomial(probs, 1, generator=generator))
            if not ready[k]:
                src, tgt = self.examples_of(k, batch_size * POOL, generator)  # (P, S), (P, To)
                by_length = torch.argsort((src != PAD).sum(1), stable=True)  # (P,)
                cuts = by_length.split(batch_size)                        # POOL x (B,)
                order = torch.randperm(len(cuts), generator=generator).tolist()
                ready[k] = [_as_batch(src[cuts[i]], tgt[cuts[i]], device) for i in order]
            yield ready[k].pop()

    def mixed_batches(self, n: int, generator: torch.Generator, device, size: int = 500):
        """Batches of n fresh examples in all, each number of dates in its share of n."""
        counts = [round(n * p) for p in N_DATES_PROBS]
        counts[0] += n - sum(counts)
        for k, count in enumerate(counts, start=1):
            for start in range(0, count, size):
                yield self.batch(min(size, count - start), generator, device, n_dates=k)

    # -- scoring -----------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, model, n: int = 2000, seed: int = 1234) -> dict:
        """exact: every output character and the <eos> is the argmax given the right ones
        before it (= greedy decoding writes every date right); char_acc: share of the output
        characters (not <eos>) that are. One, two and three dates in their shares of n."""
        exact = chars = total = 0
        for _, ok in _teacher_forced(model, self, n, seed):
            exact += int(ok.all(1).sum())
            chars += int(ok[:, :-1].sum())
            total += ok[:, :-1].numel()
        return {"exact": exact / n, "char_acc": chars / total}

    def _generate(self, model, src, head_mask=None, steps=None):
        return super()._generate(model, src, head_mask, steps or self.max_output_len)

    def decoding_setup(self, example):
        return replace(super().decoding_setup(example), max_new_tokens=self.max_output_len)


def _as_batch(src, tgt, device) -> dict:
    """Sources (B, S) right-padded and targets (B, To) -> batch() dict on `device`, the sources
    cut to their longest row (B, Ts)."""
    B = src.size(0)
    src = src[:, :max(1, int((src != PAD).sum(1).max()))]                 # (B, Ts)
    eos = torch.full((B, 1), EOS)
    out = {"src": src, "y": torch.cat([tgt, eos], 1),                     # (B, To + 1)
           "tgt_in": torch.cat([torch.full((B, 1), BOS), tgt], 1)}        # (B, To + 1)
    return {key: v.to(device) for key, v in out.items()}


def _teacher_forced(model, task: DatesRNNTask, n: int, seed: int):
    """(batch, argmax hits (B, To + 1)) over n fresh examples, teacher-forced in one pass each."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    for b in task.mixed_batches(n, gen, model.device):
        yield b, model(b["src"], b["tgt_in"]).logits.argmax(-1) == b["y"]   # (B, To + 1)


@torch.no_grad()
def accuracy_by_length(model, task: DatesRNNTask, edges=(0, 20, 40, 60, 80, 104),
                       n: int = 2000, seed: int = 4321) -> dict:
    """Exact-match share by source length in characters, on n fresh examples of the task
    (its mix of one, two and three dates): {(lo, hi): (share, count)} for lo <= length < hi,
    buckets without an example left out. Exact as in evaluate(): greedy decoding is right."""
    hits, lengths = [], []
    for b, ok in _teacher_forced(model, task, n, seed):
        hits.append(ok.all(1).cpu())                                      # (B,)
        lengths.append((b["src"] != PAD).sum(1).cpu())                    # (B,)
    hit, length = torch.cat(hits), torch.cat(lengths)                     # (n,), (n,)
    out = {}
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (length >= lo) & (length < hi)                           # (n,)
        if inside.any():
            out[(lo, hi)] = (float(hit[inside].float().mean()), int(inside.sum()))
    return out


@torch.no_grad()
def accuracy_by_dates(model, task: DatesRNNTask, n_each: int = 500, seed: int = 4321,
                      size: int = 250) -> dict:
    """Exact-match share by the number of dates in the source: {k: (share, n_each)} for
    k = 1..MAX_DATES, each on n_each fresh examples of k dates (exact as in evaluate())."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    out = {}
    for k in range(1, MAX_DATES + 1):
        hits = 0
        for start in range(0, n_each, size):
            b = task.batch(min(size, n_each - start), gen, model.device, n_dates=k)
            ok = model(b["src"], b["tgt_in"]).logits.argmax(-1) == b["y"]   # (B, To + 1)
            hits += int(ok.all(1).sum())
        out[k] = (hits / n_each, n_each)
    return out


def compare_alignment(rnn, transformer, text: str) -> dict:
    """The GRU's alignment and the transformer's cross-attention for the same source.

    rnn: a dates_rnn model; transformer: a dates (seq2seq) model. Of the transformer's
    cross-attention heads the most focused one is chosen: the highest mean, over the output
    characters, of the largest weight in the row (1.0 = every row on a single character).
    -> {"rnn": Inspection, "transformer": Inspection, "name": that head's module, "head": its
    index, "focus": {(module, head): mean row maximum} of every cross-attention head}.
    """
    ins_rnn = TASK.inspect(rnn, text)
    ins_tf = DATES.inspect(transformer, text)
    focus = {(name, h): float(w[h].max(-1).values.mean())
             for name, w in ins_tf.attention.items() if name.endswith("cross_attn")
             for h in range(w.size(0))}                                   # w (H, Tq, Ts)
    if not focus:
        raise ValueError("the transformer has no cross-attention")
    name, head = max(focus, key=focus.get)
    return {"rnn": ins_rnn, "transformer": ins_tf, "name": name, "head": head, "focus": focus}


TASK = DatesRNNTask()
