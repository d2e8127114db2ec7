"""hw14.q2 data (trusted side): the MNIST subsets and the random triplets drawn from their labels.

Test triplets are made from the test labels, so they are held out with them: a sandbox never receives them.
"""

from __future__ import annotations

import numpy as np

from dlgrade.kit.keras_fit import scale_images
from dlgrade.kit.seeds import take


def make_triplets(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` random triplets of indices into ``labels``: (anchor, positive, negative).

    The positive has the anchor's label and is a different image; the negative has another label.

    Raises:
        ValueError: when ``n`` < 1, or when no class has two images or there is only one class.
    """
    labels = np.asarray(labels).reshape(-1)
    if n < 1:
        raise ValueError(f"need at least one triplet, got n={n}")
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) < 2 or counts.max() < 2:
        raise ValueError(f"random triplets need >= 2 classes and a class with >= 2 images; got classes {classes.tolist()} "
                         f"with counts {counts.tolist()}")
    rng = np.random.default_rng(seed)
    by_class = {c: np.flatnonzero(labels == c) for c in classes}
    usable = classes[counts >= 2]
    anchor_class = rng.choice(usable, size=n)
    out = np.empty((n, 3), dtype=np.int64)
    for c in usable:
        rows = np.flatnonzero(anchor_class == c)
        if not len(rows):
            continue
        members = by_class[c]
        a = rng.integers(0, len(members), size=len(rows))
        p = (a + rng.integers(1, len(members), size=len(rows))) % len(members)  # never the anchor itself
        others = np.flatnonzero(labels != c)
        out[rows, 0], out[rows, 1] = members[a], members[p]
        out[rows, 2] = others[rng.integers(0, len(others), size=len(rows))]
    return out


def mnist_subsets(data, train_samples: int | None, test_samples: int | None, rng: np.random.Generator) -> dict:
    """Seeded random subsets of MNIST (in index order), images as float32 ``(n, 28, 28, 1)`` in [0, 1], labels int64.

    One generator draws the training subset, then the test subset.
    """
    tr = take(len(data["x_train"]), train_samples, rng, sort=True)
    te = take(len(data["x_test"]), test_samples, rng, sort=True)
    return {"x_train": scale_images(data["x_train"][tr])[..., None], "y_train": data["y_train"][tr].astype(np.int64),
            "x_test": scale_images(data["x_test"][te])[..., None], "y_test": data["y_test"][te].astype(np.int64)}
