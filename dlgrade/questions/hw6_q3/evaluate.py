"""hw6.q3 measurements (trusted): accuracy and cross-entropy curves from the probabilities the training steps
return, against labels only this side holds, and the check of the student's rotation labels."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dlgrade.kit.runner import StepFailed, expect_output

EPSILON = 1e-7  # Keras' clipping of probabilities in cross-entropy
# Where the probe's marked corner (0, 0) lands after k quarter turns counter-clockwise (np.rot90).
PROBE_CORNER = {0: (0, 0), 1: (3, 0), 2: (3, 3), 3: (0, 3)}


def cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean categorical cross-entropy of ``labels`` under ``probabilities`` (rows renormalised and clipped
    as Keras does)."""
    p = probabilities / probabilities.sum(axis=1, keepdims=True)
    p = np.clip(p[np.arange(len(labels)), labels], EPSILON, 1 - EPSILON)
    return float(-np.log(p).mean())


def epoch_scores(per_epoch: Sequence, labels: np.ndarray, step: str, name: str, classes: int,
                 epochs: int) -> tuple[list[float], list[float]]:
    """Accuracy and cross-entropy after each epoch from the probabilities a training step returned.

    Raises:
        StepFailed: not one ``(len(labels), classes)`` array of finite numbers per epoch.
    """
    if not isinstance(per_epoch, (list, tuple)) or len(per_epoch) != epochs:
        got = f"{len(per_epoch)} item(s)" if isinstance(per_epoch, (list, tuple)) else f"a {type(per_epoch).__name__}"
        raise StepFailed(step, "shape", f"{name}: expected one array per epoch ({epochs}), got {got}")
    y = np.asarray(labels).reshape(-1).astype(np.int64)
    accuracies, losses = [], []
    for e, value in enumerate(per_epoch):
        p = expect_output(value, step, f"{name} after epoch {e + 1}", (len(y), classes))
        accuracies.append(float(np.mean(p.argmax(axis=1) == y)))
        losses.append(cross_entropy(p, y))
    return accuracies, losses


def train_curve(history, key: str, step: str, epochs: int) -> list[float]:
    """``history[key]`` (a training history a step returned) as ``epochs`` finite floats."""
    if not isinstance(history, dict) or key not in history:
        raise StepFailed(step, "missing", f"the training history has no {key!r}")
    return [float(v) for v in expect_output(history[key], step, f"history {key}", (epochs,))]


def scored_history(step: str, history, per_epoch, labels, classes: int, epochs: int) -> dict[str, list[float]]:
    """The training curves (``accuracy``, ``loss``) with the held-out ones (``val_accuracy``, ``val_loss``)
    computed here."""
    acc, loss = epoch_scores(per_epoch, labels, step, "the held-out probabilities", classes, epochs)
    return {"accuracy": train_curve(history, "accuracy", step, epochs), "loss": train_curve(history, "loss", step, epochs),
            "val_accuracy": acc, "val_loss": loss}


def rotation_labels_ok(rotated, labels, probe: np.ndarray) -> bool:
    """Do ``(rotated, labels)``, the student's rotations of ``probe``, label its four quarter turns correctly
    (the marked corner where ``np.rot90`` puts it, the whole image equal to ``np.rot90(probe, k)``)?"""
    try:
        rotated, labels = np.asarray(rotated, dtype=np.float64), np.asarray(labels).ravel()
        if rotated.shape != (4,) + probe.shape[1:] or sorted(labels.tolist()) != [0, 1, 2, 3]:
            return False
        for img, k in zip(rotated, labels):
            r, c = PROBE_CORNER[int(k)]
            if img[r, c, 0] != 1.0 or not np.array_equal(img, np.rot90(probe[0], int(k), axes=(0, 1))):
                return False
    except (TypeError, ValueError):
        return False
    return True
