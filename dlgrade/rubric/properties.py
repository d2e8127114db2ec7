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


def range_for_data(result: TaskResult, ranges: dict, profile: str, source_metric: str = "data.source") -> tuple[float, float] | None:
    """The ``[low, high]`` that ``ranges`` gives for the data ``result`` used, in the graded ``profile`` (None if none)."""
    source = result.metrics.get(source_metric)
    by_profile = ranges.get(source) if isinstance(source, str) else None
    pair = (by_profile or {}).get(profile)
    return None if pair is None else (float(pair[0]), float(pair[1]))


def range_by_data(result: TaskResult, metric: str, ranges: dict, profile: str, source_metric: str = "data.source") -> tuple[bool, Any, str]:
    """``metric`` lies in the range given for the data the run used, in the graded profile.

    ``ranges`` maps a data source (the value of ``source_metric``, e.g. ``dermamnist`` or ``standin``)
    to ``{profile: [low, high]}``; a source or profile without a range fails, so results on one
    dataset are never graded with another's ranges.
    """
    source = result.metrics.get(source_metric)
    if source not in ranges:
        return False, None, f"{source_metric} is {source!r}; ranges exist only for {sorted(ranges)}"
    bounds = range_for_data(result, ranges, profile, source_metric)
    if bounds is None:
        return False, None, f"no range for {source} data in profile {profile!r}"
    low, high = bounds
    value = result.metrics.get(metric)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not np.isfinite(value):
        return False, value, f"{metric} is {value!r}, not a finite number"
    ok = low <= value <= high
    return ok, value, f"{metric} = {value:.4g} {'inside' if ok else 'outside'} [{low:g}, {high:g}] ({source} data, {profile})"


def expected_text(result: TaskResult, prop: str, args: dict, profile: str) -> str:
    """What a property check expects, for a verdict table: the range a ``range_by_data`` check applies
    to this result, else the property's name."""
    if prop == "range_by_data":
        bounds = range_for_data(result, args.get("ranges") or {}, profile, args.get("source_metric", "data.source"))
        if bounds is not None:
            return f"[{bounds[0]:g}, {bounds[1]:g}]"
    return prop


def data_source_verified(result: TaskResult, dataset: str, file: str, source_metric: str = "data.source",
                         standin_from: str | None = None) -> tuple[bool, Any, str]:
    """The data a run claims (``source_metric``) matches its provenance: a claim of ``dataset`` needs
    ``file`` with a verified checksum in ``provenance.data``; a stand-in claim needs ``standin_from``
    loaded and ``dataset`` absent. So a stand-in run cannot pass as the real dataset."""
    source = result.metrics.get(source_metric)
    data = result.provenance.get("data") or {}
    if source == dataset:
        info = ((data.get(dataset) or {}).get("files") or {}).get(file) or {}
        if not info.get("verified"):
            return False, source, f"claims {dataset} but provenance has no verified checksum for {file}"
        return True, source, f"{dataset}: {file} verified by {info['verified']}"
    if source == "standin":
        if dataset in data:
            return False, source, f"claims the stand-in but {dataset} was loaded"
        if standin_from and standin_from not in data:
            return False, source, f"claims the stand-in but {standin_from} was not loaded"
        return True, source, f"stand-in built from {standin_from or 'other data'}; graded with the stand-in's ranges, not as {dataset}"
    return False, source, f"{source_metric} is {source!r}, expected {dataset!r} or 'standin'"


PROPERTIES["range_by_data"] = range_by_data
PROPERTIES["data_source_verified"] = data_source_verified
