"""Comparisons with their noise band: what a report's "above", "within noise" and "below" are chosen from.

A comparison is ``a - b`` against a band of two standard errors of that difference: over seeds when a profile
repeats a training (the spread of each side), else the binomial error of two accuracies on ``n`` test images.
The verdict is a code (``above``, ``within``, ``below``) that the templates turn into words.
"""

from __future__ import annotations

import math
import statistics
from typing import Sequence

SANDBOX_SAFE = True
Z = 2.0  # two standard errors: a difference inside the band is not called a difference


def accuracy_band(a: float, b: float, n: int, z: float = Z) -> float:
    """``z`` standard errors of the difference of two accuracies ``a`` and ``b``, each measured on ``n`` images
    (independent binomial errors; conservative for two models scored on the same images)."""
    if n <= 0:
        raise ValueError(f"accuracy_band: expected a positive number of test images, got {n}")
    return z * math.sqrt((a * (1 - a) + b * (1 - b)) / n)


def seeds_band(a: Sequence[float], b: Sequence[float], z: float = Z) -> float | None:
    """``z`` standard errors of the difference of the means of ``a`` and ``b`` (values over seeds); None with
    fewer than two seeds on either side (one seed has no spread to measure)."""
    if len(a) < 2 or len(b) < 2:
        return None
    return z * math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))


def compare(a: float, b: float, band: float | None) -> dict:
    """``{"a", "b", "diff", "band", "verdict"}``: ``above``/``below`` when ``|a - b|`` exceeds ``band``, else
    ``within``; with no band (one seed and no binomial model) the verdict is ``unmeasured``."""
    diff = float(a - b)
    if band is None:
        verdict = "unmeasured"
    elif diff > band:
        verdict = "above"
    elif diff < -band:
        verdict = "below"
    else:
        verdict = "within"
    return {"a": float(a), "b": float(b), "diff": diff, "band": None if band is None else float(band), "verdict": verdict}


def compare_accuracies(a: float, b: float, n: int) -> dict:
    """:func:`compare` of two test accuracies on the same ``n`` images, with the binomial band."""
    return compare(a, b, accuracy_band(a, b, n))


def compare_seeds(a: Sequence[float], b: Sequence[float]) -> dict:
    """:func:`compare` of the means of two measures over seeds, with the seeds' band."""
    out = compare(statistics.fmean(a), statistics.fmean(b), seeds_band(a, b))
    out["seeds"] = min(len(a), len(b))
    return out


def compare_runs(a: Sequence[float], b: Sequence[float], n: int) -> dict:
    """Two measures over the same seeds: :func:`compare_seeds` with two or more seeds, else the binomial band of
    accuracies on ``n`` test images (one seed has no spread to measure)."""
    if len(a) >= 2 and len(b) >= 2:
        return compare_seeds(a, b)
    out = compare_accuracies(statistics.fmean(a), statistics.fmean(b), n)
    out["seeds"] = min(len(a), len(b))
    return out
