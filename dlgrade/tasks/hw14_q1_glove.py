"""hw14.q1: GloVe word vectors with gensim: neighbours, distances, analogies, PCA maps and a bias test.

The vectors are GloVe 6B (Wikipedia 2014 + Gigaword 5) in **50 dimensions**, from the
``glove-6b-50d`` dataset, put into a gensim ``KeyedVectors`` once per run. The reference
report used gensim's ``glove-wiki-gigaword-100`` (the same corpus in 100 dimensions), which
cannot be had offline here; every number of this task is measured on the vectors named in
``facts.vectors`` and the rubric's ranges are those of the 50-d vectors.

Beyond the homework: a WEAT test (Caliskan, Bryson and Narayanan, *Science* 2017) of gender
bias with an effect size and a permutation p-value, and the projection of occupations on a
gender direction (Bolukbasi et al., 2016), which explains the doctor -> nurse and
homemaker -> housewife analogies.
"""

from __future__ import annotations

import itertools
import time
from typing import Sequence

import numpy as np

from dlgrade.errors import DlgradeError
from dlgrade.results import TaskResult
from dlgrade.tasks.base import Context, Task

VECTORS = "glove-6b-50d"
VECTORS_TITLE = "GloVe 6B, 50 dimensions (400,000 lowercase words; Wikipedia 2014 + Gigaword 5)"
VECTORS_SHORT = "GloVe 6B 50d"
REFERENCE_NAME = "glove-wiki-gigaword-100"
REFERENCE_VECTORS = f"{REFERENCE_NAME} (gensim-data: GloVe 6B, 100 dimensions)"

SIMILAR_WORDS = ("john", "iran", "laptop", "notebook", "mother")
# (word, nearer, farther): the homework expects d(word, nearer) < d(word, farther).
DISTANCE_TRIPLES = (("john", "alex", "iran"), ("laptop", "mac", "diary"), ("glass", "water", "foot"))
# (a, b, c, expected): a - c + b, as the homework writes it (king - man + woman -> queen).
ANALOGIES = (
    ("king", "woman", "man", "queen"),
    ("actor", "girl", "boy", "actress"),
    ("doctor", "she", "he", "nurse"),
    ("homemaker", "she", "he", "housewife"),
    ("football", "woman", "man", None),
)
CALF = ("cow", "young", "old", "calf")  # cow - old + young -> calf (the reference got "mad")

REFERENCE = {
    "similar": {"iran": [["tehran", 0.80], ["iranian", 0.79]], "mother": [["daughter", 0.86]]},
    "distances": {"john": [0.68, 0.95], "laptop": [0.69, 0.74], "glass": [0.60, 0.72]},
    "calf_top1": "mad",
    "vectors": REFERENCE_VECTORS,
}

# Word groups of the five PCA maps. ``arrows``: (from, to, kind) drawn as arrows.
MAPS = {
    "gender_age": {
        "title": "Gender and age pairs",
        "groups": {"male": ("man", "boy", "king", "prince", "father", "son", "uncle", "actor"),
                   "female": ("woman", "girl", "queen", "princess", "mother", "daughter", "aunt", "actress")},
        "arrows": tuple((m, f, "gender") for m, f in (("man", "woman"), ("boy", "girl"), ("king", "queen"), ("prince", "princess"),
                                                      ("father", "mother"), ("son", "daughter"), ("uncle", "aunt"), ("actor", "actress")))
                  + tuple((y, o, "age") for y, o in (("boy", "man"), ("girl", "woman"), ("son", "father"), ("daughter", "mother"))),
    },
    "singular_plural": {
        "title": "Singular and plural",
        "groups": {"singular": ("man", "woman", "child"), "plural": ("men", "women", "children")},
        "arrows": (("man", "men", "plural"), ("woman", "women", "plural"), ("child", "children", "plural")),
    },
    "colours_animals_countries": {
        "title": "Colours, animals and countries",
        "groups": {"colours": ("red", "green", "blue", "yellow", "orange", "purple"),
                   "animals": ("dog", "cat", "horse", "lion", "tiger", "cow"),
                   "countries": ("iran", "france", "germany", "china", "japan", "brazil")},
        "arrows": (),
    },
    "electronics_kitchen_body": {
        "title": "Electronics, kitchen things and body parts",
        "groups": {"electronics": ("laptop", "computer", "phone", "television", "camera", "keyboard"),
                   "kitchen": ("knife", "fork", "spoon", "plate", "pan", "oven"),
                   "body parts": ("hand", "foot", "head", "arm", "leg", "eye")},
        "arrows": (),
    },
    "calf_analogy": {
        "title": "Adult and young animals (cow \u2212 old + young)",
        "groups": {"adult": ("cow", "dog", "cat", "sheep", "horse"), "young": ("calf", "puppy", "kitten", "lamb", "foal"),
                   "age words": ("old", "young")},
        "arrows": tuple((a, y, "adult to young") for a, y in (("cow", "calf"), ("dog", "puppy"), ("cat", "kitten"),
                                                               ("sheep", "lamb"), ("horse", "foal")))
                  + (("old", "young", "old to young"),),
    },
}

