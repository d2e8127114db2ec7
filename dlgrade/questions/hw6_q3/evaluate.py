"""hw6.q3 measurements (trusted): accuracy and cross-entropy curves from the probabilities the training steps
return, against labels only this side holds, and the check of the student's rotation labels."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from dlgrade.kit.compare import compare_accuracies
from dlgrade.kit.runner import StepFailed, expect_output

from .spec import (CHANCE, MEMORISED_TRAIN_ACCURACY, NEAR_CHANCE_TEST_ACCURACY, PRETEXT_LEARNT_ACCURACY, REFERENCE,
                   WEIGHTINGS)

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


SUMMARY_COLUMNS = ("model", "classifier_weight", "rotator_weight", "classifier_train_accuracy", "classifier_test_accuracy",
                   "rotator_train_accuracy", "rotator_heldout_accuracy")


def summary_rows(m: dict) -> list[list]:
    """One row per model (codes ``baseline``, ``pretext``, ``transfer``, ``joint_<weighting>``) from the metrics."""
    def r(key):
        return round(m[key], 4)

    return [
        ["baseline", None, None, r("baseline.train.accuracy"), r("baseline.test.accuracy"), None, None],
        ["pretext", None, None, None, None, r("pretext.train.accuracy"), r("pretext.val.accuracy")],
        ["transfer", None, None, r("transfer.train.accuracy"), r("transfer.test.accuracy"), None, None],
        *[[f"joint_{k}", a, b] + [r(f"joint.{k}.{split}.{head}_accuracy") for head in ("classifier", "rotator")
                                  for split in ("train", "test")] for k, (a, b) in WEIGHTINGS.items()],
    ]


def reference_rows(m: dict) -> list[list]:
    """``[quantity code, measured, reference, chance]`` for the numbers the reference report gives."""
    rows = (("baseline_test_accuracy", "baseline.test.accuracy", "baseline_val_accuracy", "classifier"),
            ("baseline_train_accuracy", "baseline.train.accuracy", "baseline_train_accuracy", "classifier"),
            ("pretext_val_accuracy", "pretext.val.accuracy", "pretext_val_accuracy", "rotator"),
            ("pretext_train_accuracy", "pretext.train.accuracy", "pretext_train_accuracy", "rotator"),
            ("transfer_test_accuracy", "transfer.test.accuracy", "transfer_val_accuracy", "classifier"),
            ("joint_best_classifier_accuracy", "joint.test.best_classifier_accuracy", "joint_classifier_accuracy", "classifier"),
            ("joint_worst_rotator_accuracy", "joint.test.min_rotator_accuracy", "joint_rotator_accuracy", "rotator"))
    return [[code, round(m[metric], 4), REFERENCE[ref], CHANCE[head]] for code, metric, ref, head in rows]


def discussion_facts(m: dict) -> dict:
    """What the discussion says, decided here (thresholds from the spec) so that templates only show it."""
    base, tr, best = m["baseline.test.accuracy"], m["transfer.test.accuracy"], m["joint.test.best_classifier_accuracy"]
    return {
        "baseline_memorised": m["baseline.train.accuracy"] > MEMORISED_TRAIN_ACCURACY,
        "baseline_near_chance": base < NEAR_CHANCE_TEST_ACCURACY,
        "pretext_learnt": m["pretext.val.accuracy"] > PRETEXT_LEARNT_ACCURACY,
        "transfer_vs_baseline": compare_accuracies(tr, base, int(m["data.test.images"])),
        "joint": [{"weighting": k, "classifier": m[f"joint.{k}.test.classifier_accuracy"],
                   "rotator": m[f"joint.{k}.test.rotator_accuracy"]} for k in WEIGHTINGS],
        "joint_vs_baseline": compare_accuracies(best, base, int(m["data.test.images"])),
        "joint_reaches_reference": best >= REFERENCE["baseline_val_accuracy"],
    }
