"""`sine`: forecast a noisy sum of two sine waves with a causal decoder over real values.

Each example is x(t) = a1·sin(2πt/p1 + φ1) + a2·sin(2πt/p2 + φ2) + noise for t = 0..119, with
periods p1, p2 in 8..40 steps (real numbers, so the sum rarely repeats exactly), amplitudes in
0.3..1, phases in 0..2π and Gaussian noise of standard deviation 0.05..0.1 (one per example).
The model sees the first 100 values and forecasts the next 20, one step at a time, feeding each
forecast back in. Training is teacher-forced: predict x[t+1] (and the few values after it)
from x[0..t] for every t from 64 on, the earlier steps serving as context (mean squared error).

The baseline "repeat the last period" is estimated from the same 100 inputs: the period P is the
lag (2..50) at which the inputs best repeat themselves (smallest mean squared difference between
x[t] and x[t-P], counting lags after the autocorrelation first turns negative), and the forecast
repeats the last P input values. On a clean sine with a whole-number period it
is exact; on the sum of two waves it drifts, which is what the transformer must beat.
"""
from __future__ import annotations

import math
import re

import torch
import torch.nn.functional as F

from ..decode import DecodeSetup
from .base import (FixedExamples, Forecast, Inspection, LabelPairs, Task, scores_and_masks,
                   squeeze_batch)

N_IN, N_OUT = 100, 20
SEQ_LEN = N_IN + N_OUT
PERIODS, AMPLITUDES, NOISE = (8.0, 40.0), (0.3, 1.0), (0.05, 0.1)
MAX_ABS = 1e3                              # largest |value| a user may type
MAX_CHARS = 6000                           # longest text accepted by parse()


