"""The lecture's tasks, by name: core.tasks.TASKS["sort"] and so on.

Each module defines TASK, an instance of a core.tasks.base.Task subclass. A new task is one file
here plus its line in _MODULES. Task modules of another package can be added without editing
this file: `register_module("my_package.my_task")`, or the environment variable ATTNVIZ_TASKS
(comma-separated module names, read when core.tasks is first imported).
"""
from __future__ import annotations

import importlib
import os

from .base import IGNORE, FixedExamples, Forecast, Inspection, LabelPairs, Picture, Task

_MODULES = ("sort", "reverse", "addition", "dates", "dates_rnn", "sine", "digits", "shapes")

TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    """Add a task to TASKS (ValueError when its name is taken by another task)."""
    if not isinstance(task, Task):
        raise ValueError(f"expected a core.tasks.base.Task, got {type(task).__name__}")
    if TASKS.get(task.name, task) is not task:
        raise ValueError(f"a task named {task.name!r} is already registered")
    TASKS[task.name] = task
    return task


def register_module(name: str) -> Task:
    """Import the module `name` and register its TASK."""
    module = importlib.import_module(name)
    if not hasattr(module, "TASK"):
        raise ValueError(f"{name} defines no TASK")
    return register(module.TASK)


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
    return TASKS[name]


for _name in _MODULES:
    register_module(f"{__name__}.{_name}")
for _name in filter(None, (n.strip() for n in os.environ.get("ATTNVIZ_TASKS", "").split(","))):
    register_module(_name)

__all__ = ["TASKS", "Task", "Inspection", "Forecast", "Picture", "FixedExamples", "LabelPairs",
           "IGNORE", "get_task", "register", "register_module"]
