"""hw14.q2 pieces: triplet sampling, the TensorFlow losses against brute-force NumPy, k-NN / recall@1, bad inputs,
the training steps' outputs (no mining code and no test labels on their side), resuming finished strategies, and
partial credit when one loss is broken."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from dlgrade.kit.runner import StepFailed
from dlgrade.questions.hw14_q2 import QUESTION, data, evaluate, mining, reference, spec, train

tf = pytest.importorskip("tensorflow")

TINY = spec.Config(train_samples=200, test_samples=100, train_triplets=128, test_triplets=64, epochs=2, tsne_points=32)


def tiny_question():
    """The question with a tiny config in every profile (a run takes seconds)."""
    return dataclasses.replace(QUESTION, configs={p: TINY for p in QUESTION.configs})


def run(question, out, fns=None, **kw):
    from dlgrade.progress import Progress
    from dlgrade.runstore import run_question

    return run_question(question, "smoke", 0, out, progress=Progress("t", quiet=True), fns=fns, **kw)


def _batch(seed, n=12, classes=3, dim=4, scale=1.0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    emb = rng.normal(size=(n, dim)).astype(np.float32) * scale
    return labels, emb


# ---------------------------------------------------------------- triplets

def test_make_triplets_respects_labels_and_seed():
    labels = np.repeat(np.arange(4), 5)
    t = data.make_triplets(labels, 500, seed=3)
    assert t.shape == (500, 3)
    assert np.all(labels[t[:, 0]] == labels[t[:, 1]])
    assert np.all(t[:, 0] != t[:, 1])
    assert np.all(labels[t[:, 0]] != labels[t[:, 2]])
    assert np.array_equal(t, data.make_triplets(labels, 500, seed=3))
    assert not np.array_equal(t, data.make_triplets(labels, 500, seed=4))


@pytest.mark.parametrize("labels", [np.zeros(10, int), np.arange(5)])
def test_make_triplets_refuses_impossible_label_sets(labels):
    with pytest.raises(ValueError, match="classes"):
        data.make_triplets(labels, 10, seed=0)


def test_make_triplets_refuses_zero():
    with pytest.raises(ValueError, match="at least one"):
        data.make_triplets(np.repeat(np.arange(2), 3), 0, seed=0)


# ---------------------------------------------------------------- losses

def test_triplet_loss_matches_numpy_and_hinge():
    rng = np.random.default_rng(0)
    a, p, n = (rng.normal(size=(64, 10)).astype(np.float32) for _ in range(3))
    got = reference.triplet_loss(tf.constant(a), tf.constant(p), tf.constant(n), 0.4).numpy()
    np.testing.assert_allclose(got, evaluate.triplet_loss_numpy(a, p, n, 0.4), rtol=1e-5, atol=1e-5)
    # an easy triplet has zero loss, a hard one d(a,p) - d(a,n) + margin
    a1 = np.zeros((2, 2), np.float32)
    p1 = np.array([[0.1, 0], [2, 0]], np.float32)
    n1 = np.array([[3, 0], [1, 0]], np.float32)
    np.testing.assert_allclose(reference.triplet_loss(a1, p1, n1, 0.4).numpy(), [0.0, 4 - 1 + 0.4], rtol=1e-6)


def test_pairwise_distances_match_brute_force():
    _, emb = _batch(1, n=9, dim=5)
    d = mining.pairwise_sq_distances(emb).numpy()
    brute = ((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(d, brute, rtol=1e-4, atol=1e-4)
    assert np.all(np.diag(d) == 0) and np.all(d >= 0)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("scale", [0.05, 1.0])
def test_batch_hard_matches_numpy(seed, scale):
    labels, emb = _batch(seed, n=14, classes=4, scale=scale)
    loss = float(reference.batch_hard_triplet_loss(tf.constant(labels), tf.constant(emb), 0.4))
    active = float(mining.active_share(*mining.batch_hard_losses(tf.constant(labels), tf.constant(emb), 0.4)))
    ref_loss, ref_active = mining.batch_hard_numpy(labels, emb, 0.4)
    assert loss == pytest.approx(ref_loss, rel=1e-4, abs=1e-5)
    assert active == pytest.approx(ref_active, abs=1e-6)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("scale", [0.2, 1.0])
def test_batch_semi_hard_matches_numpy(seed, scale):
    labels, emb = _batch(seed + 100, n=13, classes=3, scale=scale)
    loss = float(reference.batch_semi_hard_triplet_loss(tf.constant(labels), tf.constant(emb), 0.4))
    active = float(mining.active_share(*mining.batch_semi_hard_losses(tf.constant(labels), tf.constant(emb), 0.4)))
    ref_loss, ref_active = mining.batch_semi_hard_numpy(labels, emb, 0.4)
    assert loss == pytest.approx(ref_loss, rel=1e-4, abs=1e-5)
    assert active == pytest.approx(ref_active, abs=1e-6)


def test_semi_hard_picks_nearest_farther_negative():
    # anchor 0 and positive 1 at distance 1; negatives at squared distances 0.25 (hard), 1.21 and 4
    emb = np.array([[0.0], [1.0], [0.5], [1.1], [2.0]], np.float32)
    labels = np.array([0, 0, 1, 1, 1])
    losses, valid = mining.batch_semi_hard_losses(tf.constant(labels), tf.constant(emb), 0.4)
    assert bool(valid.numpy()[0, 1])
    assert losses.numpy()[0, 1] == pytest.approx(1.0 - 1.21 + 0.4, abs=1e-5)
    hard_losses, _ = mining.batch_hard_losses(tf.constant(labels), tf.constant(emb), 0.4)
    assert hard_losses.numpy()[0] == pytest.approx(1.0 - 0.25 + 0.4, abs=1e-5)


@pytest.mark.parametrize("fn", [reference.batch_hard_triplet_loss, reference.batch_semi_hard_triplet_loss])
def test_one_class_batch_gives_zero_loss_and_zero_gradient_not_nan(fn):
    labels = tf.constant(np.full(8, 3))
    emb = tf.Variable(np.random.default_rng(0).normal(size=(8, 10)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = fn(labels, emb, 0.4)
    grad = tape.gradient(loss, emb)
    assert float(loss) == 0.0
    assert grad is None or np.all(np.isfinite(grad.numpy())) and np.allclose(grad.numpy(), 0.0)
    assert mining.batch_hard_numpy(labels.numpy(), emb.numpy()) == (0.0, 0.0)
    assert mining.batch_semi_hard_numpy(labels.numpy(), emb.numpy()) == (0.0, 0.0)


@pytest.mark.parametrize("fn", [reference.batch_hard_triplet_loss, reference.batch_semi_hard_triplet_loss])
def test_collapsed_embeddings_give_margin_and_finite_gradient(fn):
    """All embeddings equal (a collapsed net): loss is exactly the margin and the gradient stays finite."""
    labels = tf.constant(np.array([0, 0, 1, 1, 2, 2]))
    emb = tf.Variable(np.ones((6, 10), np.float32))
    with tf.GradientTape() as tape:
        loss = fn(labels, emb, 0.4)
    assert float(loss) == pytest.approx(0.4, abs=1e-6)
    assert np.all(np.isfinite(tape.gradient(loss, emb).numpy()))


def test_singleton_classes_are_skipped_by_batch_hard():
    labels = np.array([0, 0, 1, 2])   # classes 1 and 2 have no positive
    emb = np.array([[0.0], [1.0], [0.2], [5.0]], np.float32)
    losses, valid = mining.batch_hard_losses(tf.constant(labels), tf.constant(emb), 0.4)
    assert valid.numpy().tolist() == [True, True, False, False]
    assert float(reference.batch_hard_triplet_loss(labels, emb, 0.4)) == pytest.approx(mining.batch_hard_numpy(labels, emb)[0], abs=1e-6)


# ---------------------------------------------------------------- measurements

def test_knn_and_recall_on_separable_clusters():
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 10
    y_tr, y_te = np.repeat(np.arange(3), 20), np.repeat(np.arange(3), 10)
    e_tr, e_te = centres[y_tr] + rng.normal(size=(60, 3)), centres[y_te] + rng.normal(size=(30, 3))
    assert evaluate.knn_accuracy(e_tr, y_tr, e_te, y_te, 1) == 1.0
    assert evaluate.knn_accuracy(e_tr, y_tr, e_te, y_te, 5) == 1.0
    assert evaluate.recall_at_1(e_te, y_te) == 1.0
    # shuffled labels fall to about chance
    assert evaluate.recall_at_1(e_te, rng.permutation(y_te)) < 0.7


def test_recall_at_1_excludes_the_query_itself():
    emb = np.array([[0.0], [0.1], [5.0], [5.1]])
    assert evaluate.recall_at_1(emb, np.array([0, 1, 0, 1])) == 0.0
    assert evaluate.recall_at_1(emb, np.array([0, 0, 1, 1])) == 1.0


def test_knn_rejects_bad_k():
    with pytest.raises(ValueError, match="k must be"):
        evaluate.knn_accuracy(np.zeros((3, 2)), [0, 1, 0], np.zeros((1, 2)), [0], 5)


def test_random_triplet_stats():
    emb = np.array([[0.0], [0.1], [5.0], [0.0]])
    loss, active = evaluate.random_triplet_stats(emb, np.array([[0, 1, 2], [0, 1, 3]]))
    assert active == 0.5
    assert loss == pytest.approx((0 + (0.01 - 0 + 0.4)) / 2)


def test_embedding_net_is_the_reference_architecture():
    net = reference.build_embedding_net()
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Conv2D", "Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense", "Dropout", "Dense"]
    assert net.output_shape == (None, 10)
    assert net.count_params() == 320 + 9248 + 4608 * 128 + 128 + 1290


def test_mean_sq_distance_matches_pairs_and_detects_collapse():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(7, 3))
    pairs = [((emb[i] - emb[j]) ** 2).sum() for i in range(7) for j in range(7) if i != j]
    assert evaluate.mean_sq_distance(emb) == pytest.approx(np.mean(pairs))
    assert evaluate.mean_sq_distance(np.ones((5, 10))) == 0.0


def test_recorded_batches_give_the_active_share_keras_measured_in_the_graph():
    """The trusted side's mined active share, from the last epoch's recorded batches, equals the in-graph Keras metric
    the old code logged (same batches, same float32 running mean)."""
    import keras

    _, LastEpochBatches = train._callbacks()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 6)).astype(np.float32), rng.integers(0, 4, size=300).astype(np.int32)
    for strategy in spec.MINING:
        keras.utils.set_random_seed(0)
        net = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.3), keras.layers.Dense(3)])
        per = mining.PER_TRIPLET[strategy]

        def active(y_true, y_pred):
            return mining.active_share(*per(tf.reshape(y_true, [-1]), y_pred, spec.MARGIN))

        recorder = LastEpochBatches(3)
        net.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False, metrics=[active, recorder.metric()],
                    loss=lambda t, p: getattr(reference, f"{strategy}_triplet_loss")(tf.reshape(t, [-1]), p, spec.MARGIN))
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(64)  # 5 batches, the last one smaller
        logs = net.fit(ds, epochs=3, verbose=0, callbacks=[recorder]).history
        out = recorder.outputs()
        assert out["batch_sizes"].tolist() == [64, 64, 64, 64, 44]
        assert mining.epoch_active_share(strategy, out["labels"], out["embeddings"], out["batch_sizes"]) == logs["active"][-1]


# ---------------------------------------------------------------- the question: trust boundary, resuming, partial credit

def test_train_module_holds_no_mining_code_and_imports_nothing_trusted():
    tree = ast.parse(Path(train.__file__).read_text())
    relative = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level}
    ours = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level and n.module.startswith("dlgrade")}
    assert relative <= {"spec"} and ours <= {"dlgrade.kit.keras_fit"}, (relative, ours)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert not names & {"batch_hard_losses", "batch_semi_hard_losses", "pairwise_sq_distances", "active_share", "argsort", "searchsorted"}


def test_test_labels_and_test_triplets_never_reach_a_training_step():
    assert QUESTION.problems() == []
    assert set(QUESTION.step("data").held_out) == {"y_test", "test_triplets"}
    for s in QUESTION.steps:
        if s.sandboxed:
            assert not {"data.y_test", "data.test_triplets"} & set(s.inputs), s.name
    from dlgrade.rubric import load_rubric

    steps = {s.name for s in QUESTION.steps}
    assert all(c.step in steps for c in load_rubric(QUESTION.rubric_path).checks)


def _outputs(epochs=2, n_tr=5, n_te=4, mining_=True):
    out = {"history": {"loss": [0.4, 0.3]}, "seconds": 1.0, "train_embeddings": np.zeros((epochs, n_tr, 10), np.float32),
           "test_embeddings": np.zeros((epochs, n_te, 10), np.float32)}
    if mining_:
        out["last_epoch"] = {"labels": np.arange(6) % 3, "embeddings": np.zeros((6, 10), np.float32), "batch_sizes": np.array([4, 2])}
    else:
        out["history"]["active"] = [1.0, 0.9]
    return out


@pytest.mark.parametrize("spoil, verdict", [
    (lambda o: o["train_embeddings"].__setitem__((0, 0, 0), np.nan), "nan"),
    (lambda o: o.__setitem__("test_embeddings", np.zeros((2, 3, 10))), "shape"),
    (lambda o: o["history"].__setitem__("loss", "low"), "wrong_type"),
    (lambda o: o["last_epoch"].__setitem__("batch_sizes", np.array([4, 4])), "shape"),
    (lambda o: o.pop("last_epoch"), "missing"),
    (lambda o: o["history"].pop("loss"), "missing"),
])
def test_malformed_step_outputs_fail_that_step(spoil, verdict):
    out = _outputs()
    evaluate.strategy_outputs(out, "batch_hard", 2, 5, 4, mining=True)  # the unspoilt outputs pass
    spoil(out)
    with pytest.raises(StepFailed) as e:
        evaluate.strategy_outputs(out, "batch_hard", 2, 5, 4, mining=True)
    assert e.value.step == "batch_hard" and e.value.verdict == verdict


def test_an_interrupted_run_keeps_the_strategies_it_finished(tmp_path, monkeypatch):
    real, calls, trained = train._train, [], {}

    def ends_before_semi_hard_once(env, strategy, *args):
        if strategy == "batch_semi_hard" and "stopped" not in calls:
            calls.append("stopped")
            raise RuntimeError("the session ended")
        calls.append(strategy)
        trained[strategy] = real(env, strategy, *args)
        return trained[strategy]

    monkeypatch.setattr(train, "_train", ends_before_semi_hard_once)
    q = tiny_question()
    with pytest.raises(RuntimeError, match="session ended"):
        run(q, tmp_path)
    outcome = run(q, tmp_path)
    assert calls == ["random", "batch_hard", "stopped", "batch_semi_hard"]  # the second run trained only what was left
    r, (y_train, y_test) = outcome.result, subset_labels(q)
    for s in ("random", "batch_hard"):  # measured from the kept outputs of the first run
        assert r.facts["history"][s]["loss"] == trained[s]["history"]["loss"]
        assert r.metrics[f"{s}.seconds"] == trained[s]["seconds"]
        assert r.metrics[f"{s}.test.knn1_accuracy"] == evaluate.knn_accuracy(
            trained[s]["train_embeddings"][-1], y_train, trained[s]["test_embeddings"][-1], y_test, 1)
    assert len(list((outcome.run_dir / "steps").glob("*/*/finished.npz"))) == 3


def subset_labels(q):
    """The labels of the run's MNIST subsets (what the trusted data step holds)."""
    from dlgrade.data import DataResolver
    from dlgrade.kit.seeds import Seeds

    cfg = q.config("smoke")
    d = data.mnist_subsets(DataResolver().load("mnist"), cfg.train_samples, cfg.test_samples, Seeds(0, spec.SEED_OFFSETS).rng("subset"))
    return d["y_train"], d["y_test"]


