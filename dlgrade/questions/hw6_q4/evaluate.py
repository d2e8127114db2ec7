"""hw6.q4 measurements: the trials table and the best trial from what the search returned, and the per-class
report of the retrained model's test predictions against the test labels only the trusted side holds."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from dlgrade.data.registry import CIFAR10_CLASSES
from dlgrade.kit.class_report import ClassReport, class_report
from dlgrade.kit.runner import StepFailed

from .spec import describe

TRIAL_COLUMNS = ["trial", "conv_blocks", "filters", "pooling", "dropout", "dense_units", "learning_rate", "epochs_run",
                 "best_val_accuracy", "status"]


def checked_trials(trials: Any, step: str = "search") -> list[dict]:
    """The trials a search returned, or StepFailed naming what is malformed (a sandbox returns data, not trust)."""
    if not isinstance(trials, list) or not trials:
        raise StepFailed(step, "wrong_type", "the search returned no list of trials")
    for i, t in enumerate(trials):
        ok = (isinstance(t, dict) and isinstance(t.get("values"), dict) and isinstance(t.get("trial"), int)
              and isinstance(t.get("status"), str) and isinstance(t.get("id"), str)
              and (t.get("score") is None or (isinstance(t["score"], (int, float)) and math.isfinite(t["score"]))))
        if not ok:
            raise StepFailed(step, "wrong_type", f"trial {i} is not {{trial, id, values, score, status}} with a finite score or None")
    return trials


def best_trial(trials: Sequence[dict]) -> dict:
    """The scored trial with the highest score (the first of equals, in trial order)."""
    scored = [t for t in trials if t["score"] is not None]
    if not scored:
        raise StepFailed("search", "error", "no trial produced a score")
    return max(scored, key=lambda t: float(t["score"]))


def trial_rows(trials: Sequence[dict], histories: dict) -> list[list]:
    """One row per trial (columns ``TRIAL_COLUMNS``): the blocks it uses, the epochs it ran, its best score."""
    rows = []
    for t in trials:
        d = describe(t["values"])
        epochs_run = len((histories.get(t["id"]) or {}).get("val_accuracy", [])) or None
        rows.append([t["trial"], d["conv_blocks"], d["filters"], d["pooling"], d["dropout"], d["dense_units"],
                     d["learning_rate"], epochs_run, None if t["score"] is None else round(float(t["score"]), 4), t["status"]])
    return rows


def test_report(y_test: np.ndarray, probs: np.ndarray) -> tuple[ClassReport, np.ndarray]:
    """The class report of the predicted classes (argmax of ``probs``) against ``y_test``, and the predictions."""
    y_pred = probs.argmax(axis=1)
    return class_report(y_test, y_pred, len(CIFAR10_CLASSES)), y_pred


def ranked_by_f1(rep: ClassReport) -> list[int]:
    """Class indices from the lowest F1 to the highest (equal F1s keep the class order)."""
    return sorted(range(len(CIFAR10_CLASSES)), key=lambda k: rep.f1[k])


def top_confusion(confusion: np.ndarray) -> dict:
    """The most frequent off-diagonal cell: true class, predicted class, count, and its share of the true class."""
    off = confusion.astype(float).copy()
    np.fill_diagonal(off, 0)
    ti, pj = np.unravel_index(int(off.argmax()), off.shape)
    return {"true": CIFAR10_CLASSES[ti], "predicted": CIFAR10_CLASSES[pj], "count": int(off[ti, pj]),
            "share": float(off[ti, pj] / max(confusion[ti].sum(), 1))}


def confusion_rows(confusion: np.ndarray) -> list[list]:
    return [[name, *[int(v) for v in confusion[i]]] for i, name in enumerate(CIFAR10_CLASSES)]
