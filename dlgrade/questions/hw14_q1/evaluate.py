"""hw14.q1 measurements (trusted side): full-vocabulary scores and ranks, the random-pair baseline, WEAT
associations and permutation p-values, the gender direction, the geometry of the PCA maps, and the checks that
what a student's step returned has the expected shape.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Sequence

import numpy as np

from dlgrade.kit.runner import StepFailed

from .reference import weat_associations


def unit(m: np.ndarray) -> np.ndarray:
    """Rows of ``m`` scaled to length 1 (float64)."""
    m = np.asarray(m, dtype=np.float64)
    return m / np.linalg.norm(m, axis=-1, keepdims=True)


def rank_in_vocab(kv, scores: np.ndarray, target: str, exclude: Sequence[str]) -> int:
    """1-based rank of ``target`` among all words by ``scores`` (higher first), ignoring ``exclude``."""
    idx = kv.key_to_index[target]
    skip = [kv.key_to_index[w] for w in exclude if w in kv.key_to_index and w != target]
    better = scores > scores[idx]
    better[skip] = False
    return int(better.sum()) + 1


class Scorer:
    """Scores of every word of ``kv`` against a query, from one unit-normalised copy of the vectors.

    gensim's ``most_similar`` re-normalises all vectors on every call; the ranks in the tables (where does the
    expected word land among 400,000?) need many full passes, so they use this copy. The scores equal gensim's up
    to float32 rounding (tested).
    """

    def __init__(self, kv):
        self.kv = kv
        if kv.norms is None:
            kv.fill_norms()
        self.unit = kv.vectors / kv.norms[:, None]
        self._cache: dict[str, np.ndarray] = {}

    def prefetch(self, words: Sequence[str]) -> None:
        """Compute the cosines of several words in one pass over the matrix (one GEMM, not many GEMVs)."""
        todo = [w for w in dict.fromkeys(words) if w not in self._cache]
        if todo:
            sims = self.unit @ self.unit[[self.kv.key_to_index[w] for w in todo]].T
            self._cache.update({w: np.ascontiguousarray(sims[:, i]) for i, w in enumerate(todo)})

    def cosines(self, word: str) -> np.ndarray:
        """Cosine of every word with ``word`` (cached)."""
        if word not in self._cache:
            self.prefetch([word])
        return self._cache[word]

    def analogy(self, a: str, b: str, c: str, cosmul: bool = False) -> np.ndarray:
        """Every word's score for ``a - c + b``: 3CosAdd (ranked like gensim's ``most_similar``) or 3CosMul."""
        sa, sb, sc = (self.cosines(w) for w in (a, b, c))
        if cosmul:  # Levy and Goldberg (2014), cosines shifted to [0, 1], as gensim computes it
            return ((1 + sa) / 2) * ((1 + sb) / 2) / ((1 + sc) / 2 + 1e-6)
        return sa + sb - sc  # proportional to the cosine with the normalised mean gensim uses

    def rank(self, scores: np.ndarray, target: str, exclude: Sequence[str] = ()) -> int:
        """1-based rank of ``target`` by ``scores`` (higher first), ignoring the words in ``exclude``."""
        return rank_in_vocab(self.kv, scores, target, exclude)


def random_pair_distances(unit_vectors: np.ndarray, vocab: int, pairs: int, seed: int) -> np.ndarray:
    """Cosine distances of ``pairs`` random pairs of distinct words among the first ``vocab`` (GloVe's frequency
    order), drawn with ``seed``; pairs of a word with itself are dropped."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, vocab, size=(pairs, 2))
    idx = idx[idx[:, 0] != idx[:, 1]]
    return 1.0 - np.sum(unit_vectors[idx[:, 0]] * unit_vectors[idx[:, 1]], axis=1, dtype=np.float64)


# ---------------------------------------------------------------- WEAT and the gender direction

def weat_p_value(X: np.ndarray, Y: np.ndarray, A: np.ndarray, B: np.ndarray, permutations: int | None,
                 seed: int) -> tuple[float, int]:
    """One-sided permutation p-value of the WEAT statistic ``sum_x s(x) - sum_y s(y)``.

    The share of equal-size re-partitions (X_i, Y_i) of X u Y whose statistic is at least the observed one.
    ``permutations=None`` enumerates every partition (exact test, the observed one included); otherwise that many
    random partitions are drawn with ``seed`` and ``p = (hits + 1) / (permutations + 1)``, which never reports an
    impossible 0. Returns ``(p, partitions used)``.
    """
    s = weat_associations(np.vstack([X, Y]), A, B)
    n, k = len(s), len(X)
    observed = s[:k].sum() - s[k:].sum()
    total = s.sum()
    if permutations is None:
        idx = np.array(list(itertools.combinations(range(n), k)))
    else:
        rng = np.random.default_rng(seed)
        idx = np.argsort(rng.random((permutations, n)), axis=1)[:, :k]
    hits = int(np.sum(2 * s[idx].sum(axis=1) - total >= observed - 1e-12))
    if permutations is None:
        return hits / len(idx), len(idx)
    return (hits + 1) / (len(idx) + 1), len(idx)