# WEAT word sets, as listed by Caliskan et al. (2017), tests 6, 7 and 8 (lowercased for GloVe).
WEAT_TESTS = {
    "career_family": {
        "title": "Career vs family, male vs female names (WEAT 6)",
        "X": ("john", "paul", "mike", "kevin", "steve", "greg", "jeff", "bill"),
        "Y": ("amy", "joan", "lisa", "sarah", "diana", "kate", "ann", "donna"),
        "A": ("executive", "management", "professional", "corporation", "salary", "office", "business", "career"),
        "B": ("home", "parents", "children", "family", "cousins", "marriage", "wedding", "relatives"),
        "caliskan_d": 1.81, "caliskan_p": "< 0.001",
    },
    "math_arts": {
        "title": "Math vs arts, male vs female terms (WEAT 7)",
        "X": ("male", "man", "boy", "brother", "he", "him", "his", "son"),
        "Y": ("female", "woman", "girl", "sister", "she", "her", "hers", "daughter"),
        "A": ("math", "algebra", "geometry", "calculus", "equations", "computation", "numbers", "addition"),
        "B": ("poetry", "art", "dance", "literature", "novel", "symphony", "drama", "sculpture"),
        "caliskan_d": 1.06, "caliskan_p": "0.018",
    },
    "science_arts": {
        "title": "Science vs arts, male vs female terms (WEAT 8)",
        "X": ("brother", "father", "uncle", "grandfather", "son", "he", "his", "him"),
        "Y": ("sister", "mother", "aunt", "grandmother", "daughter", "she", "hers", "her"),
        "A": ("science", "technology", "physics", "chemistry", "einstein", "nasa", "experiment", "astronomy"),
        "B": ("poetry", "art", "shakespeare", "dance", "literature", "novel", "symphony", "drama"),
        "caliskan_d": 1.24, "caliskan_p": "0.01",
    },
}

# Definitional pairs (female, male) for the gender direction (Bolukbasi et al., 2016).
GENDER_PAIRS = (("she", "he"), ("her", "his"), ("woman", "man"), ("mary", "john"), ("herself", "himself"),
                ("daughter", "son"), ("mother", "father"), ("gal", "guy"), ("girl", "boy"), ("female", "male"))
OCCUPATIONS = ("homemaker", "housewife", "nurse", "receptionist", "librarian", "hairdresser", "nanny", "secretary",
               "dancer", "teacher", "designer", "cashier", "chef", "accountant", "lawyer", "doctor", "professor",
               "scientist", "manager", "surgeon", "programmer", "engineer", "architect", "pilot", "mechanic",
               "carpenter", "plumber", "firefighter", "soldier", "captain")


class UnknownWordError(DlgradeError):
    """A word is not in the vocabulary of the vectors used."""


