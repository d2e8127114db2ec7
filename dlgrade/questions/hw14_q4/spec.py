"""hw14.q4 constants and settings: the homework's search space, the baseline, the sizes per profile."""

from __future__ import annotations

from dataclasses import dataclass

from dlgrade.kit.config import Config as BaseConfig

SANDBOX_SAFE = True
UNITS = (16, 512, 16)  # min, max, step
LEARNING_RATES = (1e-4, 5e-4, 1e-3, 5e-3, 1e-2)
BASELINE_UNITS = 128
# The homework's original model: Adam at 0.01. Measured at quick size over seeds 0/1/2: val 0.855 (test 0.845) at
# 0.01 vs 0.878 (test 0.872) at 1e-3, so most of the homework's "tuning gain" (0.8475 -> 0.886) is this rate.
BASELINE_LEARNING_RATE = 1e-2
# That measurement (quick sizes, seeds 0/1/2, the baseline model at each rate; means), which the discussion cites.
LEARNING_RATE_STUDY = {"seeds": 3, "rates": [1e-2, 1e-3], "val_accuracy": [0.8552, 0.8779], "test_accuracy": [0.8448, 0.8717]}
VAL_FRACTION = 0.2
REFERENCE = {"baseline_val_accuracy": 0.8475, "best_val_accuracy": 0.886, "best_units": 32,
             "best_learning_rate": 1e-3, "retrain_val_accuracy": 0.878, "retrain_train_accuracy": 0.927}
SEED_OFFSETS = {"subset": 0, "tuner": 0}


@dataclass(frozen=True)
class Config(BaseConfig):
    """Attributes:
        train_samples: training images used (None: all 60,000), 20 % of them held out for validation.
        batch_size: for every fit.
        epochs_baseline, epochs_trial, epochs_retrain: epochs of the baseline, of each trial, of the retrain.
        trials: BayesianOptimization trials.
    """

    train_samples: int | None
    batch_size: int
    epochs_baseline: int
    trials: int
    epochs_trial: int
    epochs_retrain: int


CONFIGS = {
    "smoke": Config(train_samples=3000, batch_size=64, epochs_baseline=1, trials=2, epochs_trial=1, epochs_retrain=1),
    "quick": Config(train_samples=None, batch_size=32, epochs_baseline=5, trials=3, epochs_trial=5, epochs_retrain=5),
    "full": Config(train_samples=None, batch_size=32, epochs_baseline=50, trials=3, epochs_trial=50, epochs_retrain=50),
}

WORDS = {
    "column": {
        "trial": {"en": "trial", "fa": "آزمایش"},
        "units": {"en": "units", "fa": "تعداد نورون"},
        "learning_rate": {"en": "learning rate", "fa": "نرخ یادگیری"},
        "best_val_accuracy": {"en": "best val accuracy", "fa": "بهترین صحت اعتبارسنجی"},
        "status": {"en": "status", "fa": "وضعیت"},
        "model": {"en": "model", "fa": "مدل"},
        "epochs": {"en": "epochs", "fa": "دوره"},
        "train_accuracy": {"en": "train accuracy", "fa": "صحت آموزش"},
        "val_accuracy": {"en": "val accuracy", "fa": "صحت اعتبارسنجی"},
        "test_accuracy": {"en": "test accuracy", "fa": "صحت آزمون"},
        "quantity": {"en": "quantity", "fa": "کمیت"},
        "measured": {"en": "measured", "fa": "اندازه‌گیری‌شده"},
    },
    "caption": {
        "trials": {"en": "Every trial of the search", "fa": "همهٔ آزمایش‌های جست‌وجو"},
        "summary": {"en": "Baseline vs best configuration retrained", "fa": "مدل پایه در برابر بهترین پیکربندی پس از آموزش دوباره"},
        "learning_curves": {"en": "Learning curves of the baseline and of the retrained best configuration (solid: training, dashed: validation).",
                            "fa": "منحنی‌های یادگیری مدل پایه و بهترین پیکربندی پس از آموزش دوباره (خط پر: آموزش، خط‌چین: اعتبارسنجی)."},
        "reference": {"en": "Measured here vs the reference report (GPU, full size)",
                      "fa": "مقدار اندازه‌گیری‌شده در اینجا در برابر گزارش مرجع (GPU، اندازهٔ کامل)"},
    },
    "quantity": {
        "baseline_val": {"en": "baseline val accuracy", "fa": "صحت اعتبارسنجی مدل پایه"},
        "best_trial_val": {"en": "best trial val accuracy", "fa": "صحت اعتبارسنجی بهترین آزمایش"},
        "best_units_lr": {"en": "best units / learning rate", "fa": "بهترین تعداد نورون / نرخ یادگیری"},
        "retrain_val": {"en": "retrained val accuracy", "fa": "صحت اعتبارسنجی پس از آموزش دوباره"},
        "retrain_train": {"en": "retrained train accuracy", "fa": "صحت آموزش پس از آموزش دوباره"},
    },
    "value": {
        "baseline": {"en": "baseline", "fa": "مدل پایه"},
        "tuned_retrained": {"en": "tuned, retrained", "fa": "بهترین پیکربندی، آموزش دوباره"},
        "COMPLETED": {"en": "completed", "fa": "کامل"},
    },
}


# The numbers the report shows side by side (this run, the shipped full run, the reference report): metric, REFERENCE key.
HEADLINE = (("baseline.val.accuracy", "baseline_val_accuracy"), ("baseline.test.accuracy", None), ("tuner.val.best_accuracy", "best_val_accuracy"), ("retrain.val.accuracy", "retrain_val_accuracy"), ("retrain.test.accuracy", None))