def test_kept_outputs_are_not_reused_for_other_inputs(tmp_path):
    from dlgrade.kit.env import Env
    from dlgrade.kit.seeds import Seeds

    env = Env(fns=reference, config=TINY, seeds=Seeds(0, spec.SEED_OFFSETS), progress=None, work_dir=tmp_path)
    tri = np.array([[0, 1, 2]])
    assert train._key(env, "random", [tri]) == train._key(env, "random", [tri.copy()])
    assert train._key(env, "random", [tri]) != train._key(env, "random", [tri[:, ::-1]])
    assert train._key(env, "random", [tri]) != train._key(env, "batch_hard", [tri])


def test_a_broken_batch_hard_loss_costs_only_its_checks(tmp_path):
    from dlgrade.rubric import grade_result, load_rubric

    fns = SimpleNamespace(build_embedding_net=reference.build_embedding_net, triplet_loss=reference.triplet_loss,
                          batch_semi_hard_triplet_loss=reference.batch_semi_hard_triplet_loss,
                          batch_hard_triplet_loss=lambda labels, emb, margin=0.4: tf.reduce_mean(emb) * np.nan)
    out = run(tiny_question(), tmp_path, fns=fns, overrides_digest="nan-batch-hard", keep_going=True)
    status = out.steps.status
    assert status["evaluate_batch_hard"] == "failed" and out.steps.failures["evaluate_batch_hard"].verdict == "nan"
    assert {k for k, v in status.items() if v == "skipped"} == {"gain_batch_hard", "compare", "figures"}
    assert status["evaluate_random"] == status["evaluate_batch_semi_hard"] == status["gain_batch_semi_hard"] == "done"
    rubric = load_rubric(QUESTION.rubric_path)
    checks = {c.id: c for c in grade_result(out.result, rubric, "smoke").checks}
    assert not checks["hard_knn1_accuracy"].passed
    assert checks["semi_hard_vs_random"].value is not None and checks["random_knn1_accuracy"].value is not None


# ---------------------------------------------------------------- the smoke run

@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return run(QUESTION, tmp_path_factory.mktemp("q2"), force=True)


def test_smoke_run_fills_tables_with_codes_and_names_metrics_by_split(smoke):
    from dlgrade.results import metric_name_problem
    from dlgrade.rubric import grade_result, load_rubric

    r = smoke.result
    assert [k for k in r.metrics if metric_name_problem(k)] == []
    assert [row[0] for row in r.tables["comparison"]["rows"]] == list(spec.STRATEGIES)
    assert set(r.tables["comparison"]["columns"]) <= set(spec.WORDS["column"])
    assert len(r.tables["random_epochs"]["rows"]) == spec.CONFIGS["smoke"].epochs
    assert r.metrics["compare.best_strategy"] in spec.STRATEGIES and set(r.figures) == {"curves", "tsne"}
    assert r.metrics["random.test.knn1_accuracy"] == r.facts["history"]["random"]["test_knn1_accuracy"][-1]
    assert all(c.passed for c in grade_result(r, load_rubric(QUESTION.rubric_path)).checks)
