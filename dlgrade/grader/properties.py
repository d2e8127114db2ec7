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


def confusion_totals(result: TaskResult, pattern: str = "confusion", size_keys: tuple = ("test_samples", "test_size", "n_test")) -> tuple[bool, Any, str]:
    """Every table whose name contains ``pattern`` (a confusion matrix) has counts summing to the test size.

    The test size is taken from a metric whose last name part is one of ``size_keys`` (e.g.
    ``retrain.test_samples``) or from ``facts[<key>]``. Numeric cells are summed; a first column of
    class names is skipped.
    """
    tables = [n for n in result.tables if pattern in n.lower()]
    if not tables:
        raise KeyError(f"no table named like {pattern!r}")
    size = next((v for k, v in result.metrics.items() if k.split(".")[-1] in size_keys), None)
    if size is None:
        size = next((result.facts[k] for k in size_keys if k in result.facts), None)
    if not isinstance(size, (int, float)) or isinstance(size, bool):
        raise KeyError(f"no test size (metric or fact named one of {list(size_keys)})")
    bad = []
    for name in tables:
        rows = result.tables[name]["rows"]
        cells = [c for r in rows for c in r if isinstance(c, (int, float)) and not isinstance(c, bool)]
        if any(isinstance(c, float) and (c != c or c < 0) for c in cells) or any(c < 0 for c in cells):
            bad.append(f"{name} has negative or NaN counts")
            continue
        total = float(sum(cells))
        if abs(total - size) >= 0.5:
            bad.append(f"{name} sums to {total:.0f}, the test size is {size:g}")
    return not bad, len(tables) - len(bad), ("; ".join(bad) if bad else f"{len(tables)} matrix(es) sum to the test size {size:g}")


PROPERTIES["confusion_totals"] = confusion_totals
