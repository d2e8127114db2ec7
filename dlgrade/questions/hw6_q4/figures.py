"""hw6.q4 figures: learning curves of the best trial and of the retrain, and the test confusion matrix."""

from __future__ import annotations

import numpy as np

from dlgrade.data.registry import CIFAR10_CLASSES
from dlgrade.kit import plots


def learning_curves(ctx, best_trial_history: dict | None, retrain_history: dict, smallest_history: dict | None = None) -> None:
    curves = {"best trial (search)": best_trial_history} if best_trial_history else {}
    curves["best, retrained"] = retrain_history
    if smallest_history:
        curves["smallest model"] = smallest_history
    plots.learning_curves(curves, ctx.figure("learning_curves", "learning_curves.png"), title="CIFAR-10: best configuration")


def confusion_matrix(ctx, confusion: np.ndarray) -> None:
    plots.confusion_matrix(confusion, CIFAR10_CLASSES, ctx.figure("confusion_matrix", "confusion_matrix.png"),
                           title=f"CIFAR-10 test ({int(confusion.sum())} images), row-normalised")
