"""hw6.q3 data (trusted): the 200 labelled images, the unlabelled ones for the pretext and the joint training,
the scored test images, and the rotated validation and test images whose rotations only this side holds."""

from __future__ import annotations

import numpy as np

from dlgrade.kit.keras_fit import scale_images
from dlgrade.kit.seeds import take

from .reference import rotate_batch as true_rotations


def labelled_split(y: np.ndarray, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``per_class`` seeded random images of every class (sorted), and of all the other images.

    Raises:
        ValueError: a class has fewer than ``per_class`` images.
    """
    y = np.asarray(y).ravel()
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if len(idx) < per_class:
            raise ValueError(f"class {c} has {len(idx)} images, fewer than the {per_class} asked for")
        picked.append(rng.choice(idx, per_class, replace=False))
    lab = np.sort(np.concatenate(picked))
    rest = np.setdiff1d(np.arange(len(y)), lab)
    return lab, rest


def rotated_shuffled(images: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every image in its four rotations with the rotation as label, in a seeded random order (so that a
    sample's position does not tell its rotation)."""
    x, y = true_rotations(images)
    order = take(len(y), None, seed)
    return x[order], y[order]


def rotation_probe() -> np.ndarray:
    """A 4x4 one-channel image marked at its top-left corner (1.0) and its right neighbour (0.5)."""
    probe = np.zeros((1, 4, 4, 1), np.float32)
    probe[0, 0, 0, 0], probe[0, 0, 1, 0] = 1.0, 0.5
    return probe


def prepare(cifar, cfg, seeds) -> dict:
    """Every array the run uses, from CIFAR-10 (``x_train``/``y_train``/``x_test``/``y_test``), the question's
    :class:`~.spec.Config` and its named seeds. Images are float32 in [0, 1]."""
    x_all, y_all = cifar["x_train"], np.asarray(cifar["y_train"]).ravel()
    lab_idx, rest_idx = labelled_split(y_all, cfg.labelled_per_class, seeds["labelled_split"])
    rest_idx = rest_idx[take(len(rest_idx), None, seeds["unlabelled_order"])]
    n_unlab = len(rest_idx) if cfg.unlabelled_samples is None else cfg.unlabelled_samples
    unlab_idx = rest_idx[:n_unlab]
    n_val = int(round(cfg.pretext_val_fraction * n_unlab))
    n_joint = n_unlab if cfg.joint_unlabelled_samples is None else cfg.joint_unlabelled_samples
    y_test_all = np.asarray(cifar["y_test"]).ravel()
    test_idx = (np.arange(len(y_test_all)) if cfg.test_samples is None
                else take(len(y_test_all), cfg.test_samples, seeds["test_subset"], sort=True))
    x_test = scale_images(cifar["x_test"][test_idx])
    x_pretext_val, y_pretext_val = rotated_shuffled(scale_images(x_all[unlab_idx[:n_val]]), seeds["pretext_val_order"])
    x_rot_test, y_rot_test = rotated_shuffled(x_test[:cfg.rotation_test_images], seeds["rotated_test_order"])
    return {
        "x_lab": scale_images(x_all[lab_idx]), "y_lab": y_all[lab_idx],
        "x_unlabelled": scale_images(x_all[unlab_idx[n_val:]]),
        "x_pretext_val": x_pretext_val, "y_pretext_val": y_pretext_val,
        "x_joint_unlabelled": scale_images(x_all[rest_idx[:n_joint]]),
        "x_test": x_test, "y_test": y_test_all[test_idx],
        "x_rot_test": x_rot_test, "y_rot_test": y_rot_test,
        "probe": rotation_probe(),
        "sizes": {"unlabelled": int(n_unlab), "pretext_val": int(n_val), "joint_unlabelled": int(n_joint),
                  "rotation_test": int(len(x_test[:cfg.rotation_test_images]))},
    }
