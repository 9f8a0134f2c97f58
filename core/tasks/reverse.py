"""`reverse`: read a digit sequence, write it backwards; a decoder-only (GPT-style) model.

One example is one token sequence, ``3 1 4 1 5 > 5 1 4 1 3 <eos>``: the digits, the separator
``>``, the digits reversed, end of sequence. To write the k-th answer digit the model must look
back at the k-th digit from the end of the prompt, so its attention draws a clean anti-diagonal.
"""
from __future__ import annotations

import torch

from ..decode import DecodeSetup
from .textseq import TextDecoderTask
from .vocab import EOS, PAD, Vocab

MAX_DIGITS = 16
SEP = ">"


class ReverseTask(TextDecoderTask):
    name = "reverse"
    title = "Reverse a sequence"
    description = ("Read up to 16 digits and write them in reverse order. The model must find, "
                   "for each digit it writes, the matching digit counted from the end.")
    bar = {"exact": 0.99}
    target = {"exact": 0.99}
    vocab = Vocab("0123456789" + SEP)
    seq_len = 2 * MAX_DIGITS + 2                  # digits, '>', digits, <eos>
    # d_ff 2·d_model (0.74x the step cost), batch 64 at lr 1e-2 over 1000 steps: seeds 0-2
    # reach 99% exact at 650-675 steps (evaluated every 25), 0.34x the old cost to the target
    # (batch 128, lr 3e-3 over 1500 steps: 900-1000 steps).
    config = dict(vocab_size=len(vocab), d_model=32, n_heads=2, n_layers=2, d_ff=64,
                  max_len=seq_len, pos="learned")
    train_defaults = dict(steps=1000, lr=1e-2, batch_size=64, warmup=50, eval_every=25,
                          eval_n=256, confirm_n=1000)
    typical_steps = 700      # bench/train_estimate.py: 700, 700, 625 (seeds 0-2, Dec 2026)
    zoo = {"seed": 0, "steps": 2000, "preset": None, "overrides": {"d_ff": 0},  # as shipped:
           "batch_size": 128}                                    # d_ff 4·d_model, batch 128
    examples = ("31415", "1234567890", "8675309", "2718281828459045")
    max_input_len = MAX_DIGITS
    probe_example = "31415926"

    def sample(self, batch_size: int, generator: torch.Generator):
        B, N, T = batch_size, MAX_DIGITS, self.seq_len
        L = torch.randint(1, N + 1, (B, 1), generator=generator)          # (B, 1) lengths
        digits = torch.randint(0, 10, (B, N), generator=generator) + self.vocab.stoi["0"]
        i = torch.arange(T)[None, :]                                      # (1, T)
        src = torch.where(i < L, i, 2 * L - i).clamp(0, N - 1)            # (B, T) digit index
        seq = digits.gather(1, src)                                       # (B, T)
        seq = torch.where(i == L, self.vocab.stoi[SEP], seq)
        seq = torch.where(i == 2 * L + 1, EOS, seq)
        seq = torch.where(i > 2 * L + 1, PAD, seq)                        # (B, T)
        return seq, L[:, 0] + 1                                           # prompt: digits + '>'

    def parse(self, text: str) -> str:
        if not isinstance(text, str):
            raise ValueError("enter digits as text, like '31415'")
        text = "".join(text.split())
        if text.endswith(SEP):
            text = text[:-1]
        if not text:
            raise ValueError("enter at least one digit, like '31415'")
        bad = sorted({c for c in text if not c.isascii() or not c.isdigit()})
        if bad:
            raise ValueError(f"only the digits 0-9 can be reversed, not "
                             f"{' '.join(repr(c) for c in bad[:5])}")
        if len(text) > MAX_DIGITS:
            raise ValueError(f"too long: at most {MAX_DIGITS} digits, got {len(text)}")
        return text

    def prompt_ids(self, example: str) -> list[int]:
        return self.vocab.encode(example + SEP)

    def answer_ids(self, text: str) -> list[int]:
        return self.vocab.encode(self.parse(text)[::-1]) + [EOS]

    def answer_from_ids(self, ids: list[int]) -> str:
        return self.vocab.decode(ids)

    def answer(self, example) -> str:
        return self.check_example(example)[::-1]

    def decoding_setup(self, example) -> DecodeSetup:
        """Prompt: the digits and '>'; reference: the digits reversed, then <eos>."""
        example = self.check_example(example)
        prompt = self.prompt_ids(example)
        return DecodeSetup(prompt=torch.tensor([prompt]), labels=self.vocab.labels, eos_id=EOS,
                           max_new_tokens=self.seq_len - len(prompt),
                           target=torch.tensor([self.answer_ids(example)]))


TASK = ReverseTask()
