"""Per-class precision, recall, F1 and support, their averages and the confusion matrix (scikit-learn)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass
class ClassReport:
    """Per-class arrays (index = class), the confusion matrix (rows: true, columns: predicted) and averages."""

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    confusion: np.ndarray

    @property
    def present(self) -> np.ndarray:
        return self.support > 0

    def macro(self, measure: str, present_only: bool = False) -> float:
        """Mean of ``measure`` over classes (only those present in ``y_true`` when ``present_only``)."""
        values = getattr(self, measure)
        return float(np.mean(values[self.present] if present_only else values))

    def weighted(self, measure: str) -> float:
        """Mean of ``measure`` weighted by support."""
        if self.support.sum() == 0:
            return 0.0
        return float(np.average(getattr(self, measure), weights=self.support))

    def rows(self, names: Sequence[str], digits: int = 4) -> list[list]:
        """``[name, precision, recall, F1, support]`` per class, then the macro and weighted averages
        (as scikit-learn's ``classification_report`` prints them)."""
        out = [[n, round(float(self.precision[k]), digits), round(float(self.recall[k]), digits),
                round(float(self.f1[k]), digits), int(self.support[k])] for k, n in enumerate(names)]
        total = int(self.support.sum())
        out.append(["macro_avg", *(round(self.macro(m), digits) for m in ("precision", "recall", "f1")), total])
        out.append(["weighted_avg", *(round(self.weighted(m), digits) for m in ("precision", "recall", "f1")), total])
        return out


def class_report(y_true, y_pred, num_classes: int) -> ClassReport:
    """The report of ``y_pred`` against ``y_true`` for classes ``0..num_classes-1`` (absent classes score 0)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = list(range(num_classes))
    y, p = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    prec, rec, f1, support = precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
    return ClassReport(prec, rec, f1, support, confusion_matrix(y, p, labels=labels))
