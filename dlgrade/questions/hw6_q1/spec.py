"""hw6.q1 constants and settings: a 5x5 integer matrix, Keras' epsilon; no training, the same in every profile."""

from __future__ import annotations

from dataclasses import dataclass

from dlgrade.kit.config import Config as BaseConfig
from dlgrade.profiles import PROFILES

SANDBOX_SAFE = True
EPSILON = 1e-3  # Keras' default for both layers
SEED_OFFSETS = {"matrix": 0}


@dataclass(frozen=True)
class Config(BaseConfig):
    """Attributes:
        size: rows and columns of the matrix.
        low, high: its integer entries are drawn from ``[low, high)``.
    """

    size: int
    low: int
    high: int


CONFIGS = {p: Config(size=5, low=0, high=10) for p in PROFILES}

WORDS = {
    "column": {
        "matrix": {"en": "matrix", "fa": "ماتریس"},
        "axis": {"en": "axis", "fa": "محور"},
        "mean_min": {"en": "smallest mean", "fa": "کمترین میانگین"},
        "mean_max": {"en": "largest mean", "fa": "بیشترین میانگین"},
        "std_min": {"en": "smallest std", "fa": "کمترین انحراف معیار"},
        "std_max": {"en": "largest std", "fa": "بیشترین انحراف معیار"},
    },
    "value": {
        "batch_norm": {"en": "BatchNorm", "fa": "نرمال‌سازی دسته‌ای"},
        "layer_norm": {"en": "LayerNorm", "fa": "نرمال‌سازی لایه‌ای"},
        "columns": {"en": "columns", "fa": "ستون‌ها"},
        "rows": {"en": "rows", "fa": "سطرها"},
    },
    "caption": {
        "input": {"en": "Input X", "fa": "ورودی X"},
        "batch_norm": {"en": "BatchNorm (NumPy): per column", "fa": "نرمال‌سازی دسته‌ای (NumPy): هر ستون"},
        "layer_norm": {"en": "LayerNorm (NumPy): per row", "fa": "نرمال‌سازی لایه‌ای (NumPy): هر سطر"},
        "keras_batch_norm": {"en": "Keras BatchNormalization(training=True)", "fa": "BatchNormalization کراس در حالت آموزش"},
        "keras_layer_norm": {"en": "Keras LayerNormalization", "fa": "LayerNormalization کراس"},
    },
}


# The numbers the report shows side by side (this run, the shipped full run, the reference report): metric, REFERENCE key
# (a dotted path into the reference's nested numbers).
HEADLINE = (("bn.max_abs_column_std_error", None), ("bn.max_abs_diff_keras", None), ("ln.max_abs_diff_keras", None), ("bn_ln.max_abs_difference", None))
