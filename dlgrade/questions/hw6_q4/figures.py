"""hw6.q4 figures: learning curves of the best trial and of the retrain, and the test confusion matrix, drawn in
each report language (class names: ``spec.CLASS_WORDS``)."""

from __future__ import annotations

import numpy as np

from dlgrade.data.registry import CIFAR10_CLASSES
from dlgrade.kit import plots
from dlgrade.typeset.numbers import fmt_number

from .spec import CLASS_WORDS

CURVES = {"best_trial": {"en": "best trial (search)", "fa": "بهترین آزمایش (جست‌وجو)"},
          "retrained": {"en": "best, retrained", "fa": "بهترین، دوباره آموزش‌دیده"}}


def learning_curves(ctx, best_trial_history: dict | None, retrain_history: dict, smallest_history: dict | None = None) -> None:
    curves = {"best_trial": best_trial_history} if best_trial_history else {}
    curves["retrained"] = retrain_history
    if smallest_history:
        curves["smallest"] = smallest_history
    plots.draw(ctx.figure("learning_curves", "learning_curves.png"), plots.learning_curves, curves, labels=CURVES,
               title={"en": "CIFAR-10: best configuration", "fa": "CIFAR-10: بهترین پیکربندی"})


def confusion_matrix(ctx, confusion: np.ndarray) -> None:
    n = int(confusion.sum())
    plots.draw(ctx.figure("confusion_matrix", "confusion_matrix.png"), plots.confusion_matrix, confusion,
               [CLASS_WORDS[c] for c in CIFAR10_CLASSES],
               title={"en": f"CIFAR-10 test ({n} images), row-normalised", "fa": f"آزمون CIFAR-10 ({fmt_number(n, 0, 'fa')} تصویر)، نرمال‌شده در هر سطر"})
