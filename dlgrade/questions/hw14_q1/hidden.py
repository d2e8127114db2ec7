"""Hidden checks for hw14.q1: cosine distance and the WEAT effect size on known vectors."""

from __future__ import annotations

import numpy as np

from dlgrade.kit.hidden import CheckFailed, Partial, hidden_check


def _num(v, name):
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise CheckFailed(f"{name} returned {type(v).__name__}, expected a float", "wrong_type") from None
    if not np.isfinite(x):
        raise CheckFailed(f"{name} returned {x}", "nan")
    return x


@hidden_check("cosine_values", 2, ("cosine_distance",),
              {"en": "cosine_distance is right for same, orthogonal, opposite and random vectors (partial credit).",
               "fa": "cosine_distance برای بردارهای هم‌جهت، متعامد، مخالف و تصادفی درست است (امتیاز جزئی)."},
              {"en": "Return 1 - u.v / (|u| |v|), not the similarity and not the Euclidean distance.",
               "fa": "مقدار 1 - u.v / (|u| |v|) را برگردانید، نه شباهت و نه فاصلهٔ اقلیدسی."})
def cosine_values(f, ref):
    rng = np.random.default_rng(3)
    cases = [(np.array([1.0, 2.0]), np.array([2.0, 4.0])), (np.array([1.0, 0.0]), np.array([0.0, 3.0])),
             (np.array([1.0, 1.0]), np.array([-2.0, -2.0])), (rng.normal(size=50), rng.normal(size=50))]
    names = ("same direction", "orthogonal", "opposite", "random 50-d")
    right = [abs(_num(f.cosine_distance(u.copy(), v.copy()), "cosine_distance") - ref.cosine_distance(u, v)) < 1e-6
             for u, v in cases]
    if not any(right):
        raise CheckFailed("cosine_distance is wrong on all four known pairs")
    wrong = [n for n, ok in zip(names, right) if not ok]
    return Partial(sum(right) / len(cases), f"wrong for the {', '.join(wrong)} pair(s)") if wrong else None


@hidden_check("weat_values", 2, ("weat_effect_size",),
              {"en": "weat_effect_size equals the reference on random word-vector sets.",
               "fa": "weat_effect_size روی مجموعه‌های تصادفی بردار کلمه با مرجع برابر است."})
def weat_values(f, ref):
    rng = np.random.default_rng(11)
    X, Y, A, B = (rng.normal(size=(k, 20)) for k in (4, 5, 3, 6))
    got = _num(f.weat_effect_size(X, Y, A, B), "weat_effect_size")
    want = float(ref.weat_effect_size(X, Y, A, B))
    if abs(got - want) > 1e-6:
        raise CheckFailed(f"weat_effect_size is {got:.6g}, expected {want:.6g}")