def require_words(kv, words: Sequence[str], where: str = "") -> None:
    """Raise :class:`UnknownWordError` naming every word of ``words`` that ``kv`` does not know.

    The message says which vectors were searched and, for a word that is only known in
    lower case (GloVe 6B is lowercased), which spelling to use.

    Example:
        >>> require_words(kv, ["king", "Tehran"])  # doctest: +SKIP
        UnknownWordError: 'Tehran' is not in the vocabulary ...; GloVe 6B is lowercase: use 'tehran'
    """
    bad = [w for w in words if not isinstance(w, str)]
    if bad:
        raise UnknownWordError(f"{where or 'words'}: expected words (str), got {', '.join(f'{type(b).__name__} {b!r}' for b in bad)}")
    missing = [w for w in dict.fromkeys(words) if w not in kv.key_to_index]
    if not missing:
        return
    name = getattr(kv, "dlgrade_name", "the word vectors")
    hints = [f"use {w.lower()!r} for {w!r}" for w in missing if w.lower() != w and w.lower() in kv.key_to_index]
    listed = ", ".join(repr(w) for w in missing)
    verb = "is" if len(missing) == 1 else "are"
    raise UnknownWordError(f"{where + ': ' if where else ''}{listed} {verb} not in the vocabulary of {name} "
                           f"({len(kv.key_to_index):,} words)" + (f"; it is lowercase: {'; '.join(hints)}" if hints else ""))


def build_keyed_vectors(words: Sequence[str], vectors: np.ndarray, name: str = VECTORS_SHORT):
    """A gensim ``KeyedVectors`` holding ``vectors`` (one row per word), built with ``add_vectors``."""
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


# ---------------------------------------------------------------- student functions

def cosine_distance(u: np.ndarray, v: np.ndarray) -> float:
    """Cosine distance ``1 - u.v / (|u| |v|)`` of two vectors (0: same direction, 1: orthogonal, 2: opposite).

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

    Raises:
        UnknownWordError: naming any of a, b, c the vectors do not know.
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


# ---------------------------------------------------------------- helpers

def _unit(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return m / np.linalg.norm(m, axis=-1, keepdims=True)


def weat_associations(W: np.ndarray, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``s(w, A, B)`` for every row ``w`` of ``W``: mean cosine to A minus mean cosine to B."""
    W, A, B = _unit(W), _unit(A), _unit(B)
    return (W @ A.T).mean(axis=1) - (W @ B.T).mean(axis=1)


def weat_p_value(X: np.ndarray, Y: np.ndarray, A: np.ndarray, B: np.ndarray, permutations: int | None,
                 seed: int) -> tuple[float, int]:
    """One-sided permutation p-value of the WEAT statistic ``sum_x s(x) - sum_y s(y)``.

    The share of equal-size re-partitions (X_i, Y_i) of X u Y whose statistic is at least the
    observed one. ``permutations=None`` enumerates every partition (exact test, the observed one
    included); otherwise that many random partitions are drawn with ``seed`` and
    ``p = (hits + 1) / (permutations + 1)``, which never reports an impossible 0.
    Returns ``(p, partitions used)``.
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


def gender_direction(kv, pairs: Sequence[tuple[str, str]] = GENDER_PAIRS) -> tuple[np.ndarray, float]:
    """First principal component of the centred (female, male) pairs, pointing to the female side.

    Returns the unit direction and the share of variance it explains (Bolukbasi et al. 2016).
    """
    from sklearn.decomposition import PCA

    rows = []
    for f, m in pairs:
        vf, vm = _unit(kv[f]), _unit(kv[m])
        centre = (vf + vm) / 2
        rows += [vf - centre, vm - centre]
    pca = PCA(n_components=min(10, len(rows))).fit(np.array(rows))
    d = pca.components_[0]
    diffs = np.array([_unit(kv[f]) - _unit(kv[m]) for f, m in pairs])
    if (diffs @ d).mean() < 0:
        d = -d
    return d / np.linalg.norm(d), float(pca.explained_variance_ratio_[0])


def rank_in_vocab(kv, scores: np.ndarray, target: str, exclude: Sequence[str]) -> int:
    """1-based rank of ``target`` among all words by ``scores`` (higher first), ignoring ``exclude``."""
    idx = kv.key_to_index[target]
    skip = [kv.key_to_index[w] for w in exclude if w in kv.key_to_index and w != target]
    better = scores > scores[idx]
    better[skip] = False
    return int(better.sum()) + 1


class Scorer:
    """Scores of every word of ``kv`` against a query, from one unit-normalised copy of the vectors.

    gensim's ``most_similar`` re-normalises all vectors on every call; the ranks in the tables
    (where does the expected word land among 400,000?) need many full passes, so they use this
    copy. The scores equal gensim's up to float32 rounding (tested).
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


