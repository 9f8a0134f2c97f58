"""Shared machinery of the decoder-only text tasks (reverse, addition).

A task of this family is one token sequence per example, ``prompt + answer + <eos>``, right-padded
with <pad>. The model is trained as a language model on the answer only: the loss skips every
position whose next token is still part of the prompt, and the padding after <eos>.

Subclasses provide the vocabulary, the sequence layout and the conversion between a user's input
and tokens:

- ``sample(batch_size, generator) -> (tokens (B, T) long, prompt_len (B,) long)`` on the CPU,
  vectorised (``tokens`` holds prompt, answer, <eos>, then <pad>; T = ``seq_len`` for every batch);
- ``parse(text)`` -> the natural example, ``prompt_ids(example)`` -> the prompt's token ids;
- ``answer_from_ids(ids)`` -> the natural answer from the generated ids (<eos> excluded).
"""
from __future__ import annotations

import torch

from .base import IGNORE, Inspection, LabelPairs, Task, scores_and_masks, squeeze_batch
from .vocab import EOS, PAD, Vocab


class TextDecoderTask(Task):
    """Base of the decoder-only text tasks. Metrics: exact (whole answer right), token_acc."""

    kind = "decoder"
    metrics = ("exact", "token_acc")
    vocab: Vocab = Vocab("0123456789")
    seq_len = 16                     # tokens of the longest full sequence (prompt + answer + eos)
    probe_example = ""

    # -- to implement ------------------------------------------------------------------------
    def sample(self, batch_size: int, generator: torch.Generator):
        raise NotImplementedError

    def prompt_ids(self, example) -> list[int]:
        raise NotImplementedError

    def answer_from_ids(self, ids: list[int]):
        raise NotImplementedError

    def check_example(self, example):
        """Validate one example of predict(); strings go through parse()."""
        if not isinstance(example, str):
            raise ValueError(f"expected a string like {self.examples[0]!r}, got "
                             f"{type(example).__name__}")
        return self.parse(example)

    # -- data --------------------------------------------------------------------------------
    def batch(self, batch_size: int, generator: torch.Generator, device) -> dict:
        seq, plen = self.sample(batch_size, generator)                    # (B, T), (B,)
        return {k: v.to(device) for k, v in self.teacher_forcing(seq, plen).items()}

    @staticmethod
    def teacher_forcing(seq: torch.Tensor, plen: torch.Tensor) -> dict:
        """x = seq[:, :-1], y = seq[:, 1:] with the prompt targets and the padding IGNOREd."""
        x, y = seq[:, :-1], seq[:, 1:].clone()                            # (B, T-1) each
        pos = torch.arange(1, seq.size(1))[None, :]                       # (1, T-1) target index
        y[(pos < plen[:, None]) | (y == PAD)] = IGNORE
        return {"x": x, "y": y, "prompt_len": plen}

    # -- scoring -----------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, model, n: int = 2000, seed: int = 1234) -> dict:
        """Teacher-forced scoring of n fresh examples. `exact` (every answer token and the <eos>
        are the argmax) equals greedy generation's exact match: greedy decoding reproduces the
        answer if and only if each of its tokens is the argmax given the right prefix."""
        gen = torch.Generator(device="cpu").manual_seed(seed)
        device = model.device
        right = total = exact = 0
        for start in range(0, n, 1000):
            b = self.batch(min(1000, n - start), gen, device)
            logits = model(b["x"]).logits                                 # (B, T-1, V)
            scored = b["y"] != IGNORE                                     # (B, T-1)
            ok = (logits.argmax(-1) == b["y"]) & scored                   # (B, T-1)
            right += int(ok.sum())
            total += int(scored.sum())
            exact += int((ok | ~scored).all(-1).sum())
        return {"exact": exact / n, "token_acc": right / max(1, total)}

    # -- a user's input ----------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, model, prompts: list[list[int]], head_mask=None):
        """Greedy decoding of prompts of different lengths at once -> (tokens (B, T), prompt
        lengths (B,), end (B,) one past the last generated token). Right padding is safe: a
        causal model's output at t sees only tokens <= t, all real."""
        device = model.device
        T = min(self.seq_len, model.cfg.max_len)
        if max(len(p) for p in prompts) >= T:
            raise ValueError(f"the input is too long for this model ({T} tokens at most)")
        buf = torch.full((len(prompts), T), PAD, dtype=torch.long)        # (B, T)
        for i, p in enumerate(prompts):
            buf[i, :len(p)] = torch.tensor(p, dtype=torch.long)
        buf = buf.to(device)
        plen = torch.tensor([len(p) for p in prompts], device=device)     # (B,)
        end = torch.full_like(plen, T)                                    # (B,)
        done = torch.zeros_like(plen, dtype=torch.bool)
        for t in range(int(plen.min()) - 1, T - 1):
            nxt = model(buf[:, :t + 1], head_mask=head_mask).logits[:, t].argmax(-1)  # (B,)
            write = (plen <= t + 1) & ~done
            buf[:, t + 1] = torch.where(write, nxt, buf[:, t + 1])
            stop = write & (nxt == EOS)
            end = torch.where(stop, torch.full_like(end, t + 2), end)
            done |= stop
            if bool(done.all()):
                break
        return buf, plen, end

    def predict(self, model, examples: list) -> list:
        if isinstance(examples, (str, bytes)) or not hasattr(examples, "__len__"):
            raise ValueError("predict() takes a list of examples")
        if not examples:
            return []
        prompts = [self.prompt_ids(self.check_example(e)) for e in examples]
        buf, plen, end = self.generate(model, prompts)
        rows = buf.tolist()
        return [self.answer_from_ids([i for i in rows[r][int(plen[r]):int(end[r])] if i != EOS])
                for r in range(len(rows))]

    def inspect(self, model, example, head_mask=None, return_scores: bool = False) -> Inspection:
        """Generate the answer, then run the whole sequence (prompt + answer + <eos>) once so the
        attention covers every token: prompt_len, probs (T, V) next-token probabilities."""
        example = self.check_example(example)
        buf, plen, end = self.generate(model, [self.prompt_ids(example)], head_mask)
        seq = buf[:, :int(end[0])]                                        # (1, T)
        with torch.no_grad():
            out = model(seq, return_attention=True, return_scores=return_scores,
                        head_mask=head_mask)
        ids = seq[0].tolist()
        p = int(plen[0])
        labels = self.vocab.labels(ids)
        scores, masks = scores_and_masks(out, return_scores)
        return Inspection(
            prediction=self.answer_from_ids([i for i in ids[p:] if i != EOS]),
            attention=squeeze_batch(out.attention),
            labels={name: (labels, labels) for name in out.attention},
            scores=scores, masks=masks, tokens=labels, expected=self.answer(example),
            prompt_len=p, probs=out.logits[0].softmax(-1).float().cpu(),
            classes=list(self.vocab.itos))

    def probe(self, device) -> tuple:
        """The probe example's true full sequence (prompt + answer + <eos>) as the input."""
        ids = self.prompt_ids(self.parse(self.probe_example)) + self.answer_ids(self.probe_example)
        seq = torch.tensor([ids], dtype=torch.long, device=device)        # (1, T)
        labels = self.vocab.labels(ids)
        return (seq,), LabelPairs((labels, labels))

    def answer_ids(self, text: str) -> list[int]:
        """The true answer's token ids and <eos> for an input text (used by probe())."""
        raise NotImplementedError
