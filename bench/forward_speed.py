"""One forward pass with every head's attention weights, at 128 tokens, as the explorer runs it.

    python bench/forward_speed.py [--checkpoints checkpoints] [--tokens 128] [--repeats 50]

Takes the largest shipped text model (encoder, decoder or seq2seq checkpoint, by parameter
count). If its max_len is below the token count it builds the same architecture with a longer
max_len (random weights: the speed depends on the shapes only) and says so. Reports the median
of `repeats` forward passes with return_attention=True on the best device there is (CUDA, then
MPS, then the CPU; --device forces one) and names it; on the CPU with 1 and with 2 threads.
Target: at most 20 ms.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from core.checkpoints import CheckpointError, load_checkpoint  # noqa: E402
from core.device import describe_device, get_device  # noqa: E402
from core.models import build_model  # noqa: E402

TEXT_KINDS = ("encoder", "decoder", "seq2seq")
TARGET_MS = 20.0


def largest_text_model(folder: Path):
    best = None
    for path in sorted(folder.glob("*.safetensors")):
        try:
            model, info = load_checkpoint(path, device="cpu")
        except CheckpointError as e:
            print(f"skipping {path.name}: {e}")
            continue
        if model.kind in TEXT_KINDS and (best is None or model.num_parameters()
                                         > best[1].num_parameters()):
            best = (path, model)
    return best


def inputs_for(model, T: int, seed: int = 0):
    """Inputs of T tokens, drawn on the CPU, on the model's device."""
    g = torch.Generator().manual_seed(seed)
    cfg = model.cfg
    if model.kind == "seq2seq":
        src = torch.randint(3, cfg.src_vocab_size, (1, T), generator=g)
        tgt = torch.randint(3, cfg.tgt_vocab_size, (1, T), generator=g)
        inputs = (src, tgt)
    elif model.kind == "decoder" and cfg.vocab_size == 0:
        inputs = (torch.randn(1, T, cfg.n_in, generator=g),)
    else:
        inputs = (torch.randint(3, cfg.vocab_size, (1, T), generator=g),)
    return tuple(x.to(model.device) for x in inputs)


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_ms(model, inputs, repeats: int) -> float:
    """Median wall time of one forward with every head's weights (the device finished)."""
    with torch.no_grad():
        for _ in range(5):
            model(*inputs, return_attention=True)
        times = []
        for _ in range(repeats):
            _sync(model.device)
            t0 = time.perf_counter()
            out = model(*inputs, return_attention=True)
            _sync(model.device)
            times.append((time.perf_counter() - t0) * 1000)
    assert out.attention, "the model returned no attention"
    return statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoints", default=str(ROOT / "checkpoints"))
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best there is)")
    a = ap.parse_args(argv)
    device = get_device(a.device)
    found = largest_text_model(Path(a.checkpoints))
    if found is None:
        print(f"no text checkpoint in {a.checkpoints}")
        return 1
    path, model = found
    cfg = model.cfg
    note = f"{path.name}: {model.kind}, {model.num_parameters():,} parameters, " \
           f"d_model {cfg.d_model}, {cfg.n_heads} heads, {cfg.n_layers} layers"
    if cfg.max_len < a.tokens:
        torch.manual_seed(0)
        model = build_model(cfg.replace(max_len=a.tokens)).eval()
        note += (f"; its max_len is {cfg.max_len}, so the same architecture with max_len "
                 f"{a.tokens} (random weights) is timed")
    print(note)
    model = model.to(device)
    inputs = inputs_for(model, a.tokens)
    for threads in ((1, 2) if device.type == "cpu" else (torch.get_num_threads(),)):
        torch.set_num_threads(threads)
        ms = median_ms(model, inputs, a.repeats)
        n_heads = sum(w.size(1) for w in model(*inputs, return_attention=True).attention.values())
        where = describe_device(device)
        print(f"{where}: median {ms:.2f} ms per forward over {a.repeats} runs, "
              f"{a.tokens} tokens, {n_heads} heads' weights "
              f"({'meets' if ms <= TARGET_MS else 'MISSES'} the {TARGET_MS:g} ms target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
