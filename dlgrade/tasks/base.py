"""The task contract: one object per homework question.

A task module defines ``TASK = Task(...)`` whose ``run(ctx)`` trains and evaluates
its model and returns a :class:`~dlgrade.results.TaskResult`. Everything a run
needs from outside comes through :class:`Context`.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from dlgrade.data import DataResolver
from dlgrade.progress import Progress
from dlgrade.results import TaskResult


@dataclass
class Context:
    """What a task run receives.

    Attributes:
        task_id: the task being run.
        profile: ``smoke``, ``quick`` or ``full``.
        seed: the run's seed; tasks derive every random choice from it.
        config: the task's settings for this profile.
        run_dir: folder for figures and other artifacts (results.json is written by the run store).
        data: resolves and loads datasets.
        progress: prints what is happening.
        overrides: functions swapped in for the task's own (student code when grading).
        fingerprint: the run's cache key (names resumable state such as a tuner's folder).
    """

    task_id: str
    profile: str
    seed: int
    config: dict[str, Any]
    run_dir: Path
    data: DataResolver
    progress: Progress
    overrides: dict[str, Callable] = field(default_factory=dict)
    fingerprint: str = ""
    durations: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timed(self, step: str):
        """Time a step; the duration lands in provenance ``durations_s``."""
        t0 = time.perf_counter()
        self.progress.log(f"{step} ...")
        try:
            yield
        finally:
            self.durations[step] = round(time.perf_counter() - t0, 3)
            self.progress.log(f"{step} done in {self.durations[step]:.1f} s")

    def impl(self, name: str, default: Callable) -> Callable:
        """The function to use for ``name``: a student's override if given, else ``default``."""
        return self.overrides.get(name, default)

    def figure_path(self, name: str) -> Path:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        return self.run_dir / name


@dataclass(frozen=True)
class Task:
    """One homework question.

    Attributes:
        id: ``hw<set>.q<n>``.
        title: ``{"en": ..., "fa": ...}``.
        datasets: registry names of the datasets the task reads.
        configs: settings per profile (``smoke``, ``quick``, ``full``).
        run: ``run(ctx) -> TaskResult``.
        module: the module defining the task (its source is part of the cache key).
        student_functions: names of functions a student implements (handout/grading).
    """

    id: str
    title: Mapping[str, str]
    datasets: tuple[str, ...]
    configs: Mapping[str, Mapping[str, Any]]
    run: Callable[[Context], TaskResult]
    module: str
    student_functions: tuple[str, ...] = ()

    @property
    def slug(self) -> str:
        return self.id.replace(".", "_")
