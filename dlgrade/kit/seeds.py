"""Named seeds derived from the run's seed, and seeded sampling.

Every random choice of a run comes from the run seed through a *named* offset declared by the question
(``SEED_OFFSETS = {"labelled_split": 0, "pretext_init": 10}``), so a reader sees which choice uses which
seed, and a typo never silently reuses another's.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

SANDBOX_SAFE = True


class Seeds:
    """``seeds["pretext_init"]`` is the run seed plus that name's declared offset.

    Raises:
        KeyError: for a name the question did not declare (so typos do not silently reuse a seed).
    """

    def __init__(self, run_seed: int, offsets: Mapping[str, int]):
        self.run_seed = int(run_seed)
        self.offsets = dict(offsets)

    def __getitem__(self, name: str) -> int:
        if name not in self.offsets:
            raise KeyError(f"no seed named {name!r}; declared: {sorted(self.offsets)}")
        return self.run_seed + self.offsets[name]

    def rng(self, name: str) -> np.random.Generator:
        return np.random.default_rng(self[name])


def take(total: int, n: int | None, seed_or_rng, sort: bool = False) -> np.ndarray:
    """``n`` distinct indices of ``range(total)`` in a seeded random order (all of them when ``n`` is None).

    The first ``n`` entries of one permutation, so taking more keeps the smaller draw as its prefix.
    """
    rng = seed_or_rng if isinstance(seed_or_rng, np.random.Generator) else np.random.default_rng(seed_or_rng)
    idx = rng.permutation(total)
    if n is not None:
        if n > total:
            raise ValueError(f"cannot take {n} of {total} samples")
        idx = idx[:n]
    return np.sort(idx) if sort else idx


def subset(x: np.ndarray, y: np.ndarray, n: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random subset of ``n`` samples of ``(x, y)`` (all, shuffled, when ``n`` is None)."""
    idx = take(len(x), n, seed)
    return x[idx], y[idx]


def stratified(y: np.ndarray, counts, seed_or_rng) -> np.ndarray:
    """Indices of ``counts[k]`` seeded random samples of every class k (all of a class when it has fewer), shuffled."""
    rng = seed_or_rng if isinstance(seed_or_rng, np.random.Generator) else np.random.default_rng(seed_or_rng)
    y = np.asarray(y).reshape(-1)
    idx = np.concatenate([rng.permutation(np.flatnonzero(y == k))[: int(c)] for k, c in enumerate(counts)])
    return rng.permutation(idx)