def group_separation(vectors: np.ndarray, labels: Sequence[str]) -> float:
    """Leave-one-out 1-nearest-neighbour accuracy (cosine) of group labels: 1.0 = every word's nearest word is in its group."""
    u = _unit(vectors)
    sims = u @ u.T
    np.fill_diagonal(sims, -np.inf)
    labels = np.asarray(labels)
    return float(np.mean(labels[sims.argmax(axis=1)] == labels))


def offset_parallelism(kv, pairs: Sequence[tuple[str, str]]) -> float:
    """Mean pairwise cosine between the offsets ``to - from`` of ``pairs`` (1.0 = all arrows parallel)."""
    off = _unit(np.array([kv[t] - kv[f] for f, t in pairs]))
    sims = off @ off.T
    n = len(pairs)
    return float((sims.sum() - n) / (n * (n - 1)))


def _fmt_top(top: Sequence[tuple[str, float]], digits: int = 3) -> str:
    return ", ".join(f"{w} {s:.{digits}f}" for w, s in top)


# ---------------------------------------------------------------- plots

def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
                         "xtick.labelsize": 8, "ytick.labelsize": 8})
    return plt


ARROW_COLOURS = {"gender": "#c0392b", "age": "#2471a3", "plural": "#7d3c98", "adult to young": "#1e8449",
                 "old to young": "#b9770e"}


def pca_map(kv, spec: dict, path, extra_points: dict[str, np.ndarray] | None = None, dpi: int = 150) -> dict:
    """Draw a 2-D PCA map of ``spec``'s word groups with labelled points and analogy arrows.

    PCA (scikit-learn) is fitted on the map's words only; ``extra_points`` (label -> vector) are
    projected with the same PCA and drawn as stars. Returns the explained variance of the two axes.
    """
    from sklearn.decomposition import PCA

    plt = _plt()
    words = [w for g in spec["groups"].values() for w in g]
    labels = [name for name, g in spec["groups"].items() for _ in g]
    X = np.array([kv[w] for w in words], dtype=np.float64)
    pca = PCA(n_components=2).fit(X)
    P = pca.transform(X)
    pos = dict(zip(words, P))
    fig, ax = plt.subplots(figsize=(6.8, 4.3))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, name in enumerate(spec["groups"]):
        pts = np.array([pos[w] for w, lab in zip(words, labels) if lab == name])
        ax.scatter(pts[:, 0], pts[:, 1], s=22, color=colours[i % len(colours)], label=name, zorder=3)
    shown_kinds = set()
    for f, t, kind in spec["arrows"]:
        colour = ARROW_COLOURS.get(kind, "#555555")
        ax.annotate("", xy=pos[t], xytext=pos[f], zorder=2,
                    arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.1, "alpha": 0.8, "shrinkA": 4, "shrinkB": 4})
        if kind not in shown_kinds:
            ax.plot([], [], color=colour, lw=1.2, label=f"arrow: {kind}")
            shown_kinds.add(kind)
    stars = {}
    for label, vec in (extra_points or {}).items():
        p = pca.transform(np.asarray(vec, dtype=np.float64)[None, :])[0]
        ax.scatter([p[0]], [p[1]], marker="*", s=110, color="black", zorder=4)
        stars[label] = p
    if stars:
        ax.scatter([], [], marker="*", s=80, color="black", label="analogy point / its answer")
    ax.margins(0.12)
    ev = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC 1 ({100 * ev[0]:.0f}% of variance)")
    ax.set_ylabel(f"PC 2 ({100 * ev[1]:.0f}% of variance)")
    ax.set_title(spec["title"])
    ax.grid(alpha=0.25)
    ax.legend(loc="best", framealpha=0.85)
    fig.tight_layout()
    ax.set_xlim(ax.get_xlim())
    ax.set_ylim(ax.get_ylim())
    labels_at = {w: (pos[w], {}) for w in words} | {k: (v, {"style": "italic"}) for k, v in stars.items()}
    _place_labels(ax, labels_at, fontsize=9)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return {"explained_variance": [float(v) for v in ev]}