def gender_direction(kv, pairs: Sequence[tuple[str, str]]) -> tuple[np.ndarray, float]:
    """First principal component of the centred (female, male) pairs, pointing to the female side.

    Returns the unit direction and the share of variance it explains (Bolukbasi et al. 2016).
    """
    from sklearn.decomposition import PCA

    rows = []
    for f, m in pairs:
        vf, vm = unit(kv[f]), unit(kv[m])
        centre = (vf + vm) / 2
        rows += [vf - centre, vm - centre]
    pca = PCA(n_components=min(10, len(rows))).fit(np.array(rows))
    d = pca.components_[0]
    diffs = np.array([unit(kv[f]) - unit(kv[m]) for f, m in pairs])
    if (diffs @ d).mean() < 0:
        d = -d
    return d / np.linalg.norm(d), float(pca.explained_variance_ratio_[0])


# ---------------------------------------------------------------- map geometry

def group_separation(vectors: np.ndarray, labels: Sequence[str]) -> float:
    """Leave-one-out 1-nearest-neighbour accuracy (cosine) of group labels: 1.0 = every word's nearest word is in its group."""
    u = unit(vectors)
    sims = u @ u.T
    np.fill_diagonal(sims, -np.inf)
    labels = np.asarray(labels)
    return float(np.mean(labels[sims.argmax(axis=1)] == labels))


def offset_parallelism(kv, pairs: Sequence[tuple[str, str]]) -> float:
    """Mean pairwise cosine between the offsets ``to - from`` of ``pairs`` (1.0 = all arrows parallel)."""
    off = unit(np.array([kv[t] - kv[f] for f, t in pairs]))
    sims = off @ off.T
    n = len(pairs)
    return float((sims.sum() - n) / (n * (n - 1)))


def pca_projection(vectors: np.ndarray, extra: dict[str, np.ndarray] | None = None):
    """A 2-D PCA (scikit-learn) fitted on ``vectors`` only.

    Returns:
        ``(points, extra_points, explained)``: the rows projected, ``extra`` (label -> vector) projected with the
        same PCA, and the explained-variance ratio of the two axes.
    """
    from sklearn.decomposition import PCA

    X = np.asarray(vectors, dtype=np.float64)
    pca = PCA(n_components=2).fit(X)
    stars = {k: pca.transform(np.asarray(v, dtype=np.float64)[None, :])[0] for k, v in (extra or {}).items()}
    return pca.transform(X), stars, [float(v) for v in pca.explained_variance_ratio_]


# ---------------------------------------------------------------- what a student's step returned

