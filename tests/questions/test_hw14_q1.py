"""hw14.q1 (GloVe): the pieces on toy vectors, bad inputs, the sandbox-side steps, and the smoke run's contents."""

from __future__ import annotations

import ast
import copy
import itertools
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from dlgrade.errors import DlgradeError
from dlgrade.kit import harness
from dlgrade.kit.runner import StepFailed
from dlgrade.questions.hw14_q1 import QUESTION, evaluate, figures, reference, spec, train
from dlgrade.questions.hw14_q1.vocab import UnknownWordError, require_words

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
    return train.build_keyed_vectors(np.array(words + noise), np.array(vecs), name="toy vectors")


@pytest.fixture(scope="module")
def random_kv():
    rng = np.random.default_rng(1)
    return train.build_keyed_vectors([f"w{i}" for i in range(600)], rng.normal(size=(600, 16)).astype(np.float32))


@pytest.fixture(scope="module")
def question_vocab():
    """Random 8-d vectors for every word the question looks up, plus distractors (the steps run on them)."""
    rng = np.random.default_rng(2)
    words = spec.all_words() + [f"filler{i}" for i in range(50)]
    return np.array(words), rng.normal(size=(len(words), 8)).astype(np.float32)


def run_train_step(name: str, inputs: dict, fns=reference, tmp_path=None) -> dict:
    """A training step through the harness the sandbox uses (config of the smoke profile, seed 0)."""
    return harness.run_step(fns, target=f"dlgrade.questions.hw14_q1.train:{name}",
                            config_class="dlgrade.questions.hw14_q1.spec:Config", config=spec.CONFIGS["smoke"].to_dict(),
                            seed=0, seed_offsets=spec.SEED_OFFSETS, inputs=inputs, work_dir=str(tmp_path) if tmp_path else None,
                            progress=SimpleNamespace(log=lambda *a: None))


# ---------------------------------------------------------------- cosine distance

