"""hw14.q3 measurements (trusted): every score of one split from returned probabilities and labels only this
side holds, their means over seeds per training, and the validation curves."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dlgrade.kit.class_report import class_report
from dlgrade.kit.runner import StepFailed, expect_output

from .data import CLASSES
from .spec import MALIGNANT, NUM_CLASSES, SPLITS

EPSILON = 1e-7  # Keras' clipping of probabilities in cross-entropy
MEL, NV = CLASSES.index("mel"), CLASSES.index("nv")
MALIGNANT_INDEX = [CLASSES.index(c) for c in MALIGNANT]
SEED_KEYS = ("accuracy", "balanced_accuracy", "macro_recall", "macro_f1", "auc", "mel_recall", "malignant_recall",
             "nv_recall", "never_predicted")


def rounded(v, digits: int = 4):
    """``v`` rounded for results (None when missing or not finite)."""
    return None if v is None or not np.isfinite(v) else round(float(v), digits)


def split_scores(y_true, proba) -> dict:
    """Every number the question asks for, for one split.

    Returns a dict with ``accuracy``, ``balanced_accuracy`` (= macro recall), ``macro_f1``, ``weighted_f1``,
    ``auc`` (one-vs-rest, macro over classes present), ``mean_ap``, the per-class ``report``
    (:class:`~dlgrade.kit.class_report.ClassReport`), ``ap``/``class_auc`` per class, ``pr_curves`` and the
    ``never_predicted`` class codes.
    """
    from sklearn import metrics as skm

    y = np.asarray(y_true).reshape(-1)
    p = np.asarray(proba, dtype=np.float64)
    if p.shape != (len(y), NUM_CLASSES):
        raise ValueError(f"probabilities have shape {p.shape}, expected ({len(y)}, {NUM_CLASSES})")
    pred = p.argmax(axis=1)
    report = class_report(y, pred, NUM_CLASSES)
    ap, auc, curves = np.full(NUM_CLASSES, np.nan), np.full(NUM_CLASSES, np.nan), []
    for k in range(NUM_CLASSES):
        pos = (y == k).astype(int)
        if 0 < pos.sum() < len(y):
            ap[k] = skm.average_precision_score(pos, p[:, k])
            auc[k] = skm.roc_auc_score(pos, p[:, k])
            pr, rc, _ = skm.precision_recall_curve(pos, p[:, k])
            curves.append((rc, pr))
        else:
            curves.append((np.array([0.0, 1.0]), np.array([np.nan, np.nan])))
    return {
        "accuracy": float(np.mean(pred == y)),
        "balanced_accuracy": report.macro("recall", present_only=True),
        "macro_recall": report.macro("recall", present_only=True),
        "macro_precision": report.macro("precision", present_only=True),
        "macro_f1": report.macro("f1", present_only=True),
        "weighted_f1": report.weighted("f1"),
        "auc": float(np.nanmean(auc)) if np.isfinite(auc).any() else float("nan"),
        "mean_ap": float(np.nanmean(ap)) if np.isfinite(ap).any() else float("nan"),
        "report": report, "ap": ap, "class_auc": auc, "pr_curves": curves,
        "never_predicted": [CLASSES[k] for k in range(NUM_CLASSES) if not (pred == k).any()],
        "n": int(len(y)),
    }


def score_runs(step: str, runs, labels: dict[str, np.ndarray], seeds: int) -> list[dict[str, dict]]:
    """Per seed, :func:`split_scores` of each split from the probabilities a training step returned.

    Raises:
        StepFailed: not one run per seed, or probabilities of the wrong shape / not finite.
    """
    if not isinstance(runs, (list, tuple)) or len(runs) != seeds:
        raise StepFailed(step, "shape", f"expected {seeds} run(s), one per seed, got "
                         f"{len(runs) if isinstance(runs, (list, tuple)) else type(runs).__name__}")
    out = []
    for i, run in enumerate(runs):
        probs = run.get("probabilities") if isinstance(run, dict) else None
        if not isinstance(probs, dict):
            raise StepFailed(step, "missing", f"run {i} has no probabilities per split")
        out.append({s: split_scores(labels[s], expect_output(probs.get(s), step, f"run {i} {s} probabilities",
                                                              (len(labels[s]), NUM_CLASSES))) for s in SPLITS})
    return out


def seed_values(test: dict) -> dict[str, float]:
    """The test numbers the remedies are compared on, for one seed."""
    recall = test["report"].recall
    return {"accuracy": test["accuracy"], "balanced_accuracy": test["balanced_accuracy"], "macro_recall": test["macro_recall"],
            "macro_f1": test["macro_f1"], "auc": test["auc"], "mel_recall": float(recall[MEL]),
            "malignant_recall": float(np.mean(recall[MALIGNANT_INDEX])), "nv_recall": float(recall[NV]),
            "never_predicted": len(test["never_predicted"])}


def over_seeds(scores: list[dict[str, dict]]) -> dict[str, float]:
    """Mean and standard deviation (``<key>_std``, 0 for one seed) over seeds of :func:`seed_values` on the test
    split, the mean validation balanced accuracy (``val_balanced_accuracy``) and the mean test recall per class."""
    per_seed = [seed_values(s["test"]) for s in scores]
    row: dict = {}
    for key in SEED_KEYS:
        vals = np.array([p[key] for p in per_seed], dtype=np.float64)
        row[key] = float(np.nanmean(vals))
        row[key + "_std"] = float(np.nanstd(vals)) if len(vals) > 1 else 0.0
    row["val_balanced_accuracy"] = float(np.mean([s["val"]["balanced_accuracy"] for s in scores]))
    row["class_recall"] = [float(np.mean([s["test"]["report"].recall[k] for s in scores])) for k in range(NUM_CLASSES)]
    return row


def cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean sparse categorical cross-entropy (rows renormalised and clipped as Keras does)."""
    p = probabilities / probabilities.sum(axis=1, keepdims=True)
    return float(-np.log(np.clip(p[np.arange(len(labels)), labels], EPSILON, 1 - EPSILON)).mean())


