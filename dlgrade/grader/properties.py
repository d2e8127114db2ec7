"""Property checks: facts the grader recomputes from a results file instead of trusting its metrics.

Each property takes the :class:`~dlgrade.results.TaskResult` and the check's
``args`` and returns ``(passed, value, detail)``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from dlgrade.results import TaskResult

PropertyFn = Callable[..., tuple[bool, Any, str]]


def _table(result: TaskResult, name: str) -> tuple[list[str], np.ndarray | list]:
    if name not in result.tables:
        raise KeyError(f"table {name!r} missing from results")
    t = result.tables[name]
    return t["columns"], t["rows"]


def normalised(result: TaskResult, table: str, axis: str, epsilon: float = 1e-3, source: str | None = None,
               tol: float = 1e-3) -> tuple[bool, Any, str]:
    """Every column (``axis: columns``) or row (``axis: rows``) of ``table`` has mean 0 and the std
    that normalising ``source`` with ``epsilon`` gives (1 when ``source`` is not given)."""
    _, rows = _table(result, table)
    m = np.asarray(rows, dtype=np.float64)
    ax = 0 if axis == "columns" else 1
    target = np.ones(m.shape[1 - ax])
    if source:
        src = np.asarray(_table(result, source)[1], dtype=np.float64)
        var = src.var(axis=ax)
        target = np.sqrt(var / (var + epsilon))
    mean_err = float(np.abs(m.mean(axis=ax)).max())
    std_err = float(np.abs(m.std(axis=ax) - target).max())
    worst = max(mean_err, std_err)
    return worst <= tol, worst, f"largest {axis[:-1]} mean {mean_err:.2e}, std error {std_err:.2e} (tolerance {tol})"


def metrics_in_unit_interval(result: TaskResult, prefix: str = "", suffixes: tuple = ("accuracy",)) -> tuple[bool, Any, str]:
    """Every metric under ``prefix`` whose name ends in one of ``suffixes`` lies in [0, 1]."""
    bad = {k: v for k, v in result.metrics.items() if k.startswith(prefix) and k.split(".")[-1].endswith(tuple(suffixes))
           and not (isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 1.0)}
    n = sum(1 for k in result.metrics if k.startswith(prefix) and k.split(".")[-1].endswith(tuple(suffixes)))
    if n == 0:
        return False, 0, f"no metric under {prefix!r} ends in {list(suffixes)}"
    return not bad, n - len(bad), ("all in [0, 1]" if not bad else f"outside [0, 1]: {bad}")


def matrix_total(result: TaskResult, table: str, metric: str, skip_first_column: bool = True) -> tuple[bool, Any, str]:
    """The counts in confusion-matrix ``table`` add up to the metric ``metric`` (e.g. the test size)."""
    _, rows = _table(result, table)
    cells = [r[1:] if skip_first_column else r for r in rows]
    total = float(np.asarray(cells, dtype=np.float64).sum())
    expected = result.metrics.get(metric)
    if not isinstance(expected, (int, float)):
        return False, total, f"metric {metric!r} missing"
    return abs(total - expected) < 0.5, total, f"matrix sums to {total:.0f}, {metric} is {expected}"


PROPERTIES: dict[str, PropertyFn] = {
    "normalised": normalised,
    "metrics_in_unit_interval": metrics_in_unit_interval,
    "matrix_total": matrix_total,
}