def _place_labels(ax, labels: dict, fontsize: float = 9) -> None:
    """Annotate points, choosing for each label the offset (of eight) that overlaps least with
    labels already placed, with every point's marker and with the axes' edges (greedy)."""
    fig = ax.figure
    to_px = fig.dpi / 72.0
    xy = {k: ax.transData.transform(p) for k, (p, _) in labels.items()}
    h = fontsize * to_px * 1.05
    r = 4 * to_px  # marker half-size in pixels
    boxes = [(x - r, y - r, x + r, y + r) for x, y in xy.values()]
    bbox = ax.get_window_extent()
    edge = (bbox.x0, bbox.y0, bbox.x1, bbox.y1)

    def overlap(b):
        total = 0.0
        for o in boxes:
            w = min(b[2], o[2]) - max(b[0], o[0])
            v = min(b[3], o[3]) - max(b[1], o[1])
            if w > 0 and v > 0:
                total += w * v
        outside = (max(0, edge[0] - b[0]) + max(0, b[2] - edge[2])) * h + (max(0, edge[1] - b[1]) + max(0, b[3] - edge[3])) * h
        return total + 4 * outside

    order = sorted(labels, key=lambda k: xy[k][1])
    for k in order:
        x, y = xy[k]
        w = 0.6 * fontsize * to_px * len(k)
        g = 3 * to_px
        cands = [(g, g), (g, -g - h), (-g - w, g), (-g - w, -g - h), (-w / 2, g + r), (-w / 2, -g - r - h),
                 (g + r, -h / 2), (-g - r - w, -h / 2)]
        best = min(cands, key=lambda c: overlap((x + c[0], y + c[1], x + c[0] + w, y + c[1] + h)))
        boxes.append((x + best[0], y + best[1], x + best[0] + w, y + best[1] + h))
        ax.annotate(k, labels[k][0], xytext=(best[0] / to_px, best[1] / to_px), textcoords="offset points",
                    fontsize=fontsize, ha="left", va="bottom", zorder=5, **labels[k][1])


