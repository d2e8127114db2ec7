"""hw14.q1 (GloVe): the pieces on toy vectors, bad inputs, and the smoke run's contents."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest

from dlgrade.errors import DlgradeError
from dlgrade.tasks import hw14_q1_glove as q

# ---------------------------------------------------------------- toy vectors

# Axes: 0 royalty, 1 female, 2 person, 3 acting; the rest is noise for distractors.
TOY = {
    "man": [0, 0, 1, 0], "woman": [0, 1, 1, 0], "king": [1, 0, 1, 0], "queen": [1, 1, 1, 0],
    "actor": [0, 0, 1, 1], "actress": [0, 1, 1, 1], "throne": [1, 0.2, 0, 0], "stage": [0, 0.1, 0, 1],
}


@pytest.fixture(scope="module")
def toy_kv():
    rng = np.random.default_rng(0)
    words = list(TOY)
    vecs = [np.concatenate([np.array(v, dtype=np.float32), 0.05 * rng.normal(size=4).astype(np.float32)]) for v in TOY.values()]
    noise = [f"noise{i}" for i in range(40)]
    vecs += list(rng.normal(size=(40, 8)).astype(np.float32))
    return q.build_keyed_vectors(np.array(words + noise), np.array(vecs), name="toy vectors")


@pytest.fixture(scope="module")
def random_kv():
    rng = np.random.default_rng(1)
    return q.build_keyed_vectors([f"w{i}" for i in range(600)], rng.normal(size=(600, 16)).astype(np.float32))


# ---------------------------------------------------------------- cosine distance

def test_cosine_distance_known_values():
    assert q.cosine_distance(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(1.0)
    assert q.cosine_distance(np.array([1.0, 2.0]), np.array([3.0, 6.0])) == pytest.approx(0.0, abs=1e-12)
    assert q.cosine_distance(np.array([1.0, 1.0]), np.array([-2.0, -2.0])) == pytest.approx(2.0)


def test_cosine_distance_matches_gensim(toy_kv):
    for a, b in itertools.combinations(TOY, 2):
        assert q.cosine_distance(toy_kv[a], toy_kv[b]) == pytest.approx(float(toy_kv.distance(a, b)), abs=1e-6)


def test_cosine_distance_refuses_a_zero_vector():
    with pytest.raises(ValueError, match="zero vector"):
        q.cosine_distance(np.zeros(3), np.ones(3))


# ---------------------------------------------------------------- analogies and bad words

def test_analogy_solves_toy_king_queen_both_scorings(toy_kv):
    for cosmul in (False, True):
        top = q.analogy(toy_kv, "king", "woman", "man", topn=3, cosmul=cosmul)
        assert top[0][0] == "queen"
        assert {"king", "woman", "man"}.isdisjoint(w for w, _ in top)
        assert all(isinstance(w, str) and isinstance(s, float) for w, s in top)
    assert q.analogy(toy_kv, "actor", "woman", "man")[0][0] == "actress"
    assert q.analogy(toy_kv, "queen", "man", "woman")[0][0] == "king"  # the backward direction


def test_unknown_word_in_an_analogy_is_named(toy_kv):
    with pytest.raises(q.UnknownWordError) as e:
        q.analogy(toy_kv, "king", "tehranistan", "man")
    msg = str(e.value)
    assert "'tehranistan'" in msg and "toy vectors" in msg and "48 words" in msg
    assert "king" in msg  # the analogy it was part of
    assert isinstance(e.value, DlgradeError)  # the CLI prints it without a traceback


def test_unknown_words_are_all_listed_and_case_is_hinted(toy_kv):
    with pytest.raises(q.UnknownWordError, match=r"'King', 'zzz' are not in the vocabulary.*use 'king' for 'King'"):
        q.require_words(toy_kv, ["King", "queen", "zzz", "zzz"])


def test_a_non_string_word_is_refused_clearly(toy_kv):
    with pytest.raises(q.UnknownWordError, match="expected words .str., got int 3"):
        q.analogy(toy_kv, "king", 3, "man")


def test_build_keyed_vectors_checks_lengths_and_makes_plain_str_keys():
    kv = q.build_keyed_vectors(np.array(["a", "b"]), np.eye(2))
    assert all(type(k) is str for k in kv.index_to_key) and kv.vectors.dtype == np.float32
    with pytest.raises(ValueError, match="3 words but 2 vectors"):
        q.build_keyed_vectors(["a", "b", "c"], np.eye(2))


# ---------------------------------------------------------------- full-vocabulary scores and ranks

def test_scorer_ranks_like_gensim(random_kv):
    s = q.Scorer(random_kv)
    a, b, c = "w1", "w2", "w3"
    for cosmul, fn in ((False, random_kv.most_similar), (True, random_kv.most_similar_cosmul)):
        scores = s.analogy(a, b, c, cosmul=cosmul)
        top = fn(positive=[a, b], negative=[c], topn=10)
        assert [s.rank(scores, w, (a, b, c)) for w, _ in top] == list(range(1, 11))
    mul = s.analogy(a, b, c, cosmul=True)
    want = random_kv.most_similar_cosmul(positive=[a, b], negative=[c], topn=None)
    np.testing.assert_allclose(mul, want, rtol=1e-5)


def test_rank_ignores_excluded_words(toy_kv):
    s = q.Scorer(toy_kv)
    sims = s.cosines("king")
    assert s.rank(sims, "king") == 1  # itself first when not excluded
    assert s.rank(sims, "queen", ("king",)) == int((sims > sims[toy_kv.key_to_index["queen"]]).sum())


# ---------------------------------------------------------------- WEAT

def _weat_by_hand(X, Y, A, B):
    def cos(u, v):
        return u @ v / np.linalg.norm(u) / np.linalg.norm(v)

    s = [np.mean([cos(w, a) for a in A]) - np.mean([cos(w, b) for b in B]) for w in list(X) + list(Y)]
    return (np.mean(s[: len(X)]) - np.mean(s[len(X):])) / np.std(s, ddof=1)


def test_weat_effect_size_matches_the_formula_and_its_symmetries():
    rng = np.random.default_rng(5)
    X, Y, A, B = (rng.normal(size=(n, 12)) for n in (4, 5, 3, 6))
    d = q.weat_effect_size(X, Y, A, B)
    assert d == pytest.approx(_weat_by_hand(X, Y, A, B), rel=1e-10)
    assert q.weat_effect_size(Y, X, A, B) == pytest.approx(-d)
    assert q.weat_effect_size(X, Y, B, A) == pytest.approx(-d)
    assert q.weat_effect_size(3 * X, Y, 0.5 * A, B) == pytest.approx(d)  # cosines ignore length


def test_weat_detects_a_planted_association():
    rng = np.random.default_rng(6)
    a_dir, b_dir = np.eye(10)[0], np.eye(10)[1]
    A = a_dir + 0.1 * rng.normal(size=(6, 10))
    B = b_dir + 0.1 * rng.normal(size=(6, 10))
    X = a_dir + 0.5 * rng.normal(size=(6, 10))
    Y = b_dir + 0.5 * rng.normal(size=(6, 10))
    assert q.weat_effect_size(X, Y, A, B) > 1.5
    p, n = q.weat_p_value(X, Y, A, B, None, 0)
    assert n == math.comb(12, 6) and p == pytest.approx(1 / n)  # exact test: only the true split is as extreme


def test_weat_p_value_random_permutations_are_seeded_and_never_zero():
    rng = np.random.default_rng(7)
    X, Y, A, B = (rng.normal(size=(8, 10)) for _ in range(4))
    p1, n1 = q.weat_p_value(X, Y, A, B, 500, seed=3)
    p2, _ = q.weat_p_value(X, Y, A, B, 500, seed=3)
    assert p1 == p2 and n1 == 500 and 0 < p1 <= 1
    exact, _ = q.weat_p_value(X, Y, A, B, None, 0)
    assert abs(q.weat_p_value(X, Y, A, B, 20000, seed=1)[0] - exact) < 0.02


# ---------------------------------------------------------------- geometry helpers

def test_gender_direction_points_to_the_female_side(toy_kv):
    d, explained = q.gender_direction(toy_kv, [("woman", "man"), ("queen", "king"), ("actress", "actor")])
    assert np.linalg.norm(d) == pytest.approx(1.0) and 0 < explained <= 1
    assert (q._unit(toy_kv["woman"]) - q._unit(toy_kv["man"])) @ d > 0


def test_offsets_and_groups(toy_kv):
    assert q.offset_parallelism(toy_kv, [("man", "woman"), ("king", "queen"), ("actor", "actress")]) > 0.9
    assert q.group_separation(np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1]]), ["a", "a", "b", "b"]) == 1.0
    assert q.group_separation(np.array([[1, 0], [0, 1], [1, 0.1], [0.1, 1]]), ["a", "a", "b", "b"]) == 0.0


def test_pca_map_writes_a_print_ready_png(toy_kv, tmp_path):
    from PIL import Image

    spec = {"title": "toy", "groups": {"male": ("man", "king"), "female": ("woman", "queen")},
            "arrows": (("man", "woman", "gender"), ("king", "queen", "gender"))}
    info = q.pca_map(toy_kv, spec, tmp_path / "m.png", extra_points={"king − man + woman": toy_kv["king"]})
    assert len(info["explained_variance"]) == 2 and sum(info["explained_variance"]) <= 1 + 1e-9
    with Image.open(tmp_path / "m.png") as im:
        assert round(im.info["dpi"][0]) == 150 and im.size[0] >= 900


def test_every_word_list_is_lowercase_and_groups_have_no_duplicates():
    words = q._all_words()
    assert all(w == w.lower() for w in words)
    for spec in q.MAPS.values():
        flat = [w for g in spec["groups"].values() for w in g]
        assert len(flat) == len(set(flat))
        assert all(f in flat and t in flat for f, t, _ in spec["arrows"])
    for t in q.WEAT_TESTS.values():
        assert len(t["X"]) == len(t["Y"]) == 8 and len(t["A"]) == len(t["B"]) == 8


# ---------------------------------------------------------------- the smoke run

def test_smoke_run_names_its_vectors_and_fills_every_table(smoke_run):
    r = smoke_run("hw14.q1").result
    assert r.facts["vectors"]["dim"] == r.metrics["vectors.dim"] == 50
    assert r.facts["vectors"]["same_as_reference"] is False and "100" in r.facts["vectors"]["reference_vectors"]
    assert len(r.tables["similar_words"]["rows"]) == 10 and len(r.tables["similar_words"]["columns"]) == 11
    assert len(r.tables["analogies"]["rows"]) == 10 and len(r.tables["analogies_top10"]["rows"]) == 20
    assert {row[0] for row in r.tables["analogies"]["rows"]} == {"forward", "backward"}
    assert len(r.tables["calf"]["rows"]) == 10 and len(r.tables["weat"]["rows"]) == 3
    assert set(r.figures) == {f"pca_{n}" for n in q.MAPS} | {"gender_projection"}
    assert "'tehranistan'" in r.facts["bad_input"]["message"]
    assert r.provenance["durations_s"]["build KeyedVectors"] > 0


def test_the_50d_rubric_does_not_pass_a_run_on_other_vectors(smoke_run):
    from dlgrade.grader import grade_result

    r = copy.deepcopy(smoke_run("hw14.q1").result)
    r.metrics["vectors.dim"] = 100
    r.metrics["analogy.king.forward.top1_add"] = "throne"
    failed = {c.id for c in grade_result(r).checks if not c.passed}
    assert failed == {"vectors_are_50d", "king_queen"}
