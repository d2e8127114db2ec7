"""What a sandboxed step receives (:class:`Env`) and the check that what it returns is plain data.

A question's training steps (``questions/<slug>/train.py``) are written as ``step(env, **inputs) -> dict``:
they call the student's functions through ``env.fns`` (the reference module in an instructor's run),
read ``env.config`` and ``env.seeds``, and return arrays and JSON-like values only, which the trusted side
evaluates. The same code runs in-process for the reference and in a sandbox for a student.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SANDBOX_SAFE = True

# The modules of dlgrade that make up a sandbox's runtime (with the question's own spec, train and probes):
# they import nothing of the trusted side and reveal no reference solution.
SANDBOX_RUNTIME = ("dlgrade.errors", "dlgrade.progress", "dlgrade.profiles", "dlgrade.text", "dlgrade.kit.config",
                   "dlgrade.kit.seeds", "dlgrade.kit.env", "dlgrade.kit.harness", "dlgrade.kit.keras_fit",
                   "dlgrade.kit.tuning", "dlgrade.kit.probes")
QUESTION_SANDBOX_MODULES = ("spec", "train", "probes")


@dataclass
class Env:
    """Attributes:
        fns: the module whose functions are the ones a student writes (a student's or the reference).
        config: the question's settings for this profile (its typed Config).
        seeds: named seeds derived from the run seed.
        progress: progress reporter (``log``, ``update``, ``keras_callback``).
        work_dir: a scratch folder the step may write into (a tuner's state, checkpoints).
    """

    fns: Any
    config: Any
    seeds: Any
    progress: Any
    work_dir: Path

    @property
    def seed(self) -> int:
        return self.seeds.run_seed


class NotData(TypeError):
    """A step returned something that is not plain data (e.g. a Keras model)."""


def check_data(value: Any, where: str = "output", depth: int = 0) -> None:
    """Raise :class:`NotData` naming the first part of ``value`` that is not plain data: dicts with string keys,
    lists/tuples, non-object NumPy arrays and scalars, numbers, booleans, strings, None."""
    if depth > 32:
        raise NotData(f"{where}: nested more than 32 levels")
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise NotData(f"{where}: an array of Python objects, not numbers")
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_data(v, f"{where}[{i}]", depth + 1)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise NotData(f"{where}: key {k!r} is a {type(k).__name__}, not a string")
            check_data(v, f"{where}[{k!r}]", depth + 1)
        return
    raise NotData(f"{where} is a {type(value).__module__}.{type(value).__qualname__}, not data "
                  "(return arrays, numbers, strings, lists or dicts of them)")
