"""core.safe_run: unexpected errors end a run with a message and a logged traceback."""
from __future__ import annotations

import logging

import pytest
import torch

from core.budget import BudgetError, Cost
from core.safe_run import RunFailed, guard, safe_run


def _raise(e):
    def fn(*args, **kwargs):
        raise e
    return fn


def test_result_and_arguments_pass_through():
    assert safe_run(lambda a, b=0: a + b, 2, b=3) == 5


@pytest.mark.parametrize("error", [ValueError("enter digits"),
                                   BudgetError("too big", Cost(0, 0, 0, 1), 0)])
def test_value_errors_pass_unchanged(error, caplog):
    with pytest.raises(type(error)) as e:
        safe_run(_raise(error))
    assert e.value is error and not isinstance(e.value, RunFailed)
    assert caplog.records == []


@pytest.mark.parametrize("error,kind,words", [
    (RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate "
                  "memory: you tried to allocate 103079215104 bytes"), "memory", "out of memory"),
    (MemoryError(), "memory", "out of memory"),
    (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), "memory",
     "out of memory"),
    (RuntimeError("CUDA error: device-side assert triggered"), "device", "compute device"),
    (RuntimeError("MPS backend out of range"), "device", "compute device"),
    (KeyError("decoder.blocks.0"), "error", "failed unexpectedly (KeyError)"),
    (ZeroDivisionError("division by zero"), "error", "failed unexpectedly"),
])
def test_unexpected_errors_become_run_failed_and_are_logged(error, kind, words, caplog):
    with caplog.at_level(logging.ERROR, logger="attention_visualizer.runs"):
        with pytest.raises(RunFailed) as e:
            safe_run(_raise(error), what="The attention explorer")
    failed = e.value
    assert isinstance(failed, ValueError) and failed.kind == kind and failed.__cause__ is error
    msg = str(failed)
    assert msg.startswith("The attention explorer ") and words in msg
    assert f"(reference {failed.reference})" in msg and len(failed.reference) == 8
    assert "Traceback" not in msg and "/" not in msg.replace("ATTNVIZ_DEVICE=cpu", "")
    assert "103079215104" not in msg                      # no internals in the user's message
    (record,) = caplog.records
    assert failed.reference in record.getMessage() and record.exc_info[1] is error
    assert "Traceback" in caplog.text and type(error).__name__ in caplog.text


@pytest.mark.parametrize("error", [KeyboardInterrupt(), SystemExit(3), GeneratorExit()])
def test_control_flow_is_never_caught(error):
    with pytest.raises(type(error)):
        safe_run(_raise(error))


def test_streamlit_rerun_and_stop_pass_through():
    from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException
    for error in (StopException(), RerunException(None)):
        with pytest.raises(type(error)):
            safe_run(_raise(error))


def test_guard_context_manager():
    with pytest.raises(RunFailed, match="^Decoding failed unexpectedly"):
        with guard("Decoding"):
            [][1]
    with guard():
        pass


def test_a_real_out_of_memory_on_the_cpu_is_turned_into_a_message():
    """Ask the CPU allocator for 2**62 bytes: torch raises; the user gets a sentence."""
    with pytest.raises(RunFailed) as e:
        safe_run(torch.empty, 2 ** 60, dtype=torch.float32, what="This run")
    assert e.value.kind == "memory", repr(e.value.__cause__)
