"""The hidden-check API a question's ``hidden.py`` is written with.

A hidden check is a function ``check(f, ref)`` declared with :func:`hidden_check`. ``f`` gives the student's
functions as attributes (when grading, each call goes to the student's sandbox and returns data); ``ref`` is the
question's reference module (trusted side only). A check returns ``None``/``True`` (full points) or a
:class:`Partial` (partial credit, naming the part that failed), or raises :class:`CheckFailed` / ``AssertionError``
saying what was wrong.

A hidden module may also define ``EXAMPLES`` (public examples written into the handout's tests) and ``DOCS``
(extra docstring text per student function for the handout).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable

import numpy as np


class CheckFailed(AssertionError):
    """A failed check with a verdict code (``wrong``, ``wrong_type``, ``nan``, ``shape``, ``missing``)."""

    def __init__(self, message: str, verdict: str = "wrong"):
        super().__init__(message)
        self.verdict = verdict


@dataclass(frozen=True)
class HiddenCheck:
    """A declared check.

    Attributes:
        id: unique within the question.
        points: what it is worth.
        functions: the student functions it calls.
        message, fix: what it tests / what to do when it fails, ``{"en": ..., "fa": ...}``.
        fn: ``fn(f, ref)``.
        timeout_s: wall-clock seconds for the check (default: the grader's per-check limit).
        public: whether its inputs may be shown to the student (a student's exception message is shown only then).
        requires: checks that must earn something for this one to count (a shape or "input untouched" check is
            worth nothing for a function that does nothing).
    """

    id: str
    points: float
    functions: tuple[str, ...]
    message: dict[str, str]
    fix: dict[str, str]
    fn: Callable[[Any, Any], Any]
    timeout_s: float | None = None
    public: bool = False
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Partial:
    """Partial credit, saying which part failed: ``return Partial(0.5, "the labels are right; the rotated images
    are not (largest difference 0.7)")``."""

    fraction: float
    detail: str


@dataclass(frozen=True)
class Example:
    """A public example: ``function(*args, **kwargs)`` should be close to ``expected``."""

    function: str
    args: tuple
    expected: Any
    kwargs: dict = field(default_factory=dict)
    atol: float = 1e-6


def hidden_check(id: str, points: float, functions: tuple[str, ...], message: dict[str, str],
                 fix: dict[str, str] | None = None, timeout_s: float | None = None, public: bool = False,
                 requires: tuple[str, ...] = ()):
    """Declare a hidden check in a question's ``hidden.py``."""

    def deco(fn):
        fn.__hidden_check__ = HiddenCheck(id, float(points), tuple(functions), dict(message), dict(fix or {}), fn,
                                          timeout_s, public, tuple(requires))
        return fn

    return deco


def collect(module: ModuleType | None) -> list[HiddenCheck]:
    """The checks declared in ``module``, in source order (none for a question without a hidden module)."""
    if module is None:
        return []
    checks = [v.__hidden_check__ for v in vars(module).values() if hasattr(v, "__hidden_check__")]
    checks.sort(key=lambda c: c.fn.__code__.co_firstlineno)
    ids = [c.id for c in checks]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{module.__name__}: duplicate hidden check ids {sorted({i for i in ids if ids.count(i) > 1})}")
    unknown = [(c.id, r) for c in checks for r in c.requires if r not in ids]
    if unknown:
        raise ValueError(f"{module.__name__}: checks require unknown checks {unknown}")
    return checks


def expect_array(value: Any, name: str, shape: tuple | None = None) -> np.ndarray:
    """``value`` as a float array, or CheckFailed saying what is wrong with it (type, shape, NaN)."""
    if isinstance(value, (str, bytes, dict, set)) or value is None or callable(value) or type(value).__name__ == "Opaque":
        raise CheckFailed(f"{name} returned {_kind(value)}, expected a NumPy array", "wrong_type")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"{name} returned {_kind(value)} that is not numeric, expected a NumPy array", "wrong_type") from None
    if shape is not None and arr.shape != tuple(shape):
        raise CheckFailed(f"{name} returned shape {arr.shape}, expected {tuple(shape)}", "shape")
    if not np.all(np.isfinite(arr)):
        bad = int((~np.isfinite(arr)).sum())
        raise CheckFailed(f"{name} returned {bad} NaN/inf value(s) of {arr.size}", "nan")
    return arr


def expect_close(got: np.ndarray, want: np.ndarray, name: str, atol: float = 1e-6) -> None:
    """CheckFailed unless ``got`` is within ``atol`` of ``want`` everywhere, saying the largest difference."""
    err = float(np.abs(np.asarray(got) - np.asarray(want)).max())
    if not err <= atol:
        raise CheckFailed(f"{name}: largest difference from the expected output is {err:.3g} (tolerance {atol:g})")


def _kind(value: Any) -> str:
    t = getattr(value, "type", None) if type(value).__name__ == "Opaque" else None
    return f"a {t}" if t else f"{type(value).__name__}"


HYPERMODEL = "dlgrade.kit.probes:hypermodel_facts"


def hypermodel(f, input_shape) -> dict:
    """Facts about what the student's ``build_model(hp)`` builds (see :func:`dlgrade.kit.probes.hypermodel_facts`),
    or CheckFailed when it is not a Keras model."""
    facts = f.probe(HYPERMODEL, input_shape=tuple(input_shape))
    if not isinstance(facts, dict) or not facts.get("is_model"):
        kind = facts.get("type") if isinstance(facts, dict) else type(facts).__name__
        raise CheckFailed(f"build_model returned {kind}, expected a compiled keras.Model", "wrong_type")
    return facts


def space_of(facts: dict) -> dict[str, dict]:
    """The declared search space by hyper-parameter name."""
    return {str(p.get("name")): p for p in facts.get("space", []) if isinstance(p, dict)}


class LocalFunctions:
    """``f`` for running a hidden check in this process on a trusted module (the reference, in tests)."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name: str):
        fn = getattr(self._module, name, None)
        if fn is None:
            raise CheckFailed(f"your module does not define {name}()", "missing")
        return fn

    def probe(self, target: str, **kwargs):
        import importlib

        module, _, name = target.partition(":")
        return getattr(importlib.import_module(module), name)(self._module, **kwargs)
