"""hw14.q1 steps that call the student's functions: cosine distances of the homework's word pairs, the analogies
(both directions, both scorings, and a probe with an unknown word) and the WEAT effect sizes.

Nothing is trained here; these are the steps that run where student code runs. They receive word vectors and
return plain data (numbers, words); the trusted side compares them with gensim and ranks them.
"""

from __future__ import annotations

import numpy as np

from .spec import ANALOGIES, CALF, DISTANCE_TRIPLES, VECTORS_NAME, WEAT_TESTS

SANDBOX_SAFE = True


def build_keyed_vectors(words, vectors, name: str = VECTORS_NAME):
    """A gensim ``KeyedVectors`` holding ``vectors`` (one row per word), built with ``add_vectors``.

    Raises:
        ValueError: when the number of words and of vectors differ.
    """
    from gensim.models import KeyedVectors

    vectors = np.asarray(vectors, dtype=np.float32)
    words = [str(w) for w in words]
    if len(words) != vectors.shape[0]:
        raise ValueError(f"{len(words)} words but {vectors.shape[0]} vectors")
    kv = KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors(words, vectors)
    kv.fill_norms()
    kv.dlgrade_name = name
    return kv


def distances(env, word_vectors: dict) -> dict:
    """``cosine_distance`` of each homework triple's (word, near) and (word, far) pair: shape ``(triples, 2)``."""
    f = env.fns.cosine_distance
    rows = [[f(word_vectors[w], word_vectors[near]), f(word_vectors[w], word_vectors[far])] for w, near, far in DISTANCE_TRIPLES]
    return {"distances": np.asarray(rows, dtype=np.float64)}


def _answers(raw) -> list[list]:
    """An analogy's answers as ``[[word, score], ...]`` (plain data)."""
    return [[str(w), float(s)] for w, s in raw]


def analogies(env, words, vectors) -> dict:
    """Every homework analogy forward (a - c + b) and backward (expected - b + c; for an open one, from the forward
    answer), each with 3CosAdd and 3CosMul; the calf analogy; and what an analogy with an unknown word raises."""
    kv = build_keyed_vectors(words, vectors)
    analogy, topn = env.fns.analogy, env.config.topn
    out = []
    for a, b, c, expected in ANALOGIES:
        forward_add = _answers(analogy(kv, a, b, c, topn=topn))
        forward_cosmul = _answers(analogy(kv, a, b, c, topn=topn, cosmul=True))
        target = expected or forward_add[0][0]
        out.append({"forward_add": forward_add, "forward_cosmul": forward_cosmul,
                    "backward_add": _answers(analogy(kv, target, c, b, topn=topn)),
                    "backward_cosmul": _answers(analogy(kv, target, c, b, topn=topn, cosmul=True))})
    cow, young, old, _ = CALF
    calf = {"add": _answers(analogy(kv, cow, young, old, topn=topn)),
            "cosmul": _answers(analogy(kv, cow, young, old, topn=topn, cosmul=True))}
    try:
        analogy(kv, "king", env.config.unknown_word, "man")
        error, message = "", ""
    except Exception as e:  # noqa: BLE001 - what the student's function raises is the measurement
        error, message = type(e).__name__, str(e)
    return {"analogies": out, "calf": calf, "unknown_word": {"error": error, "message": message}}


def weat(env, weat_vectors: dict) -> dict:
    """``weat_effect_size`` of each WEAT test, in the order of ``WEAT_TESTS``."""
    f = env.fns.weat_effect_size
    sizes = [f(*(weat_vectors[name][k] for k in "XYAB")) for name in WEAT_TESTS]
    return {"effect_sizes": np.asarray(sizes, dtype=np.float64)}
