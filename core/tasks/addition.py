"""`addition`: "123+456=" -> "579" with a causal decoder (GPT-style).

What the model sees: both operands zero-padded to three digits and the sum written as four digits
with its least significant digit first, then <eos>: ``123+456=`` -> ``9750<eos>``. Writing the
ones digit first means every carry is known before it is needed, and fixed widths put the digits
to add at fixed distances, so a small model learns it in seconds; its attention shows heads that
align each answer digit with the two operand digits of the same place value. The user sees plain
"579": predict() and inspect().prediction undo the layout; the attention labels show the tokens
as the model saw them.
"""
from __future__ import annotations

import re

import torch

from ..decode import DecodeSetup
from .textseq import TextDecoderTask
from .vocab import EOS, Vocab

WIDTH = 3                       # digits of an operand (0..999)
ANSWER = WIDTH + 1              # digits of the sum (0..1998)
_SUM = re.compile(r"^(\d+)\+(\d+)=?$")


class AdditionTask(TextDecoderTask):
    name = "addition"
    title = "Add two numbers"
    description = ("Add two numbers from 0 to 999, written as text like 123+456. The model writes "
                   "the sum one digit at a time, ones digit first, as we add with a pencil.")
    bar = {"exact": 0.99}
    target = {"exact": 0.99}
    vocab = Vocab("0123456789+=")
    seq_len = 2 * WIDTH + 2 + ANSWER + 1           # "123+456=" + 4 digits + <eos> = 13
    reverse_answer = True
    config = dict(vocab_size=len(vocab), d_model=32, n_heads=4, n_layers=2, max_len=seq_len,
                  pos="learned")
    train_defaults = dict(steps=1500, lr=3e-3, batch_size=128, warmup=100)
    typical_steps = 660      # bench/train_estimate.py: 660, 720, 600 (seeds 0-2, Dec 2026)
    zoo = {"seed": 0, "steps": 2000, "preset": None, "overrides": {}}
    examples = ("123+456", "999+1", "58+67", "7+5", "505+495")
    max_input_len = 2 * WIDTH + 2
    probe_example = "358+467"

    def _operands(self, B: int, generator: torch.Generator) -> torch.Tensor:
        """(B, 2) operands: a digit count 1..3 drawn evenly, then a value with that many digits,
        so short numbers such as 7 are as common as long ones."""
        k = torch.randint(1, WIDTH + 1, (B, 2), generator=generator)      # (B, 2) digit counts
        lo = torch.where(k == 1, 0, 10 ** (k - 1))                        # (B, 2)
        span = 10 ** k - lo
        return lo + (torch.rand(B, 2, generator=generator) * span).long()  # (B, 2)

    def _digits(self, values: torch.Tensor, width: int) -> torch.Tensor:
        """(B,) ints -> (B, width) token ids, most significant digit first, zero-padded."""
        powers = 10 ** torch.arange(width - 1, -1, -1)                    # (width,)
        return (values[:, None] // powers) % 10 + self.vocab.stoi["0"]    # (B, width)

    def encode_pairs(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """(B,) operands -> (B, seq_len) full sequences: prompt, answer, <eos>."""
        B = a.size(0)
        plus = torch.full((B, 1), self.vocab.stoi["+"])
        eq = torch.full((B, 1), self.vocab.stoi["="])
        answer = self._digits(a + b, ANSWER)                              # (B, 4)
        if self.reverse_answer:
            answer = answer.flip(1)
        eos = torch.full((B, 1), EOS)
        return torch.cat([self._digits(a, WIDTH), plus, self._digits(b, WIDTH), eq, answer, eos],
                         dim=1)                                           # (B, 13)

    def sample(self, batch_size: int, generator: torch.Generator):
        ab = self._operands(batch_size, generator)                        # (B, 2)
        seq = self.encode_pairs(ab[:, 0], ab[:, 1])                       # (B, T)
        return seq, torch.full((batch_size,), 2 * WIDTH + 2)

    def parse(self, text: str) -> tuple[int, int]:
        if not isinstance(text, str):
            raise ValueError("enter a sum as text, like '123+456'")
        text = "".join(text.split())
        if not text:
            raise ValueError("enter a sum like '123+456'")
        bad = sorted({c for c in text if c not in "0123456789+="})
        if bad:
            raise ValueError(f"unsupported character(s) {' '.join(repr(c) for c in bad[:5])}: "
                             "use digits, '+' and an optional '='")
        m = _SUM.match(text)
        if not m:
            shown = repr(text) if len(text) <= 40 else repr(text[:37] + "...")
            raise ValueError(f"{shown} is not a sum: write two numbers joined by '+', "
                             "like '123+456'")
        for part in m.groups():
            if len(part) > WIDTH:
                shown = part if len(part) <= 12 else f"{part[:9]}... ({len(part)} digits)"
                raise ValueError(f"{shown} is too long: numbers go from 0 to 999 (at most "
                                 f"{WIDTH} digits)")
        return int(m.group(1)), int(m.group(2))

    def check_example(self, example):
        if isinstance(example, (tuple, list)) and len(example) == 2:
            example = f"{example[0]}+{example[1]}"
        return super().check_example(example)

    def prompt_ids(self, example: tuple[int, int]) -> list[int]:
        a, b = example
        return self.vocab.encode(f"{a:0{WIDTH}d}+{b:0{WIDTH}d}=")

    def answer_ids(self, text: str) -> list[int]:
        a, b = self.parse(text)
        digits = f"{a + b:0{ANSWER}d}"
        return self.vocab.encode(digits[::-1] if self.reverse_answer else digits) + [EOS]

    def answer_from_ids(self, ids: list[int]) -> str:
        text = self.vocab.decode(ids)
        if self.reverse_answer:
            text = text[::-1]
        if text.isdigit():
            return str(int(text))          # drop the zero padding: "0579" -> "579"
        return text

    def answer(self, example) -> str:
        a, b = self.check_example(example)
        return str(a + b)

    def decoding_setup(self, example) -> DecodeSetup:
        """Prompt: "123+456=" (zero-padded); reference: the sum as the model writes it (ones
        digit first, four digits), then <eos>."""
        a, b = self.check_example(example)
        prompt = self.prompt_ids((a, b))
        return DecodeSetup(prompt=torch.tensor([prompt]), labels=self.vocab.labels, eos_id=EOS,
                           max_new_tokens=self.seq_len - len(prompt),
                           target=torch.tensor([self.answer_ids(f"{a}+{b}")]))


TASK = AdditionTask()
