"""Measure the peak memory of a piece of code in a fresh Python process (Linux only).

    got = measure({"fwd": "model(x, return_attention=True)"}, setup="... build model, x ...")
    got["fwd"]["rss_peak"]  # bytes: VmHWM after the code minus VmRSS before it (torch tensors)
    got["fwd"]["py_peak"]   # bytes: tracemalloc's peak while the code ran (Python objects only)
    got["fwd"]["result"]    # the JSON value the code left in the variable RESULT (or None)

Each named snippet runs in turn in the same process after `setup`, the peak resident size
reset (/proc/self/clear_refs, "5") before each, and glibc is told
to serve every allocation of 64 KiB or more with its own mmap (MALLOC_MMAP_THRESHOLD_), so a
large tensor raises the peak when it is written and gives its pages back when freed: the
difference is what the code itself held at its worst moment.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_PROBE = """
import json, re, sys, tracemalloc
sys.path.insert(0, {repo!r})
RESULT = None
{setup}
def _status(key):
    with open("/proc/self/status") as f:
        return int(re.search(key + r":\\s+(\\d+) kB", f.read()).group(1)) * 1024
_out = {{}}
for _name, _code in {snippets!r}.items():
    RESULT = None
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    _base = _status("VmRSS")
    tracemalloc.start()
    exec(_code)
    _py = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    _out[_name] = {{"rss_peak": _status("VmHWM") - _base, "py_peak": _py, "result": RESULT}}
print("PEAK " + json.dumps(_out))
"""


def available() -> str | None:
    """Why peak memory cannot be measured here, or None."""
    if not sys.platform.startswith("linux"):
        return "peak memory is read from /proc (Linux only)"
    if not os.access("/proc/self/clear_refs", os.W_OK):
        return "/proc/self/clear_refs is not writable here"
    return None


def measure(snippets: dict, setup: str = "", timeout: float = 300) -> dict:
    """{name: {"rss_peak", "py_peak", "result"}} for each named code snippet (see above)."""
    reason = available()
    if reason:
        pytest.skip(reason)
    script = _PROBE.format(repo=str(REPO), setup=textwrap.dedent(setup),
                           snippets={k: textwrap.dedent(v) for k, v in snippets.items()})
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=REPO)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("PEAK ")]
    if done.returncode or not lines:
        raise AssertionError(f"the probe failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][5:])
