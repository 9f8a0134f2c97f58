"""Run a model call so that an unexpected error ends that run with a message, not a traceback.

    try:
        out = safe_run(task.inspect, model, example, what="the attention explorer")
    except ValueError as e:          # the user's mistake, a budget refusal, or a RunFailed
        st.error(str(e))

A ValueError (bad input, BudgetError, CheckpointError) passes through unchanged: its message is
already for the user. Any other Exception (RuntimeError "out of memory", a CUDA/MPS device error,
MemoryError, a bug) is logged on the server with its full traceback and a short reference, and
re-raised as RunFailed, a ValueError whose message says what happened in plain words and quotes
the reference. KeyboardInterrupt, SystemExit and Streamlit's own control flow (rerun, stop: a
BaseException) are never caught. torch only; no Streamlit.
"""
from __future__ import annotations

import contextlib
import logging
import uuid

import torch

log = logging.getLogger("attention_visualizer.runs")


class RunFailed(ValueError):
    """A run ended by an unexpected error. str() is the user's message; `.reference` matches
    the server log line; `.kind` is "memory", "device" or "error"; `.__cause__` the original."""

    def __init__(self, message: str, reference: str, kind: str):
        super().__init__(message)
        self.reference, self.kind = reference, kind


def _is_oom(e: BaseException) -> bool:
    if isinstance(e, MemoryError):
        return True
    oom = getattr(torch, "OutOfMemoryError", None) or getattr(torch.cuda, "OutOfMemoryError", ())
    if oom and isinstance(e, oom):
        return True
    text = str(e).lower()
    return isinstance(e, RuntimeError) and ("out of memory" in text
                                            or "can't allocate memory" in text
                                            or "not enough memory" in text)


def _is_device(e: BaseException) -> bool:
    text = str(e)
    return isinstance(e, RuntimeError) and any(
        w in text for w in ("CUDA", "cuDNN", "cuBLAS", "MPS", "device-side", "HIP", "NCCL"))


def _free_device_memory() -> None:
    """After an out-of-memory error: give cached accelerator memory back so the next run can."""
    try:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        mps = getattr(torch, "mps", None)
        if mps is not None and torch.backends.mps.is_available():
            mps.empty_cache()
    except Exception:               # cleaning up must never raise over the real error
        pass


def describe(e: BaseException, what: str, reference: str) -> tuple[str, str]:
    """(kind, user message) for an unexpected error during `what`."""
    if _is_oom(e):
        return "memory", (f"{what} ran out of memory and was stopped. Try a shorter input, a "
                          f"smaller model or fewer layers. (reference {reference})")
    if _is_device(e):
        return "device", (f"{what} failed on the compute device ({type(e).__name__}); the "
                          f"page will go on. If it happens again, restart the app or set "
                          f"ATTNVIZ_DEVICE=cpu. (reference {reference})")
    return "error", (f"{what} failed unexpectedly ({type(e).__name__}). The details are in the "
                     f"server log. (reference {reference})")


@contextlib.contextmanager
def guard(what: str = "This run"):
    """Context manager form of safe_run: unexpected errors inside become RunFailed."""
    try:
        yield
    except ValueError:
        raise
    except Exception as e:
        reference = uuid.uuid4().hex[:8]
        kind, message = describe(e, what, reference)
        log.error("%s failed (reference %s, %s)", what, reference, kind, exc_info=e)
        if kind == "memory":
            _free_device_memory()
        raise RunFailed(message, reference, kind) from e


def safe_run(fn, *args, what: str = "This run", **kwargs):
    """fn(*args, **kwargs), with unexpected errors turned into RunFailed (see the module)."""
    with guard(what):
        return fn(*args, **kwargs)