def projection_plot(names: Sequence[str], values: Sequence[float], path, title: str, dpi: int = 150) -> None:
    """Horizontal bars of each occupation's projection on the gender direction (female side positive)."""
    plt = _plt()
    order = np.argsort(values)
    names = [names[i] for i in order]
    values = np.asarray(values)[order]
    fig, ax = plt.subplots(figsize=(6.8, 4.3 + 0.0 * len(names)))
    colours = ["#c0392b" if v > 0 else "#2471a3" for v in values]
    ax.barh(range(len(names)), values, color=colours, height=0.72)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("cosine with the gender direction  (← he side    she side →)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    ax.set_ylim(-0.7, len(names) - 0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


# ---------------------------------------------------------------- run

def _all_words() -> list[str]:
    words = list(SIMILAR_WORDS) + [w for t in DISTANCE_TRIPLES for w in t]
    words += [w for a in ANALOGIES for w in a if w] + list(CALF) + ["mad"]
    words += [w for spec in MAPS.values() for g in spec["groups"].values() for w in g]
    words += [w for t in WEAT_TESTS.values() for k in "XYAB" for w in t[k]]
    words += [w for p in GENDER_PAIRS for w in p] + list(OCCUPATIONS)
    return list(dict.fromkeys(words))


def run(ctx: Context) -> TaskResult:
    cfg = ctx.config
    result = TaskResult(task=ctx.task_id)
    cos_dist = ctx.impl("cosine_distance", cosine_distance)
    analog = ctx.impl("analogy", analogy)
    weat_d = ctx.impl("weat_effect_size", weat_effect_size)

    with ctx.timed("load vectors"):
        data = ctx.data.load(VECTORS)
        words, vectors = data["words"].tolist(), data["vectors"]
    with ctx.timed("build KeyedVectors"):
        t0 = time.perf_counter()
        kv = build_keyed_vectors(words, vectors)
        build_s = time.perf_counter() - t0
    require_words(kv, _all_words(), where="hw14.q1 word lists")
    dim = int(kv.vector_size)
    result.metrics.update({"vectors.dim": dim, "vectors.count": len(kv.key_to_index),
                           "timing.keyedvectors_build_s": round(build_s, 3)})
    result.facts["vectors"] = {"dataset": VECTORS, "title": VECTORS_TITLE, "dim": dim, "words": len(kv.key_to_index),
                               "reference_vectors": REFERENCE_VECTORS, "reference_name": REFERENCE_NAME, "reference_dim": 100,
                               "same_as_reference": False}

    # --- 1. nearest words
    with ctx.timed("similar words"):
        similar = {w: [(str(s), float(c)) for s, c in kv.most_similar(w, topn=cfg["topn"])] for w in SIMILAR_WORDS}
    rows = []
    for i in range(cfg["topn"]):
        row: list = [i + 1]
        for w in SIMILAR_WORDS:
            row += [similar[w][i][0], round(similar[w][i][1], 4)]
        rows.append(row)
    result.add_table("similar_words", ["rank"] + [c for w in SIMILAR_WORDS for c in (w, f"{w} cosine")], rows)
    result.facts["similar"] = similar
    for w in SIMILAR_WORDS:
        result.metrics[f"similar.{w}.top1"] = similar[w][0][0]
        result.metrics[f"similar.{w}.top1_cosine"] = similar[w][0][1]
    with ctx.timed("cosines for ranks"):
        scorer = Scorer(kv)
        scorer.prefetch([w for a in ANALOGIES for w in a if w] + list(CALF) + ["iran", "mother", "notebook"])
    for w, other in (("iran", "tehran"), ("mother", "daughter"), ("notebook", "laptop")):
        result.metrics[f"similar.{w}.{other}_rank"] = scorer.rank(scorer.cosines(w), other, (w,))
        result.metrics[f"similar.{w}.{other}_cosine"] = float(kv.similarity(w, other))

    # --- 2. near and far
    rows, worst = [], 0.0
    for w, near, far in DISTANCE_TRIPLES:
        dn, df = cos_dist(kv[w], kv[near]), cos_dist(kv[w], kv[far])
        worst = max(worst, abs(dn - float(kv.distance(w, near))), abs(df - float(kv.distance(w, far))))
        ref = REFERENCE["distances"][w]
        rows.append([w, near, round(dn, 4), far, round(df, 4), bool(dn < df), ref[0], ref[1]])
        result.metrics[f"distance.{w}.near"] = dn
        result.metrics[f"distance.{w}.far"] = df
        result.metrics[f"distance.{w}.near_is_nearer"] = bool(dn < df)
    result.metrics["distance.max_abs_diff_gensim"] = worst
    # Baseline: the distance of two random words among the 20,000 most frequent ones (GloVe's order).
    rng = np.random.default_rng(ctx.seed)
    pairs = rng.integers(0, cfg["baseline_vocab"], size=(cfg["baseline_pairs"], 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    base = 1.0 - np.sum(scorer.unit[pairs[:, 0]] * scorer.unit[pairs[:, 1]], axis=1, dtype=np.float64)
    result.metrics["distance.random_pair_mean"] = float(base.mean())
    result.metrics["distance.random_pair_std"] = float(base.std())
    result.add_table("distances", ["word", "near word", "distance", "far word", "distance ", "near < far",
                                   "reference near", "reference far"], rows)

    # --- 3. analogies, both directions, two scorings
    with ctx.timed("analogies"):
        summary, tops = [], []
        for a, b, c, expected in ANALOGIES:
            fwd = analog(kv, a, b, c, topn=cfg["topn"])
            fwd_mul = analog(kv, a, b, c, topn=cfg["topn"], cosmul=True)
            target = expected or fwd[0][0]
            back = analog(kv, target, c, b, topn=cfg["topn"])
            back_mul = analog(kv, target, c, b, topn=cfg["topn"], cosmul=True)
            for direction, (p, q, r), want, add_top, mul_top in (
                    ("forward", (a, b, c), expected, fwd, fwd_mul), ("backward", (target, c, b), a, back, back_mul)):
                query = f"{p} \u2212 {r} + {q}"
                rank_add = scorer.rank(scorer.analogy(p, q, r), want, (p, q, r)) if want else None
                rank_mul = scorer.rank(scorer.analogy(p, q, r, cosmul=True), want, (p, q, r)) if want else None
                summary.append([direction, query, want or "(open)", add_top[0][0], round(add_top[0][1], 4), rank_add,
                                mul_top[0][0], round(mul_top[0][1], 4), rank_mul])
                tops += [[query, "3CosAdd", _fmt_top(add_top)], [query, "3CosMul", _fmt_top(mul_top)]]
                result.facts.setdefault("analogies", []).append(
                    {"direction": direction, "query": query, "expected": want, "add": add_top, "cosmul": mul_top,
                     "rank_add": rank_add, "rank_cosmul": rank_mul})
                key = f"analogy.{a}.{direction}"
                result.metrics[f"{key}.top1_add"] = add_top[0][0]
                result.metrics[f"{key}.top1_cosmul"] = mul_top[0][0]
                if want:
                    result.metrics[f"{key}.rank_add"] = rank_add
                    result.metrics[f"{key}.rank_cosmul"] = rank_mul
        result.add_table("analogies", ["direction", "query", "expected", "top-1 (3CosAdd)", "cosine", "rank of expected (add)",
                                       "top-1 (3CosMul)", "score", "rank of expected (mul)"], summary)
        result.add_table("analogies_top10", ["query", "scoring", f"top {cfg['topn']} (score)"], tops)
        closed = [r for r in summary if r[5] is not None]
        result.metrics["analogy.solved_add"] = sum(1 for r in closed if r[5] == 1)
        result.metrics["analogy.solved_cosmul"] = sum(1 for r in closed if r[8] == 1)
        result.metrics["analogy.closed_queries"] = len(closed)

        cow, young, old, calf = CALF
        calf_add = analog(kv, cow, young, old, topn=cfg["topn"])
        calf_mul = analog(kv, cow, young, old, topn=cfg["topn"], cosmul=True)
        sc_add, sc_mul = scorer.analogy(cow, young, old), scorer.analogy(cow, young, old, cosmul=True)
        calf_rows = [[i + 1, calf_add[i][0], round(calf_add[i][1], 4), calf_mul[i][0], round(calf_mul[i][1], 4)]
                     for i in range(cfg["topn"])]
        result.add_table("calf", ["rank", "3CosAdd", "cosine", "3CosMul", "score"], calf_rows)
        result.metrics.update({
            "calf.top1_add": calf_add[0][0], "calf.top1_cosmul": calf_mul[0][0],
            "calf.rank_add": scorer.rank(sc_add, calf, (cow, young, old)),
            "calf.rank_cosmul": scorer.rank(sc_mul, calf, (cow, young, old)),
            "calf.mad_rank_add": scorer.rank(sc_add, "mad", (cow, young, old)),
            "calf.cow_calf_cosine": float(kv.similarity(cow, calf)),
        })

    # --- bad input: an unknown word gives a message naming it
    probe = cfg["unknown_word"]
    try:
        analogy(kv, "king", probe, "man")
        message = ""
    except UnknownWordError as e:
        message = str(e)
    result.facts["bad_input"] = {"call": f"analogy(kv, 'king', {probe!r}, 'man')", "message": message}
    result.metrics["bad_input.unknown_word_named"] = bool(message and repr(probe) in message)

    # --- 4. PCA maps
    with ctx.timed("PCA maps"):
        maps = {}
        for name, spec in MAPS.items():
            extra = None
            if name == "calf_analogy":
                extra = {"cow \u2212 old + young": kv[cow] - kv[old] + kv[young],
                         f"{calf_add[0][0]} (top-1)": kv[calf_add[0][0]]}
            fname = f"pca_{name}.png"
            info = pca_map(kv, spec, ctx.figure_path(fname), extra_points=extra, dpi=cfg["dpi"])
            result.figures[f"pca_{name}"] = fname
            labels = [g for g, ws in spec["groups"].items() for _ in ws]
            ws = [w for g in spec["groups"].values() for w in g]
            info["separation_1nn"] = group_separation(np.array([kv[w] for w in ws]), labels)
            kinds = {}
            for f, t, kind in spec["arrows"]:
                kinds.setdefault(kind, []).append((f, t))
            info["parallelism"] = {k: offset_parallelism(kv, p) for k, p in kinds.items() if len(p) > 1}
            maps[name] = info
            result.metrics[f"pca.{name}.explained_variance_2d"] = float(sum(info["explained_variance"]))
            result.metrics[f"pca.{name}.separation_1nn"] = info["separation_1nn"]
            for k, v in info["parallelism"].items():
                result.metrics[f"pca.{name}.parallelism_{k.replace(' ', '_')}"] = v
        result.facts["maps"] = {n: {"title": MAPS[n]["title"], "groups": {g: list(w) for g, w in MAPS[n]["groups"].items()},
                                    **maps[n]} for n in MAPS}
        result.metrics["pca.maps"] = len(maps)

    # --- 5. WEAT and the gender direction
    with ctx.timed("WEAT"):
        rows = []
        for name, test in WEAT_TESTS.items():
            X, Y, A, B = (np.array([kv[w] for w in test[k]], dtype=np.float64) for k in "XYAB")
            d = float(weat_d(X, Y, A, B))
            p, n_used = weat_p_value(X, Y, A, B, cfg["weat_permutations"], ctx.seed)
            rows.append([test["title"], round(d, 4), p, n_used, test["caliskan_d"], test["caliskan_p"]])
            result.metrics[f"weat.{name}.effect_size"] = d
            result.metrics[f"weat.{name}.p_value"] = p
            result.metrics[f"weat.{name}.partitions"] = n_used
            ref_d = weat_effect_size(X, Y, A, B)
            result.metrics[f"weat.{name}.effect_size_abs_error"] = abs(d - ref_d)
        result.add_table("weat", ["test", "effect size d", "p-value (one-sided)", "partitions", "Caliskan et al. d (GloVe 840B)",
                                 "Caliskan et al. p"], rows)
        result.facts["weat"] = {n: {k: list(t[k]) if k in "XYAB" else t[k] for k in t} for n, t in WEAT_TESTS.items()}
        result.facts["weat_method"] = ("exact: every equal split" if cfg["weat_permutations"] is None
                                       else f"{cfg['weat_permutations']} random equal splits, seed {ctx.seed}")

    with ctx.timed("gender direction"):
        direction, explained = gender_direction(kv)
        he_she = _unit(kv["she"] - kv["he"])
        proj = {o: float(_unit(kv[o]) @ direction) for o in OCCUPATIONS}
        projection_plot(list(proj), list(proj.values()), ctx.figure_path("gender_projection.png"),
                        "Occupations projected on the gender direction (PCA of 10 she/he pairs)", dpi=cfg["dpi"])
        result.figures["gender_projection"] = "gender_projection.png"
        ranked = sorted(proj.items(), key=lambda kv_: -kv_[1])
        result.add_table("gender_projection", ["occupation", "projection (she side +)", "projection on she - he"],
                         [[o, round(v, 4), round(float(_unit(kv[o]) @ he_she), 4)] for o, v in ranked])
        female_side = [o for o, v in ranked if v > 0]
        result.metrics.update({
            "gender.pc1_explained": explained,
            "gender.direction_cosine_she_he": float(direction @ he_she),
            "gender.projection.nurse": proj["nurse"], "gender.projection.doctor": proj["doctor"],
            "gender.projection.homemaker": proj["homemaker"], "gender.projection.engineer": proj["engineer"],
            "gender.nurse_minus_doctor": proj["nurse"] - proj["doctor"],
            "gender.homemaker_minus_engineer": proj["homemaker"] - proj["engineer"],
            "gender.female_side_share": len(female_side) / len(proj),
        })
        result.facts["gender"] = {"pairs": [list(p) for p in GENDER_PAIRS], "most_female": [o for o, _ in ranked[:5]],
                                  "most_male": [o for o, _ in ranked[::-1][:5]], "female_side": female_side}
    result.facts["reference"] = REFERENCE
    result.facts["topn"] = cfg["topn"]
    return result


TASK = Task(
    id="hw14.q1",
    title={"en": "GloVe word vectors: neighbours, analogies, PCA maps and a gender-bias test",
           "fa": "بردارهای واژهٔ GloVe: همسایه‌ها، قیاس‌ها، نقشه‌های PCA و آزمون سوگیری جنسیتی"},
    datasets=(VECTORS,),
    configs={
        # Same vectors and word lists everywhere; profiles differ only in the WEAT permutation count
        # (None = exact test over all 12,870 equal splits of 16 target words).
        "smoke": {"topn": 10, "weat_permutations": 2000, "dpi": 150, "unknown_word": "tehranistan",
                  "baseline_vocab": 20000, "baseline_pairs": 5000},
        "quick": {"topn": 10, "weat_permutations": 10000, "dpi": 150, "unknown_word": "tehranistan",
                  "baseline_vocab": 20000, "baseline_pairs": 5000},
        "full": {"topn": 10, "weat_permutations": None, "dpi": 150, "unknown_word": "tehranistan",
                  "baseline_vocab": 20000, "baseline_pairs": 5000},
    },
    run=run,
    module=__name__,
    student_functions=("cosine_distance", "analogy", "weat_effect_size"),
)