def make_series(n: int, generator: torch.Generator, length: int = SEQ_LEN) -> torch.Tensor:
    """(n, length) series drawn with `generator`: two sines plus Gaussian noise, vectorised."""
    def uniform(lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(*shape, generator=generator)

    amp = uniform(*AMPLITUDES, n, 2, 1)                                   # (n, 2, 1)
    period = uniform(*PERIODS, n, 2, 1)                                   # (n, 2, 1)
    phase = uniform(0.0, 2 * math.pi, n, 2, 1)                            # (n, 2, 1)
    sd = uniform(*NOISE, n, 1)                                            # (n, 1)
    t = torch.arange(length, dtype=torch.float32)                         # (T,)
    waves = amp * torch.sin(2 * math.pi * t / period + phase)             # (n, 2, T)
    return waves.sum(1) + sd * torch.randn(n, length, generator=generator)  # (n, T)


def estimate_period(x: torch.Tensor, max_lag: int | None = None) -> torch.Tensor:
    """(B, N) -> (B,) long: the lag P (2..N/2) at which the series best repeats itself.

    P minimises the mean squared difference between x[t] and x[t-P], among the lags after the
    autocorrelation first turns negative (a smooth curve differs little from itself one step
    later, which is no period); ties go to the shorter lag.
    """
    B, N = x.shape
    max_lag = max_lag or N // 2
    x = x.double()
    lags = torch.arange(max_lag + 1)                                      # (L + 1,)
    spec = torch.fft.rfft(x, n=2 * N)                                     # (B, N + 1)
    ac = torch.fft.irfft(spec.abs() ** 2, n=2 * N)[:, :max_lag + 1]       # (B, L + 1) Σ x_t x_t+L
    sq = torch.cat([x.new_zeros(B, 1), (x ** 2).cumsum(1)], 1)           # (B, N + 1) Σ_{t<k} x_t²
    head, tail = sq[:, N - lags], sq[:, -1:] - sq[:, lags]                # (B, L + 1) each
    msd = (head + tail - 2 * ac) / (N - lags)                             # (B, L + 1)
    xc = x - x.mean(1, keepdim=True)                                      # (B, N)
    acf = torch.fft.irfft(torch.fft.rfft(xc, n=2 * N).abs() ** 2, n=2 * N)[:, :max_lag + 1]
    negative = (acf < 0) & (lags > 0)                                     # (B, L + 1)
    first_neg = torch.where(negative.any(1), negative.float().argmax(1),
                            torch.full((B,), max_lag))                    # (B,)
    allowed = (lags[None, :] >= first_neg[:, None]) & (lags > 1)          # (B, L + 1)
    msd = msd.masked_fill(~allowed, float("inf"))
    best = msd.min(1, keepdim=True).values                                # (B, 1)
    return (msd <= best + 1e-9).float().argmax(1)                         # (B,) first near-best


def repeat_last_period(x: torch.Tensor, n: int) -> tuple:
    """Baseline forecast: (B, N) inputs -> ((B, n) forecast, (B,) period used)."""
    N = x.size(1)
    period = estimate_period(x)                                           # (B,)
    k = torch.arange(n)[None, :]                                          # (1, n)
    idx = N - period[:, None] + k % period[:, None]                       # (B, n)
    return x.gather(1, idx), period


class SineTask(Task):
    name = "sine"
    title = "Forecast a sine mixture"
    description = ("Continue a noisy sum of two sine waves: the model reads 100 values and "
                   "forecasts the next 20, one step at a time, compared with repeating the "
                   "last period.")
    kind = "decoder"
    metrics = ("mse", "baseline_mse", "ratio")
    lower_is_better = ("mse", "baseline_mse", "ratio")
    bar = {"ratio": 0.5}
    # A live run stops at 0.45, not at the bar: the ratio of a young model swings between
    # samples of series (a few forecasts that drift away dominate both errors), and runs that
    # stopped at 0.5 (or 0.48) on 256 + 1000 series scored 0.50-0.53 on the final 2000
    # (seeds 0 and 3 of 0-5). Stopping at 0.45, seeds 0-5 scored 0.30-0.38 there.
    target = {"ratio": 0.45}
    # RoPE and extra outputs (output k at step t learns x[t+1+k]; the forecast feeds back
    # output 0) were what beat the baseline clearly in the measured sweeps: learned positions
    # with one output stayed at 1.5x the baseline's error. Seed 1, lr 1e-2: 5 outputs reached
    # ratio 0.5 in 800 steps; 1 output was at 0.71 after 900; 20 at 0.67 after 900 (lr 6e-3).
    # in_window 48 (issue 14): each step is embedded from its last 48 values (longer than the
    # slowest period, 40), so one layer of attention can match the current stretch of the
    # wave against earlier ones and read what followed them. Steps to ratio 0.5, seeds 0-2
    # (bench/train_sweep.py, Dec 2026): each value alone, 2 layers, 1200 steps: 1056, 960,
    # 864; window 8: 576 (seed 0); window 32: 180-200; window 48 with one layer over 400
    # steps: 112, 176, 160, each step half the price of two layers'. Window 64: 120-180;
    # ReLU instead of GELU: 160-240.
    config = dict(vocab_size=0, n_in=1, n_out=5, d_model=64, n_heads=4, n_layers=1,
                  max_len=SEQ_LEN, pos="rope", in_window=48)
    train_defaults = dict(steps=400, lr=1e-2, batch_size=32, warmup=40)
    # To the target 0.45: 224, 256, 160, 224, 224, 192 steps (seeds 0-5). At 224 the run of
    # 160 steps took 0.66x its estimate (bench/train_estimate.py); 208 sits between them.
    typical_steps = 208
    # The loss counts steps 64..118 only (loss_from). Counting every step, the first with
    # almost no context, needed ~1500 steps to the bar at lr 6e-3 (seed 0, values alone);
    # from step 24, 1000; from 48, 900; from 64, 800; later starts were no better.
    loss_from = 64
    zoo = {"seed": 0, "steps": 2000, "preset": None, "overrides": {}, "batch_size": 32}
    n_samples, sample_seed = 50, 2026
    examples = tuple(str(i) for i in range(6))
    max_input_len = N_IN                  # values
    input_label = f"…or paste your own {N_IN} values (commas or spaces)"

    def __init__(self):
        self._samples = None

    # -- data --------------------------------------------------------------------------------
    def batch(self, batch_size: int, generator: torch.Generator, device) -> dict:
        """x (B, 119) inputs and y (B, 119) the next value at every step."""
        seq = make_series(batch_size, generator)                          # (B, 120)
        return {"x": seq[:, :-1].to(device), "y": seq[:, 1:].to(device)}

    def loss(self, model, batch: dict) -> torch.Tensor:
        """MSE of the next value; a model with n_out = K > 1 outputs also learns the K - 1
        values after it (output k at step t is x[t+1+k]; the forecast feeds back output 0).
        Only steps t >= loss_from count: earlier ones are context, as in the forecast."""
        pred = model(batch["x"]).logits[:, self.loss_from:]              # (B, T', K)
        y = batch["y"][:, self.loss_from:]                               # (B, T')
        K = pred.size(-1)
        if K == 1:
            return F.mse_loss(pred[..., 0], y)
        y = F.pad(y, (0, K - 1), value=float("nan"))                      # (B, T' + K - 1)
        target = y.unfold(1, K, 1)                                        # (B, T', K)
        known = ~torch.isnan(target)
        return ((pred - target.nan_to_num()) ** 2)[known].mean()

    def samples(self) -> torch.Tensor:
        """(n_samples, 120) the fixed series the app offers by number (read-only)."""
        if self._samples is None:
            gen = torch.Generator(device="cpu").manual_seed(self.sample_seed)
            self._samples = make_series(self.n_samples, gen)
        return self._samples

    def fixed_examples(self) -> FixedExamples:
        """The app's numbered series: typed "3", expected the true next 20 values."""
        return FixedExamples(self.n_samples, "{}", lambda i: self.sample(i)[1])

    def sample(self, i: int) -> tuple:
        """Sample number i -> (100 input values, the true next 20 values), lists of floats."""
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < self.n_samples:
            raise ValueError(f"sample number must be a whole number 0..{self.n_samples - 1}")
        seq = self.samples()[i]
        return seq[:N_IN].tolist(), seq[N_IN:].tolist()

    # -- scoring -----------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, model, n: int = 2000, seed: int = 1234) -> dict:
        """Autoregressive 20-step forecasts of n fresh series from their first 100 values.
        mse and baseline_mse (repeat the last period) against the true, noisy continuation;
        ratio = mse / baseline_mse."""
        gen = torch.Generator(device="cpu").manual_seed(seed)
        err = base_err = 0.0
        for start in range(0, n, 1000):
            seq = make_series(min(1000, n - start), gen)                  # (b, 120)
            x, truth = seq[:, :N_IN], seq[:, N_IN:]
            pred = self._forecast(model, x.to(model.device)).cpu()        # (b, 20)
            err += float(((pred - truth) ** 2).sum())
            base_err += float(((repeat_last_period(x, N_OUT)[0] - truth) ** 2).sum())
        mse, base = err / (n * N_OUT), base_err / (n * N_OUT)
        return {"mse": mse, "baseline_mse": base, "ratio": mse / max(base, 1e-12)}

    @torch.no_grad()
    def _forecast(self, model, x: torch.Tensor, head_mask=None) -> torch.Tensor:
        """(B, 100) -> (B, 20). With a head mask every step re-runs the whole sequence."""
        if head_mask is None:
            return model.forecast(x, N_OUT)[..., 0]                       # (B, 20)
        seq = x
        for _ in range(N_OUT):
            nxt = model(seq, head_mask=head_mask).logits[:, -1:, 0]       # (B, 1)
            seq = torch.cat([seq, nxt], 1)                                # (B, T + 1)
        return seq[:, N_IN:]

    # -- a user's input ----------------------------------------------------------------------
    def parse(self, text: str) -> list:
        """A sample number ("3") or exactly 100 numbers separated by commas or spaces."""
        if not isinstance(text, str):
            raise ValueError("enter a sample number or 100 numbers as text")
        text = text.strip()
        if not text:
            raise ValueError(f"enter a sample number 0..{self.n_samples - 1}, or 100 numbers "
                             "separated by commas or spaces")
        if len(text) > MAX_CHARS:
            raise ValueError(f"too long: at most {MAX_CHARS} characters")
        parts = [p for p in re.split(r"[\s,;]+", text) if p]
        if len(parts) == 1:
            if not re.fullmatch(r"\d+", parts[0]) or int(parts[0]) >= self.n_samples:
                raise ValueError(f"a single number must be a sample number 0.."
                                 f"{self.n_samples - 1}; or enter {N_IN} numbers")
            return self.sample(int(parts[0]))[0]
        values = []
        bad = []
        for p in parts:
            try:
                values.append(float(p))
            except ValueError:
                bad.append(p)
        if bad:
            raise ValueError(f"not numbers: {', '.join(repr(b[:12]) for b in bad[:5])}")
        return self.check_values(values)

    def check_values(self, values) -> list:
        """Validate one series of inputs (list, tuple, array or tensor) -> list of 100 floats."""
        if isinstance(values, str):
            return self.parse(values)
        try:
            t = torch.as_tensor(values, dtype=torch.float64).flatten()
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(f"expected {N_IN} numbers, got {type(values).__name__}") from None
        if t.numel() != N_IN:
            raise ValueError(f"expected exactly {N_IN} numbers, got {t.numel()}")
        if not bool(torch.isfinite(t).all()):
            raise ValueError("the numbers must be finite (no NaN or infinity)")
        if float(t.abs().max()) > MAX_ABS:
            raise ValueError(f"values must lie within ±{MAX_ABS:g} (the training series stay "
                             "within ±2)")
        return t.tolist()

    @torch.no_grad()
    def predict(self, model, examples: list) -> list:
        if isinstance(examples, (str, bytes)) or not hasattr(examples, "__len__"):
            raise ValueError("predict() takes a list of series")
        if len(examples) == 0:
            return []
        x = torch.tensor([self.check_values(e) for e in examples])        # (B, 100)
        return self._forecast(model, x.to(model.device)).cpu().tolist()

    def answer(self, example):
        """The true continuation when the input is one of the app's samples, else None."""
        return self._truth(self.check_values(example))

    def _truth(self, values: list):
        """The true continuation when the input is one of the app's samples, else None."""
        x = torch.tensor(values, dtype=torch.float32)
        hit = (self.samples()[:, :N_IN] == x).all(1).nonzero()
        return self.samples()[int(hit[0]), N_IN:].tolist() if len(hit) else None

    @torch.no_grad()
    def inspect(self, model, example, head_mask=None, return_scores: bool = False) -> Inspection:
        """Forecast, then run the 119 known and forecast values once for the attention. Labels
        t0..t118, forecast positions starred (t100*); row t_i is the query that predicts t_i+1.
        forecast: inputs, forecast, truth (for a sample, else None), baseline, period."""
        values = self.check_values(example)
        x = torch.tensor([values], dtype=torch.float32)                  # (1, 100)
        pred = self._forecast(model, x.to(model.device), head_mask).cpu()  # (1, 20)
        seq = torch.cat([x, pred[:, :-1]], 1)                             # (1, 119)
        out = model(seq.to(model.device), return_attention=True, return_scores=return_scores,
                    head_mask=head_mask)
        labels = self.position_labels(seq.size(1))
        baseline, period = repeat_last_period(x, N_OUT)
        scores, masks = scores_and_masks(out, return_scores)
        truth = self._truth(values)
        return Inspection(
            prediction=pred[0].tolist(), attention=squeeze_batch(out.attention),
            labels={n: (labels, labels) for n in out.attention}, scores=scores, masks=masks,
            tokens=labels, expected=truth,
            forecast=Forecast(inputs=values, forecast=pred[0].tolist(), truth=truth,
                              baseline=baseline[0].tolist(), period=int(period[0])))

    def decoding_setup(self, example) -> DecodeSetup:
        """Prompt: the 100 input values (1, 100); 20 steps, each feeding its forecast back;
        reference: the true continuation when the input is one of the app's samples."""
        values = self.check_values(example)
        truth = self._truth(values)
        return DecodeSetup(prompt=torch.tensor([values], dtype=torch.float32),
                           labels=lambda xs: [f"{float(v):.2f}" for v in xs],
                           max_new_tokens=N_OUT,
                           target=None if truth is None else torch.tensor([truth]))

    @staticmethod
    def position_labels(T: int) -> list:
        return [f"t{i}" + ("*" if i >= N_IN else "") for i in range(T)]

    def probe(self, device) -> tuple:
        """Sample 0's first 119 true values (teacher-forced) as the snapshot input."""
        seq = self.samples()[:1, :-1].to(device)                          # (1, 119)
        labels = [f"t{i}" for i in range(seq.size(1))]
        return (seq,), LabelPairs((labels, labels))


TASK = SineTask()
