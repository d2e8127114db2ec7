"""Run one sandboxed step: the single entry point for both the instructor's in-process run and a student's
sandbox (the runtime server calls :func:`run_step` with the student's module).

Sandbox-safe: nothing here reveals a reference solution; it only wires settings, seeds and inputs to the
step function named by ``target`` and checks that what comes back is data.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

from dlgrade.kit.env import Env, check_data
from dlgrade.kit.seeds import Seeds

SANDBOX_SAFE = True


class _LineStream:
    """A text stream that hands every complete line to ``send`` (the sandbox's progress channel)."""

    def __init__(self, send: Callable[[str], None]):
        self.send, self.buffer = send, ""

    def write(self, text: str) -> int:
        self.buffer += text
        while "\n" in self.buffer:
            line, self.buffer = self.buffer.split("\n", 1)
            if line.strip():
                self.send(line)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def signatures(fns: Any, names: list[str]) -> dict[str, Any]:
    """For each name: the parameter names of that function of ``fns``, None when it is not defined, or the
    type name when it is not callable (what the grader's ``<name>_defined`` checks compare with the handout)."""
    import inspect

    out: dict[str, Any] = {}
    for n in names:
        fn = getattr(fns, n, None)
        if fn is None:
            out[n] = None
        elif not callable(fn):
            out[n] = {"not_callable": type(fn).__name__}
        else:
            try:
                params = inspect.signature(fn).parameters.values()
                out[n] = {"params": [p.name for p in params], "varargs": any(p.kind == p.VAR_POSITIONAL for p in params)}
            except (TypeError, ValueError):
                out[n] = {"params": None, "varargs": True}
    return out


def resolve(target: str) -> Any:
    """``"package.module:name"`` -> the object."""
    module, _, name = target.partition(":")
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def step_seed(run_seed: int, step: str) -> int:
    """The seed a training step starts from: the run seed and the step's name (stable across processes)."""
    import zlib

    return int(run_seed) * 1000 + zlib.crc32(step.encode()) % 1000


def seed_everything(seed: int) -> None:
    """Python's, NumPy's and Keras' global random state from ``seed``."""
    import random

    import numpy as np

    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import keras

        keras.utils.set_random_seed(seed)
    except ImportError:
        pass


def run_step(fns: Any, *, target: str, config_class: str, config: Mapping[str, Any], seed: int,
             seed_offsets: Mapping[str, int], inputs: Mapping[str, Any], work_dir: str | None = None,
             progress: Any = None, label: str = "", step: str = "") -> dict:
    """Call the step function ``target`` as ``fn(env, **inputs)`` with ``env.fns = fns``.

    The global random state is first set from the run seed and the step's name, so a step draws the same
    numbers wherever it runs: in an instructor's process after other steps, or in a fresh sandbox after the
    student's module was imported.

    Args:
        fns: the module whose functions are the ones a student writes.
        target: ``"package.module:function"`` of the step (in the question's ``train`` module).
        config_class: ``"package.module:Class"`` of the question's Config; ``config`` is rebuilt with it.
        seed, seed_offsets: the run seed and the question's named seed offsets.
        inputs: the step's inputs (arrays and plain values).
        work_dir: a scratch folder (default: the current directory).
        progress: a progress reporter; default: plain lines on standard error.
        step: the step's name (its seed is derived from it; default: the function's name).
    Returns:
        The step's outputs (checked to be plain data).
    """
    from dlgrade.progress import Progress

    fn: Callable = resolve(target)
    cfg = resolve(config_class).from_dict(dict(config))
    name = label or target.rsplit(":", 1)[-1]
    if progress is None:
        progress = Progress(name, stream=sys.stderr, plain=True)
    elif not isinstance(progress, Progress) and callable(progress):  # the sandbox server's progress(text)
        progress = Progress(name, stream=_LineStream(progress), plain=True)
    wd = Path(work_dir or os.getcwd())
    wd.mkdir(parents=True, exist_ok=True)
    env = Env(fns=fns, config=cfg, seeds=Seeds(seed, seed_offsets), progress=progress, work_dir=wd)
    seed_everything(step_seed(seed, step or fn.__name__))
    out = fn(env, **dict(inputs))
    if out is None:
        out = {}
    if not isinstance(out, dict):
        raise TypeError(f"step {target} returned {type(out).__name__}, expected a dict of outputs")
    check_data(out, f"step {target.rsplit(':', 1)[-1]}")
    return out
