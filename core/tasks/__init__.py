"""The lecture's tasks, by name: core.tasks.TASKS["sort"] and so on.

Each module defines TASK, an instance of a core.tasks.base.Task subclass.
"""
from __future__ import annotations

import importlib

from .base import IGNORE, Inspection, Task

_MODULES = ("sort", "reverse", "addition", "dates", "dates_rnn", "sine", "digits", "shapes")

TASKS: dict[str, Task] = {}
for _name in _MODULES:
    _mod = importlib.import_module(f"{__name__}.{_name}")
    TASKS[_mod.TASK.name] = _mod.TASK


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
    return TASKS[name]


__all__ = ["TASKS", "Task", "Inspection", "IGNORE", "get_task"]
