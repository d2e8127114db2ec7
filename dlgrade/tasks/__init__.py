"""Registry of task modules, one per homework question."""

from __future__ import annotations

import importlib

from dlgrade.errors import UsageError
from dlgrade.tasks.base import Context, Task

# Module names in report order. Each defines ``TASK``.
TASK_MODULES = (
    "hw6_q1_normalization",
    "hw6_q2_bert",
    "hw6_q3_rotation",
    "hw6_q4_cifar_tuner",
    "hw14_q1_glove",
    "hw14_q2_triplet",
    "hw14_q3_dermamnist",
    "hw14_q4_fashion_tuner",
)


def all_tasks() -> list[Task]:
    """Every registered task, in report order."""
    return [importlib.import_module(f"dlgrade.tasks.{m}").TASK for m in TASK_MODULES]


def get_task(task_id: str) -> Task:
    """The task with this id, or a UsageError listing the known ones."""
    for task in all_tasks():
        if task.id == task_id:
            return task
    known = ", ".join(t.id for t in all_tasks())
    raise UsageError(f"unknown task {task_id!r}; known tasks: {known} (see `dlgrade list`)")


__all__ = ["Context", "Task", "all_tasks", "get_task", "TASK_MODULES"]