def expect_answers(value: Any, step: str, name: str, topn: int) -> list[list]:
    """An analogy's answers as ``[[word, score], ...]`` (``topn`` of them, words as str, finite scores), or
    :class:`StepFailed` saying what is wrong, so that nothing downstream computes on malformed data."""
    if not isinstance(value, (list, tuple)) or len(value) != topn:
        got = f"{len(value)} answers" if isinstance(value, (list, tuple)) else f"a {type(value).__name__}"
        raise StepFailed(step, "shape", f"{name}: expected {topn} (word, score) answers, got {got}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, (list, tuple)) or len(item) != 2 or not isinstance(item[0], str):
            raise StepFailed(step, "wrong_type", f"{name}: answer {i + 1} is {item!r:.80}, expected (word, score)")
        try:
            score = float(item[1])
        except (TypeError, ValueError):
            raise StepFailed(step, "wrong_type", f"{name}: answer {i + 1} has score {item[1]!r:.40}, not a number") from None
        if not np.isfinite(score):
            raise StepFailed(step, "nan", f"{name}: answer {i + 1} ({item[0]!r}) has score {score}")
        out.append([item[0], score])
    return out


def analogy_record(key: str, direction: str, query: tuple[str, str, str], expected: str | None, add: list, cosmul: list,
                   scorer: Scorer) -> dict:
    """One analogy query, its answers by both scorings and where the expected word ranks among all words.

    Args:
        key: ``<first word of the homework's analogy>.<direction>`` (names its metrics).
        query: ``(p, q, r)`` for ``p - r + q``.
        expected: the word that should come first (None for an open analogy).
        add, cosmul: the answers ``[[word, score], ...]`` by 3CosAdd and 3CosMul.
    """
    p, q, r = query

    def rank(cosmul_: bool):
        return scorer.rank(scorer.analogy(p, q, r, cosmul=cosmul_), expected, query) if expected else None

    def marked(answers):
        return [{"word": w, "score": s, "is_expected": w == expected} for w, s in answers]

    return {"key": key, "direction": direction, "query": f"{p} \u2212 {r} + {q}", "expected": expected,
            "add": add, "cosmul": cosmul, "rank_add": rank(False), "rank_cosmul": rank(True),
            "top1_add": add[0][0], "top1_add_score": add[0][1], "top1_cosmul": cosmul[0][0], "top1_cosmul_score": cosmul[0][1],
            "answers_add": marked(add), "answers_cosmul": marked(cosmul)}


def analogy_records(items: Any, analogies, kv, scorer: Scorer, topn: int, step: str = "analogies") -> list[dict]:
    """:func:`analogy_record` for both directions of every homework analogy, from what the analogies step returned
    (validated: ``topn`` answers each, and an open analogy's forward answer a word of the vectors)."""
    if not isinstance(items, list) or len(items) != len(analogies) or not all(isinstance(i, dict) for i in items):
        raise StepFailed(step, "shape", f"expected {len(analogies)} analogy records")
    records = []
    for (a, b, c, expected), item in zip(analogies, items):
        add_cos = {k: expect_answers(item.get(k), step, k, topn)
                   for k in ("forward_add", "forward_cosmul", "backward_add", "backward_cosmul")}
        target = expected or add_cos["forward_add"][0][0]
        if target not in kv.key_to_index:
            raise StepFailed(step, "wrong", f"the answer {target!r} to {a} \u2212 {c} + {b} is not a word of the vectors")
        records += [analogy_record(f"{a}.forward", "forward", (a, b, c), expected, add_cos["forward_add"], add_cos["forward_cosmul"], scorer),
                    analogy_record(f"{a}.backward", "backward", (target, c, b), a, add_cos["backward_add"], add_cos["backward_cosmul"], scorer)]
    return records


def analogy_metrics(records: list[dict]) -> dict[str, Any]:
    """Each query's top answers and the expected word's ranks, and how many queries with an answer put it first."""
    out: dict[str, Any] = {}
    for x in records:
        out.update({f"analogy.{x['key']}.top1_add": x["top1_add"], f"analogy.{x['key']}.top1_cosmul": x["top1_cosmul"]})
        if x["expected"]:
            out.update({f"analogy.{x['key']}.rank_add": x["rank_add"], f"analogy.{x['key']}.rank_cosmul": x["rank_cosmul"]})
    closed = [x for x in records if x["expected"]]
    out.update({"analogy.solved_add": sum(x["rank_add"] == 1 for x in closed),
                "analogy.solved_cosmul": sum(x["rank_cosmul"] == 1 for x in closed), "analogy.closed_queries": len(closed)})
    return out


def calf_metrics(add: list, cosmul: list, query: tuple[str, str, str], expected: str, reference_answer: str, scorer: Scorer) -> dict:
    """The calf analogy ``p - r + q``: the top answers, where the expected and the reference's answers rank."""
    p, q, r = query
    sc_add, sc_mul = scorer.analogy(p, q, r), scorer.analogy(p, q, r, cosmul=True)
    return {"calf.top1_add": add[0][0], "calf.top1_cosmul": cosmul[0][0],
            "calf.rank_add": scorer.rank(sc_add, expected, query), "calf.rank_cosmul": scorer.rank(sc_mul, expected, query),
            "calf.mad_rank_add": scorer.rank(sc_add, reference_answer, query),
            "calf.cow_calf_cosine": float(scorer.kv.similarity(p, expected))}


def map_geometry(kv, groups: dict, arrows, explained: list[float]) -> dict:
    """What a map shows, measured in all dimensions: the variance its two axes keep, whether each word's nearest word
    is in its group, and how parallel the arrows of each kind are."""
    words = [w for ws in groups.values() for w in ws]
    kinds: dict[str, list] = {}
    for f, t, kind in arrows:
        kinds.setdefault(kind, []).append((f, t))
    return {"groups": {g: list(ws) for g, ws in groups.items()}, "explained_variance": explained,
            "explained_variance_2d": float(sum(explained)),
            "separation_1nn": group_separation(np.array([kv[w] for w in words]), [g for g, ws in groups.items() for _ in ws]),
            "parallelism": {k: offset_parallelism(kv, p) for k, p in kinds.items() if len(p) > 1}}


def names_word(message: str, word: str) -> bool:
    """Whether an error message names ``word`` as a word of its own (quoted or not: ``'tehranistan'``,
    ``not in vocabulary: tehranistan``), not as part of a longer word."""
    return bool(message) and re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", message) is not None