def curves(step: str, history, val_probabilities: Sequence, y_val: np.ndarray, epochs: int) -> dict[str, list[float]]:
    """The first seed's learning curves: training accuracy and loss as trained, validation accuracy and loss
    (cross-entropy plus the model's regularisation loss, as Keras reports it) computed here."""
    if not isinstance(history, dict) or not isinstance(val_probabilities, (list, tuple)) or len(val_probabilities) != epochs:
        raise StepFailed(step, "shape", f"expected a history and {epochs} epoch(s) of validation probabilities")
    out = {k: [float(v) for v in expect_output(history.get(k), step, f"history {k}", (epochs,))]
           for k in ("accuracy", "loss", "regularization_loss")}
    y = np.asarray(y_val).reshape(-1)
    probs = [expect_output(p, step, f"validation probabilities after epoch {e + 1}", (len(y), NUM_CLASSES))
             for e, p in enumerate(val_probabilities)]
    out["val_accuracy"] = [float(np.mean(p.argmax(axis=1) == y)) for p in probs]
    out["val_loss"] = [cross_entropy(p, y) + reg for p, reg in zip(probs, out.pop("regularization_loss"))]
    return out


def report_rows(ev: dict) -> list[list]:
    """``[class, precision, recall, F1, support, AP, AUC]`` per class."""
    r = ev["report"]
    return [[name, rounded(r.precision[k]), rounded(r.recall[k]), rounded(r.f1[k]), int(r.support[k]), rounded(ev["ap"][k]),
             rounded(ev["class_auc"][k])] for k, name in enumerate(CLASSES)]


def confusion_rows(ev: dict) -> list[list]:
    """The confusion matrix with the true class's code first in each row."""
    return [[name] + [int(c) for c in ev["report"].confusion[k]] for k, name in enumerate(CLASSES)]
