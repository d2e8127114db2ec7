"""Hidden unit checks, declared next to each task.

A task's hidden checks live in ``dlgrade/grader/hidden/<task slug>.py`` and are declared with
:func:`hidden_check`. Each check receives ``f`` (the student's functions, as attributes) and ``ref``
(the task module, for reference implementations) and either returns ``None``/``True`` (full
points), a fraction in ``[0, 1]`` (partial credit), or raises :class:`CheckFailed` /
``AssertionError`` with a message saying what was wrong. The module may also define ``EXAMPLES``:
public examples written into the handout's tests (see :class:`Example`).

Every task gets, without declaring anything, one ``<name>_defined`` check per function in
``Task.student_functions`` (the function exists and takes the parameters the handout gives it; 0
points, since the handout's stub passes it, but a clear verdict when a function is missing or its
signature changed), so a task without a hidden-check module is still gradable (its task run and rubric).
"""

from __future__ import annotations

import importlib
import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

_REGISTRY: dict[str, list["HiddenCheck"]] = {}


class CheckFailed(AssertionError):
    """A failed check with a verdict code (``wrong``, ``wrong_type``, ``nan``, ``shape``)."""

    def __init__(self, message: str, verdict: str = "wrong"):
        super().__init__(message)
        self.verdict = verdict


@dataclass(frozen=True)
class HiddenCheck:
    id: str
    points: float
    functions: tuple[str, ...]
    message: dict[str, str]
    fix: dict[str, str]
    fn: Callable[[Any, Any], Any]
    timeout_s: float | None = None


@dataclass(frozen=True)
class Example:
    """A public example: ``function(*args, **kwargs)`` should be close to ``expected``."""

    function: str
    args: tuple
    expected: Any
    kwargs: dict = field(default_factory=dict)
    atol: float = 1e-6


def hidden_check(id: str, points: float, functions: tuple[str, ...], message: dict[str, str],
                 fix: dict[str, str] | None = None, timeout_s: float | None = None):
    """Declare a hidden check in a ``hidden/<slug>.py`` module."""

    def deco(fn):
        module = fn.__module__.rsplit(".", 1)[-1]
        _REGISTRY.setdefault(module, []).append(HiddenCheck(id, float(points), tuple(functions), dict(message),
                                                             dict(fix or {}), fn, timeout_s))
        return fn

    return deco


class Namespace:
    """The student's functions as attributes; a missing one fails the check that uses it."""

    def __init__(self, module, names: tuple[str, ...]):
        self._module = module
        self._names = names

    def __getattr__(self, name: str):
        fn = getattr(self._module, name, None)
        if fn is None:
            raise CheckFailed(f"your module does not define {name}()", "missing")
        if not callable(fn):
            raise CheckFailed(f"{name} is a {type(fn).__name__}, not a function", "wrong_type")
        return fn


def expect_array(value: Any, name: str, shape: tuple | None = None) -> np.ndarray:
    """``value`` as a float array, or CheckFailed saying what is wrong with it (type, shape, NaN)."""
    if isinstance(value, (str, bytes, dict, set)) or value is None or callable(value):
        raise CheckFailed(f"{name} returned {type(value).__name__}, expected a NumPy array", "wrong_type")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"{name} returned {type(value).__name__} that is not numeric, expected a NumPy array",
                          "wrong_type") from None
    if shape is not None and arr.shape != tuple(shape):
        raise CheckFailed(f"{name} returned shape {arr.shape}, expected {tuple(shape)}", "shape")
    if not np.all(np.isfinite(arr)):
        bad = int((~np.isfinite(arr)).sum())
        raise CheckFailed(f"{name} returned {bad} NaN/inf value(s) of {arr.size}", "nan")
    return arr


def expect_close(got: np.ndarray, want: np.ndarray, name: str, atol: float = 1e-6) -> None:
    err = float(np.abs(np.asarray(got) - np.asarray(want)).max())
    if not err <= atol:
        raise CheckFailed(f"{name}: largest difference from the expected output is {err:.3g} (tolerance {atol:g})")


def _defined_check(task, name: str) -> HiddenCheck:
    module = importlib.import_module(task.module)
    ref_params = list(inspect.signature(getattr(module, name)).parameters)

    def check(f, ref):
        fn = getattr(f, name)
        try:
            params = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            return None
        missing = [p for p in ref_params if p not in params]
        if missing and not any(inspect.Parameter.VAR_POSITIONAL == p.kind for p in inspect.signature(fn).parameters.values()):
            raise CheckFailed(f"{name}() has parameters {params}, the handout's are {ref_params}", "wrong_type")

    return HiddenCheck(f"{name}_defined", 0.0, (name,),
                       {"en": f"{name}() is defined with the handout's parameters.",
                        "fa": f"تابع {name}() با پارامترهای فایل تمرین تعریف شده است."},
                       {"en": f"Keep the signature of {name}() from the handout.",
                        "fa": f"امضای تابع {name}() را همان‌طور که در فایل تمرین آمده نگه دارید."}, check)


def load_checks(task) -> list[HiddenCheck]:
    """The generic ``*_defined`` checks plus the task's declared hidden checks, in order."""
    checks = [_defined_check(task, n) for n in task.student_functions]
    try:
        importlib.import_module(f"dlgrade.grader.hidden.{task.slug}")
    except ModuleNotFoundError as e:
        if e.name != f"dlgrade.grader.hidden.{task.slug}":
            raise
    return checks + list(_REGISTRY.get(task.slug, []))


def examples(task) -> list[Example]:
    """Public examples declared by the task's hidden-check module (none when it has no module)."""
    try:
        mod = importlib.import_module(f"dlgrade.grader.hidden.{task.slug}")
    except ModuleNotFoundError:
        return []
    return list(getattr(mod, "EXAMPLES", []))


def build_from_hp(f):
    """Call the student's ``build_model`` on fresh keras-tuner HyperParameters; returns ``(hp, model)``."""
    import keras
    import keras_tuner as kt

    hp = kt.HyperParameters()
    model = f.build_model(hp)
    if not isinstance(model, keras.Model):
        raise CheckFailed(f"build_model returned {type(model).__name__}, expected a compiled keras.Model", "wrong_type")
    return hp, model


def isfinite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
