"""hw14.q3 data (trusted): DermaMNIST when it can be had, else the deterministic CIFAR-10 stand-in with
DermaMNIST's class proportions, at the profile's share of the official split."""

from __future__ import annotations

import numpy as np

from dlgrade.data.registry import CIFAR10_CLASSES, DERMA_CLASSES
from dlgrade.errors import DatasetError
from dlgrade.kit.seeds import stratified

from .spec import CIFAR_PER_CLASS, SPLIT_SIZES, SPLITS, STANDIN_SEED, STANDIN_SOURCE, TRAIN_COUNTS

CLASSES = DERMA_CLASSES  # akiec, bcc, bkl, df, mel, nv, vasc


def allocate(total: int, proportions, minimum: int = 1) -> np.ndarray:
    """Split ``total`` into integer counts proportional to ``proportions`` (largest remainder),
    each at least ``minimum``.

    >>> allocate(10, [1, 1, 2]).tolist()
    [3, 2, 5]
    """
    p = np.asarray(proportions, dtype=np.float64)
    if p.ndim != 1 or len(p) == 0 or (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"proportions must be non-negative with a positive sum, got {proportions!r}")
    if total < minimum * len(p):
        raise ValueError(f"cannot give {len(p)} classes at least {minimum} each out of {total}")
    share = p / p.sum() * total
    counts = np.floor(share).astype(int)
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    while (counts < minimum).any():  # lift tiny classes, taking from the largest
        k = int(np.argmin(counts))
        counts[k] += 1
        counts[int(np.argmax(counts))] -= 1
    return counts


def split_counts(fraction: float) -> dict[str, np.ndarray]:
    """DermaMNIST's per-class counts of each split, scaled by ``fraction`` (val/test in the train proportions)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    return {s: allocate(max(len(CLASSES), round(n * fraction)), TRAIN_COUNTS) for s, n in SPLIT_SIZES.items()}


def fit_standin_counts(counts: dict[str, np.ndarray], per_class: int = CIFAR_PER_CLASS) -> tuple[dict[str, np.ndarray], float]:
    """Shrink val/test (never train) until every class fits in ``per_class`` source images.

    Returns the counts and the factor applied to val/test (1.0 when all fits).
    """
    train = counts["train"]
    if (train > per_class).any():
        raise ValueError(f"train counts {train.tolist()} exceed {per_class} images per source class")
    rest = counts["val"] + counts["test"]
    room = per_class - train
    factor = float(min(1.0, np.min(room / np.maximum(rest, 1))))
    if factor >= 1.0:
        return counts, 1.0
    out = {"train": train}
    for s in ("val", "test"):
        out[s] = allocate(max(len(CLASSES), int(counts[s].sum() * factor)), TRAIN_COUNTS)
    while ((out["train"] + out["val"] + out["test"]) > per_class).any():  # rounding can overshoot by one
        for s in ("val", "test"):
            out[s] = allocate(out[s].sum() - 1, TRAIN_COUNTS)
    return out, factor


def resize_images(x: np.ndarray, size: int = 28) -> np.ndarray:
    """uint8 images (N, H, W, 3) to (N, size, size, 3) uint8 with antialiased bilinear resizing."""
    import tensorflow as tf

    if len(x) == 0:
        return np.zeros((0, size, size, 3), np.uint8)
    out = tf.image.resize(tf.convert_to_tensor(x, tf.float32), (size, size), method="bilinear", antialias=True)
    return np.clip(np.round(out.numpy()), 0, 255).astype(np.uint8)


def build_standin(cifar: dict, counts: dict[str, np.ndarray], seed: int = STANDIN_SEED) -> dict[str, np.ndarray]:
    """The CIFAR-10 stand-in: for class k, ``counts[split][k]`` distinct images of CIFAR-10 class
    ``STANDIN_SOURCE[k]`` (train and test pooled), disjoint across splits, resized to 28x28."""
    x_pool = np.concatenate([cifar["x_train"], cifar["x_test"]])
    y_pool = np.concatenate([np.asarray(cifar["y_train"]).reshape(-1), np.asarray(cifar["y_test"]).reshape(-1)])
    rng = np.random.default_rng(seed)
    chosen: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    for k, name in enumerate(STANDIN_SOURCE):
        src = CIFAR10_CLASSES.index(name)
        idx = rng.permutation(np.flatnonzero(y_pool == src))
        need = sum(int(counts[s][k]) for s in SPLITS)
        if need > len(idx):
            raise ValueError(f"stand-in class {CLASSES[k]} needs {need} images, CIFAR-10 {name} has {len(idx)}")
        start = 0
        for s in SPLITS:
            chosen[s].append(idx[start:start + int(counts[s][k])])
            start += int(counts[s][k])
    out = {}
    for s in SPLITS:
        labels = np.concatenate([np.full(len(ix), k, np.uint8) for k, ix in enumerate(chosen[s])])
        idx = np.concatenate(chosen[s])
        order = rng.permutation(len(idx))
        out[f"x_{s}"] = resize_images(x_pool[idx[order]])
        out[f"y_{s}"] = labels[order]
    return out


def load(data, fraction: float, log) -> tuple[dict[str, np.ndarray], dict]:
    """DermaMNIST if ``data`` (a resolver) can load it, else the CIFAR-10 stand-in, at ``fraction`` of the
    official split; returns uint8 images and labels per split, and a description of what was used."""
    try:
        real = data.load("dermamnist")
    except DatasetError as e:
        reason = str(e).splitlines()[0]
        log("DermaMNIST is not available here: " + reason + " -> running on the CIFAR-10 STAND-IN "
            "(7 CIFAR-10 classes at DermaMNIST's class proportions, 28x28). Its numbers say nothing "
            "about skin lesions; `dlgrade data import dermamnist FILE` gives the real data.")
        counts, factor = fit_standin_counts(split_counts(fraction))
        arrays = build_standin(data.load("cifar10").arrays, counts)
        info = {"source": "standin", "standin": True, "title": "CIFAR-10 stand-in for DermaMNIST",
                "missing_reason": str(e), "fraction": fraction, "eval_shrink": factor,
                "standin_classes": dict(zip(CLASSES, STANDIN_SOURCE)), "standin_seed": STANDIN_SEED}
        return arrays, info
    arrays = {}
    for s in SPLITS:
        y = real[f"y_{s}"].reshape(-1)
        if fraction < 1:
            have = np.bincount(y, minlength=len(CLASSES))
            want = allocate(max(len(CLASSES), round(len(y) * fraction)), have)
            idx = stratified(y, np.minimum(want, have), STANDIN_SEED)
            arrays[f"x_{s}"], arrays[f"y_{s}"] = real[f"x_{s}"][idx], y[idx]
        else:
            arrays[f"x_{s}"], arrays[f"y_{s}"] = real[f"x_{s}"], y
    log(f"DermaMNIST loaded from {real.provenance.get('where')}")
    return arrays, {"source": "dermamnist", "standin": False, "title": "DermaMNIST (MedMNIST v2)", "fraction": fraction}
