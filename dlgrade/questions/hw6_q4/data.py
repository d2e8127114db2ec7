"""hw6.q4 data: a seeded train/validation split of CIFAR-10's training images and a seeded subset of its
test images, scaled to [0, 1] (trusted: the test labels stay here)."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from dlgrade.kit.keras_fit import scale_images
from dlgrade.kit.seeds import Seeds, subset, take

from .spec import Config


def split_data(data: Mapping[str, np.ndarray], cfg: Config, seeds: Seeds) -> dict[str, np.ndarray]:
    """``x_train``/``y_train`` and ``x_val``/``y_val`` drawn without overlap from the official training images
    (seed ``split``), and ``x_test``/``y_test``: ``cfg.test_samples`` official test images (seed ``test_subset``),
    or all of them in their order when None. Labels are flat int arrays.

    Raises:
        ValueError: ``train_samples + val_samples`` exceeds the training images.
    """
    x, y = data["x_train"], np.asarray(data["y_train"]).reshape(-1)
    n_val = int(cfg.val_samples)
    n_train = cfg.train_samples or len(x) - n_val
    if n_train + n_val > len(x):
        raise ValueError(f"train_samples + val_samples = {n_train + n_val} exceeds the {len(x)} training images")
    idx = take(len(x), n_val + n_train, seeds["split"])  # scale only the images used
    val, tr = idx[:n_val], idx[n_val:]
    x_te, y_te = data["x_test"], np.asarray(data["y_test"]).reshape(-1)
    if cfg.test_samples is not None:
        x_te, y_te = subset(x_te, y_te, cfg.test_samples, seeds["test_subset"])
    return {"x_train": scale_images(x[tr]), "y_train": y[tr], "x_val": scale_images(x[val]), "y_val": y[val],
            "x_test": scale_images(x_te), "y_test": y_te}
