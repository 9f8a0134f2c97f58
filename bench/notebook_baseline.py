"""The lecture notebook's sorting transformer, rebuilt here as the yardstick for our training speed.

    python bench/notebook_baseline.py                    # 5000 steps, seed 0, the best device
    python bench/notebook_baseline.py --steps 10000 --blocks 3 --threads 2
    python bench/notebook_baseline.py --seconds 60       # or a wall-time budget

What the notebook does, and so what this does:
- data: sequences of 0-19 digits (1-9, uniform), zero-padded to the longest in the batch; the
  target is the same digits sorted. Inputs are one-hot over 10 classes (0 = padding) plus a FIXED
  random positional embedding (uniform in [0, 1), one 10-vector per position, drawn once);
- model: a linear map of those 10 numbers to 32, then three post-LN blocks of 16-head attention
  (torch's nn.MultiheadAttention, no mask: padding is attended) and a 32-128-32 ReLU
  feed-forward, with ONE LayerNorm per block used after both sub-layers; a linear map to 10
  classes and a softmax;
- loss: cross-entropy applied to those softmax outputs (so softmax twice), padding included;
- optimiser: Adam at its default learning rate (1e-3), batch size 32.
Scored as the notebook scores: token accuracy over the real (non-zero) target positions and the
share of sequences whose every real position is right, on 2000 fresh sequences.

The batches are drawn with vectorised torch code (the notebook builds them from per-sample
Python lists, ~0.6 ms a batch slower), so this runs, if anything, a little faster than the
notebook itself. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from core.device import describe_device, get_device  # noqa: E402

MAX_LEN, CLASSES, HIDDEN, HEADS, BATCH, LR = 20, 10, 32, 16, 32, 1e-3


def notebook_batch(batch_size: int, gen: torch.Generator, pos_table: torch.Tensor):
    """(x (B, T, 10) one-hot + positions, y (B, T) sorted digits with 0 on padding) on the CPU.
    T is the longest of the B lengths drawn from 0..19 (at least 1, so a batch is never empty)."""
    lengths = torch.randint(0, MAX_LEN, (batch_size,), generator=gen)        # (B,)
    T = max(1, int(lengths.max()))
    digits = torch.randint(1, CLASSES, (batch_size, T), generator=gen)       # (B, T)
    pad = torch.arange(T)[None, :] >= lengths[:, None]                       # (B, T)
    x_ids = digits.masked_fill(pad, 0)
    y = digits.masked_fill(pad, CLASSES).sort(dim=1).values.masked_fill(pad, 0)  # pad sorts last
    x = F.one_hot(x_ids, CLASSES).float() + pos_table[:T]                    # (B, T, 10)
    return x, y


class NotebookBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(HIDDEN, HEADS, batch_first=True)
        self.up, self.down = nn.Linear(HIDDEN, 4 * HIDDEN), nn.Linear(4 * HIDDEN, HIDDEN)
        self.norm = nn.LayerNorm(HIDDEN)          # one norm, applied after both sub-layers

    def forward(self, x):
        h = self.norm(x + self.attn(x, x, x, need_weights=False)[0])         # (B, T, 32)
        return self.norm(h + self.down(F.relu(self.up(h))))                  # (B, T, 32)


class NotebookSorter(nn.Module):
    def __init__(self, blocks: int = 3):
        super().__init__()
        self.embed = nn.Linear(CLASSES, HIDDEN)
        self.blocks = nn.Sequential(*[NotebookBlock() for _ in range(blocks)])
        self.out = nn.Linear(HIDDEN, CLASSES)

    def forward(self, x):                                                    # x (B, T, 10)
        return self.out(self.blocks(self.embed(x))).softmax(-1)              # (B, T, 10) probs


@torch.no_grad()
def evaluate(model, pos_table, n: int = 2000, seed: int = 1234, device="cpu") -> dict:
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    right = real_n = exact = 0
    for start in range(0, n, 500):
        x, y = notebook_batch(min(500, n - start), gen, pos_table)
        x, y = x.to(device), y.to(device)
        real = y != 0                                                        # (b, T)
        ok = (model(x).argmax(-1) == y) & real                               # (b, T)
        right += int(ok.sum())
        real_n += int(real.sum())
        exact += int((ok | ~real).all(1).sum())
    model.train()
    return {"token_acc": right / max(1, real_n), "exact": exact / n}


def train_notebook(steps: int = 0, seconds: float = 0.0, blocks: int = 3, seed: int = 0,
                   device=None, eval_n: int = 2000) -> dict:
    """Train for `steps` optimizer steps or `seconds` of wall time (whichever is given; both:
    whichever ends first) and score on eval_n fresh sequences. Times count the steps only."""
    if not steps and not seconds:
        raise ValueError("give steps or seconds")
    device = get_device(device)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    pos_table = torch.rand(MAX_LEN, CLASSES, generator=gen)                 # (20, 10) fixed
    model = NotebookSorter(blocks).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    done, t0, c0 = 0, time.perf_counter(), time.process_time()
    while (not steps or done < steps) and (not seconds or time.perf_counter() - t0 < seconds):
        x, y = notebook_batch(BATCH, gen, pos_table)
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x).transpose(1, 2), y)                 # softmax twice
        opt.zero_grad()
        loss.backward()
        opt.step()
        done += 1
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    metrics = evaluate(model, pos_table, eval_n, seed=seed + 1_000_000, device=device)
    return {"blocks": blocks, "steps": done, "train_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2), "steps_per_s": round(done / wall, 1),
            "device": describe_device(device), **{k: round(v, 4) for k, v in metrics.items()}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=0.0)
    ap.add_argument("--blocks", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best there is)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    print(json.dumps(train_notebook(a.steps or (0 if a.seconds else 5000), a.seconds, a.blocks,
                                    a.seed, a.device)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