def test_cosine_distance_known_values():
    assert reference.cosine_distance(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(1.0)
    assert reference.cosine_distance(np.array([1.0, 2.0]), np.array([3.0, 6.0])) == pytest.approx(0.0, abs=1e-12)
    assert reference.cosine_distance(np.array([1.0, 1.0]), np.array([-2.0, -2.0])) == pytest.approx(2.0)


def test_cosine_distance_matches_gensim(toy_kv):
    for a, b in itertools.combinations(TOY, 2):
        assert reference.cosine_distance(toy_kv[a], toy_kv[b]) == pytest.approx(float(toy_kv.distance(a, b)), abs=1e-6)


def test_cosine_distance_refuses_a_zero_vector():
    with pytest.raises(ValueError, match="zero vector"):
        reference.cosine_distance(np.zeros(3), np.ones(3))


# ---------------------------------------------------------------- analogies and bad words

def test_analogy_solves_toy_king_queen_both_scorings(toy_kv):
    for cosmul in (False, True):
        top = reference.analogy(toy_kv, "king", "woman", "man", topn=3, cosmul=cosmul)
        assert top[0][0] == "queen"
        assert {"king", "woman", "man"}.isdisjoint(w for w, _ in top)
        assert all(isinstance(w, str) and isinstance(s, float) for w, s in top)
    assert reference.analogy(toy_kv, "actor", "woman", "man")[0][0] == "actress"
    assert reference.analogy(toy_kv, "queen", "man", "woman")[0][0] == "king"  # the backward direction


def test_unknown_word_in_an_analogy_is_named(toy_kv):
    with pytest.raises(UnknownWordError) as e:
        reference.analogy(toy_kv, "king", "tehranistan", "man")
    msg = str(e.value)
    assert "'tehranistan'" in msg and "toy vectors" in msg and "48 words" in msg
    assert "king" in msg  # the analogy it was part of
    assert isinstance(e.value, DlgradeError)  # the CLI prints it without a traceback


def test_unknown_words_are_all_listed_and_case_is_hinted(toy_kv):
    with pytest.raises(UnknownWordError, match=r"'King', 'zzz' are not in the vocabulary.*use 'king' for 'King'"):
        require_words(toy_kv, ["King", "queen", "zzz", "zzz"])


def test_a_non_string_word_is_refused_clearly(toy_kv):
    with pytest.raises(UnknownWordError, match="expected words .str., got int 3"):
        reference.analogy(toy_kv, "king", 3, "man")


def test_build_keyed_vectors_checks_lengths_and_makes_plain_str_keys():
    kv = train.build_keyed_vectors(np.array(["a", "b"]), np.eye(2))
    assert all(type(k) is str for k in kv.index_to_key) and kv.vectors.dtype == np.float32
    with pytest.raises(ValueError, match="3 words but 2 vectors"):
        train.build_keyed_vectors(["a", "b", "c"], np.eye(2))


# ---------------------------------------------------------------- full-vocabulary scores and ranks

def test_scorer_ranks_like_gensim(random_kv):
    s = evaluate.Scorer(random_kv)
    a, b, c = "w1", "w2", "w3"
    for cosmul, fn in ((False, random_kv.most_similar), (True, random_kv.most_similar_cosmul)):
        scores = s.analogy(a, b, c, cosmul=cosmul)
        top = fn(positive=[a, b], negative=[c], topn=10)
        assert [s.rank(scores, w, (a, b, c)) for w, _ in top] == list(range(1, 11))
    mul = s.analogy(a, b, c, cosmul=True)
    want = random_kv.most_similar_cosmul(positive=[a, b], negative=[c], topn=None)
    np.testing.assert_allclose(mul, want, rtol=1e-5)


def test_rank_ignores_excluded_words(toy_kv):
    s = evaluate.Scorer(toy_kv)
    sims = s.cosines("king")
    assert s.rank(sims, "king") == 1  # itself first when not excluded
    assert s.rank(sims, "queen", ("king",)) == int((sims > sims[toy_kv.key_to_index["queen"]]).sum())


def test_random_pair_baseline_is_seeded_and_skips_self_pairs(random_kv):
    unit = evaluate.Scorer(random_kv).unit
    a = evaluate.random_pair_distances(unit, 5, 200, seed=4)
    assert np.array_equal(a, evaluate.random_pair_distances(unit, 5, 200, seed=4))
    assert len(a) < 200 and np.all(a > 1e-6)  # pairs of a word with itself (distance 0) were dropped


# ---------------------------------------------------------------- WEAT

def _weat_by_hand(X, Y, A, B):
    def cos(u, v):
        return u @ v / np.linalg.norm(u) / np.linalg.norm(v)

    s = [np.mean([cos(w, a) for a in A]) - np.mean([cos(w, b) for b in B]) for w in list(X) + list(Y)]
    return (np.mean(s[: len(X)]) - np.mean(s[len(X):])) / np.std(s, ddof=1)


def test_weat_effect_size_matches_the_formula_and_its_symmetries():
    rng = np.random.default_rng(5)
    X, Y, A, B = (rng.normal(size=(n, 12)) for n in (4, 5, 3, 6))
    d = reference.weat_effect_size(X, Y, A, B)
    assert d == pytest.approx(_weat_by_hand(X, Y, A, B), rel=1e-10)
    assert reference.weat_effect_size(Y, X, A, B) == pytest.approx(-d)
    assert reference.weat_effect_size(X, Y, B, A) == pytest.approx(-d)
    assert reference.weat_effect_size(3 * X, Y, 0.5 * A, B) == pytest.approx(d)  # cosines ignore length


def test_weat_detects_a_planted_association():
    rng = np.random.default_rng(6)
    a_dir, b_dir = np.eye(10)[0], np.eye(10)[1]
    A = a_dir + 0.1 * rng.normal(size=(6, 10))
    B = b_dir + 0.1 * rng.normal(size=(6, 10))
    X = a_dir + 0.5 * rng.normal(size=(6, 10))
    Y = b_dir + 0.5 * rng.normal(size=(6, 10))
    assert reference.weat_effect_size(X, Y, A, B) > 1.5
    p, n = evaluate.weat_p_value(X, Y, A, B, None, 0)
    assert n == math.comb(12, 6) and p == pytest.approx(1 / n)  # exact test: only the true split is as extreme


def test_weat_p_value_random_permutations_are_seeded_and_never_zero():
    rng = np.random.default_rng(7)
    X, Y, A, B = (rng.normal(size=(8, 10)) for _ in range(4))
    p1, n1 = evaluate.weat_p_value(X, Y, A, B, 500, seed=3)
    p2, _ = evaluate.weat_p_value(X, Y, A, B, 500, seed=3)
    assert p1 == p2 and n1 == 500 and 0 < p1 <= 1
    exact, _ = evaluate.weat_p_value(X, Y, A, B, None, 0)
    assert abs(evaluate.weat_p_value(X, Y, A, B, 20000, seed=1)[0] - exact) < 0.02


# ---------------------------------------------------------------- geometry helpers and plots

def test_gender_direction_points_to_the_female_side(toy_kv):
    d, explained = evaluate.gender_direction(toy_kv, [("woman", "man"), ("queen", "king"), ("actress", "actor")])
    assert np.linalg.norm(d) == pytest.approx(1.0) and 0 < explained <= 1
    assert (evaluate.unit(toy_kv["woman"]) - evaluate.unit(toy_kv["man"])) @ d > 0


def test_offsets_and_groups(toy_kv):
    assert evaluate.offset_parallelism(toy_kv, [("man", "woman"), ("king", "queen"), ("actor", "actress")]) > 0.9
    assert evaluate.group_separation(np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1]]), ["a", "a", "b", "b"]) == 1.0
    assert evaluate.group_separation(np.array([[1, 0], [0, 1], [1, 0.1], [0.1, 1]]), ["a", "a", "b", "b"]) == 0.0


