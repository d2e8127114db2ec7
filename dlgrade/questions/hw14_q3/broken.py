"""hw14.q3, deliberately broken (``dlgrade calibrate hw14.q3 --variant broken``): a remedy that hurts. The class
weights are inverted (proportional to each class's count, so the majority class weighs most), with the reference's
ResNet-14. The class-weighted remedy's ranges (its balanced accuracy and its gain) must fail it."""

from __future__ import annotations

import numpy as np

from .reference import build_resnet14  # noqa: F401


def class_weights(labels, num_classes: int) -> np.ndarray:
    counts = np.bincount(np.asarray(labels).reshape(-1), minlength=num_classes).astype(np.float64)
    return num_classes * counts / counts.sum()
