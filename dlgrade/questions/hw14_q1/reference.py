"""hw14.q1: GloVe word vectors with gensim: neighbours, distances, analogies, PCA maps and a bias test.

The vectors are GloVe 6B (Wikipedia 2014 + Gigaword 5) in 50 dimensions, loaded into a gensim
``KeyedVectors``. The question lists the ten nearest words of john, iran, laptop, notebook and mother;
compares cosine distances (john-alex vs john-iran, laptop-mac vs laptop-diary, glass-water vs glass-foot);
solves analogies ``a - c + b`` in both directions with gensim's 3CosAdd (``most_similar``) and 3CosMul
(``most_similar_cosmul``); draws 2-D PCA maps of word groups; and measures gender bias with a WEAT test
(Caliskan, Bryson and Narayanan, Science 2017).
"""

from __future__ import annotations

import numpy as np

from .vocab import require_words


def cosine_distance(u: np.ndarray, v: np.ndarray) -> float:
    """Cosine distance ``1 - u.v / (|u| |v|)`` of two vectors (0: same direction, 1: orthogonal, 2: opposite).

    Raises:
        ValueError: when either vector is all zeros (the distance is undefined).

    Example:
        >>> cosine_distance(np.array([1.0, 0.0]), np.array([0.0, 2.0]))
        1.0
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        raise ValueError("cosine distance is undefined for a zero vector")
    return float(1.0 - u @ v / (nu * nv))


def analogy(kv, a: str, b: str, c: str, topn: int = 10, cosmul: bool = False) -> list[tuple[str, float]]:
    """The ``topn`` words nearest to ``a - c + b`` (the homework's notation), excluding a, b and c.

    "c is to a as b is to ?": ``analogy(kv, "king", "woman", "man")`` ranks ``queen`` first.
    With ``cosmul=False`` this is gensim's ``most_similar(positive=[a, b], negative=[c])``
    (3CosAdd, scores are cosine similarities); with ``cosmul=True`` it is
    ``most_similar_cosmul`` (3CosMul of Levy and Goldberg, 2014; scores are not cosines).

    Args:
        kv: a gensim ``KeyedVectors``.
        a, b, c: words of the vocabulary.
        topn: how many answers to return.
        cosmul: score with 3CosMul instead of 3CosAdd.

    Returns:
        ``[(word, score), ...]``, best first.

    Raises:
        An error whose message names every one of a, b, c that the vectors do not know.
    """
    require_words(kv, [a, b, c], where=f"analogy {a} \u2212 {c} + {b}")
    fn = kv.most_similar_cosmul if cosmul else kv.most_similar
    return [(str(w), float(s)) for w, s in fn(positive=[a, b], negative=[c], topn=topn)]


def weat_effect_size(X: np.ndarray, Y: np.ndarray, A: np.ndarray, B: np.ndarray) -> float:
    """WEAT effect size of Caliskan et al. (2017) for target sets X, Y and attribute sets A, B.

    Each argument is an array of word vectors, one row per word. With
    ``s(w, A, B) = mean_a cos(w, a) - mean_b cos(w, b)``, the effect size is
    ``(mean_x s(x, A, B) - mean_y s(y, A, B)) / std_{w in X u Y} s(w, A, B)`` (sample std, ddof=1).
    Positive: X is nearer to A (and Y to B) than the other way round; |d| > 0.8 is a large effect.
    """
    s = weat_associations(np.vstack([X, Y]), A, B)
    sx, sy = s[: len(X)], s[len(X):]
    return float((sx.mean() - sy.mean()) / s.std(ddof=1))


def weat_associations(W: np.ndarray, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``s(w, A, B)`` for every row ``w`` of ``W``: mean cosine to A minus mean cosine to B."""
    W, A, B = (np.asarray(m, dtype=np.float64) for m in (W, A, B))
    W, A, B = (m / np.linalg.norm(m, axis=-1, keepdims=True) for m in (W, A, B))
    return (W @ A.T).mean(axis=1) - (W @ B.T).mean(axis=1)