def test_pca_map_writes_a_print_ready_png(toy_kv, tmp_path):
    from PIL import Image

    words = ["man", "king", "woman", "queen"]
    points, stars, explained = evaluate.pca_projection(np.array([toy_kv[w] for w in words]), {"king − man + woman": toy_kv["king"]})
    assert len(explained) == 2 and sum(explained) <= 1 + 1e-9 and set(stars) == {"king − man + woman"}
    from dlgrade.kit import plots

    paths = {lang: tmp_path / f"m.{lang}.png" for lang in ("en", "fa")}
    plots.draw(paths, figures.pca_map, dict(zip(words, points)), {"male": ("man", "king"), "female": ("woman", "queen")},
               (("man", "woman", "gender"), ("king", "queen", "gender")), stars, explained, "gender_age")
    for path in paths.values():  # one print-ready figure per language
        with Image.open(path) as im:
            assert round(im.info["dpi"][0]) == 150 and im.size[0] >= 900


def test_every_word_list_is_lowercase_and_groups_have_no_duplicates_and_words():
    words = spec.all_words()
    assert all(w == w.lower() for w in words)
    for name, m in spec.MAPS.items():
        flat = [w for g in m["groups"].values() for w in g]
        assert len(flat) == len(set(flat))
        assert all(f in flat and t in flat for f, t, _ in m["arrows"])
        assert name in spec.WORDS["map"] and f"pca_{name}" in spec.WORDS["caption"]
        assert set(m["groups"]) <= set(spec.WORDS["group"]) and {k for *_, k in m["arrows"]} <= set(spec.WORDS["arrow"])
    for name, t in spec.WEAT_TESTS.items():
        assert len(t["X"]) == len(t["Y"]) == 8 and len(t["A"]) == len(t["B"]) == 8
        assert name in spec.WORDS["weat"] and name in spec.REFERENCE["weat"]


# ---------------------------------------------------------------- the sandbox-side steps and what the trusted side accepts

def test_train_module_imports_nothing_that_reveals_an_answer():
    tree = ast.parse(Path(train.__file__).read_text())
    imported = {(n.module or "") if isinstance(n, ast.ImportFrom) else a.name
                for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    relative = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level}
    assert relative <= {"spec"}, relative
    assert not {m for m in imported if m.startswith("dlgrade")}, imported


def test_steps_return_plain_data_with_the_reference(question_vocab):
    words, vectors = question_vocab
    kv = train.build_keyed_vectors(words, vectors)
    out = run_train_step("distances", {"word_vectors": {w: kv[w] for w in spec.all_words()}})
    assert out["distances"].shape == (len(spec.DISTANCE_TRIPLES), 2)
    w, near, far = spec.DISTANCE_TRIPLES[0]
    assert out["distances"][0, 0] == pytest.approx(float(kv.distance(w, near)), abs=1e-6)
    out = run_train_step("analogies", {"words": words, "vectors": vectors})
    assert len(out["analogies"]) == len(spec.ANALOGIES)
    first = out["analogies"][0]["forward_add"]
    assert len(first) == spec.CONFIGS["smoke"].topn and all(isinstance(x, str) and isinstance(s, float) for x, s in first)
    assert out["unknown_word"]["error"] == "UnknownWordError" and "'tehranistan'" in out["unknown_word"]["message"]
    weat_vectors = {n: {k: np.array([kv[x] for x in t[k]], dtype=np.float64) for k in "XYAB"} for n, t in spec.WEAT_TESTS.items()}
    out = run_train_step("weat", {"weat_vectors": weat_vectors})
    assert out["effect_sizes"].shape == (len(spec.WEAT_TESTS),)


def test_a_student_analogy_that_does_not_raise_is_recorded_not_fatal(question_vocab):
    words, vectors = question_vocab

    def lenient(kv, a, b, c, topn=10, cosmul=False):  # returns answers even for unknown words
        return [(w, 0.5) for w in list(kv.key_to_index)[:topn]]

    out = run_train_step("analogies", {"words": words, "vectors": vectors}, fns=SimpleNamespace(analogy=lenient))
    assert out["unknown_word"] == {"error": "", "message": ""}


@pytest.mark.parametrize("bad, verdict", [
    ("not a list", "shape"), ([["w", 1.0]] * 3, "shape"), ([[1, 2.0]] * 10, "wrong_type"),
    ([["w", "x"]] * 10, "wrong_type"), ([["w", float("nan")]] * 10, "nan"),
])
def test_malformed_analogy_answers_fail_their_step(bad, verdict):
    with pytest.raises(StepFailed) as e:
        evaluate.expect_answers(bad, "analogies", "forward_add", 10)
    assert e.value.verdict == verdict and e.value.step == "analogies"


def test_question_declaration_is_sound():
    assert QUESTION.problems() == []
    assert {s.name for s in QUESTION.steps if s.sandboxed} == {"distances", "analogies", "weat"}
    from dlgrade.rubric import load_rubric

    steps = {s.name for s in QUESTION.steps}
    assert all(c.step in steps for c in load_rubric(QUESTION.rubric_path).checks)


# ---------------------------------------------------------------- the smoke run

@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    from dlgrade.progress import Progress
    from dlgrade.runstore import run_question

    return run_question(QUESTION, "smoke", 0, tmp_path_factory.mktemp("q1"), force=True, progress=Progress("t", quiet=True))


def test_smoke_run_names_its_vectors_and_fills_every_table(smoke):
    from dlgrade.results import metric_name_problem

    r = smoke.result
    assert r.facts["vectors"]["dim"] == r.metrics["vectors.dim"] == 50
    assert r.facts["vectors"]["same_as_reference"] is False and r.facts["vectors"]["reference_dim"] == 100
    assert len(r.tables["similar_words"]["rows"]) == 10 and len(r.tables["similar_words"]["columns"]) == 11
    assert len(r.tables["analogies"]["rows"]) == 10 and len(r.tables["analogies_top"]["rows"]) == 10 * 2 * 10
    assert {row[0] for row in r.tables["analogies"]["rows"]} == {"forward", "backward"}
    assert len(r.tables["calf"]["rows"]) == 10 and len(r.tables["weat"]["rows"]) == 3
    assert set(r.figures) == {f"pca_{n}" for n in spec.MAPS} | {"gender_projection"}
    assert "'tehranistan'" in r.facts["bad_input"]["message"]
    assert r.provenance["durations_s"]["vectors"] > 0
    assert [k for k in r.metrics if metric_name_problem(k)] == []


def test_the_50d_rubric_does_not_pass_a_run_on_other_vectors(smoke):
    from dlgrade.rubric import grade_result, load_rubric

    r = copy.deepcopy(smoke.result)
    r.metrics["vectors.dim"] = 100
    r.metrics["analogy.king.forward.top1_add"] = "throne"
    failed = {c.id for c in grade_result(r, load_rubric(QUESTION.rubric_path)).checks if not c.passed}
    assert failed == {"vectors_are_50d", "king_queen"}


def test_a_broken_weat_function_costs_only_the_weat_checks(tmp_path):
    from dlgrade.progress import Progress
    from dlgrade.rubric import grade_result, load_rubric
    from dlgrade.runstore import run_question

    fns = SimpleNamespace(cosine_distance=reference.cosine_distance, analogy=reference.analogy,
                          weat_effect_size=lambda X, Y, A, B: float("nan"))
    out = run_question(QUESTION, "smoke", 0, tmp_path, force=True, progress=Progress("t", quiet=True), fns=fns,
                       overrides_digest="nan-weat", keep_going=True)
    assert out.steps.status["evaluate_weat"] == "failed" and out.steps.failures["evaluate_weat"].verdict == "nan"
    assert all(v == "done" for k, v in out.steps.status.items() if k != "evaluate_weat")
    rubric = load_rubric(QUESTION.rubric_path)
    failed = {c.id for c in grade_result(out.result, rubric).checks if not c.passed}
    assert failed == {c.id for c in rubric.checks if c.step == "evaluate_weat"}


def test_the_unknown_word_is_named_quoted_or_not_but_not_inside_another_word():
    from dlgrade.questions.hw14_q1.evaluate import names_word

    assert names_word("Key 'tehranistan' not present", "tehranistan")
    assert names_word("not in the vocabulary: tehranistan, foo", "tehranistan")  # a student's message, no quotes
    assert not names_word("not in the vocabulary: tehranistans", "tehranistan")
    assert not names_word("", "tehranistan") and not names_word("word not found", "tehranistan")
