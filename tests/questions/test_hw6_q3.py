"""hw6.q3: rotation labels and the rotation probe, the labelled split, the data the trusted side prepares
(held-out labels, shuffled rotations), the joint data set and its masked loss, the per-epoch scoring, the
question's wiring (partial credit when ``rotate_batch`` is broken) and the hidden checks."""

from __future__ import annotations

import dataclasses
import types

import numpy as np
import pytest

from dlgrade.kit.keras_fit import reset
from dlgrade.kit.question import Context
from dlgrade.kit.runner import StepFailed
from dlgrade.kit.seeds import Seeds
from dlgrade.progress import Progress
from dlgrade.questions.hw6_q3 import QUESTION, data, evaluate, train
from dlgrade.questions.hw6_q3.reference import build_trunk, rotate_batch
from dlgrade.questions.hw6_q3.spec import CONFIGS, SEED_OFFSETS
from dlgrade.results import metric_name_problem, missing_figures

from helpers import run_like_sandbox


def _asymmetric(n=1, h=5):
    img = np.zeros((n, h, h, 3), np.float32)
    img[:, 0, 0, 0] = 1.0  # a marked top-left corner ...
    img[:, 0, 1, 1] = 2.0  # ... and a different mark to its right
    img[:, 1, 0, 2] = 3.0  # ... and another below it
    return img


def _fake_cifar(per_class=12, test=40, size=8, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(10, dtype=np.uint8), per_class)
    return {"x_train": rng.integers(0, 256, (len(y), size, size, 3), dtype=np.uint8), "y_train": y.reshape(-1, 1),
            "x_test": rng.integers(0, 256, (test, size, size, 3), dtype=np.uint8),
            "y_test": rng.integers(0, 10, (test, 1), dtype=np.uint8)}


TINY = dataclasses.replace(CONFIGS["smoke"], labelled_per_class=2, unlabelled_samples=30, joint_unlabelled_samples=6,
                           test_samples=24, rotation_test_images=5, epochs_supervised=2, batch_size_supervised=8,
                           batch_size_pretext=16, batch_size_joint=16)


# -- the student's functions (reference) ------------------------------------------------------------
def test_rotation_labels_for_all_four_angles():
    x = _asymmetric(2)
    rotated, labels = rotate_batch(x)
    assert rotated.shape == (8, 5, 5, 3) and labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    corner = {0: (0, 0), 1: (4, 0), 2: (4, 4), 3: (0, 4)}  # quarter turns counter-clockwise
    right_neighbour = {0: (0, 1), 1: (3, 0), 2: (4, 3), 3: (1, 4)}
    for img, k in zip(rotated, labels):
        assert img[corner[k] + (0,)] == 1.0
        assert img[right_neighbour[k] + (1,)] == 2.0
        np.testing.assert_array_equal(img, np.rot90(x[0], k))
    # 90 degrees counter-clockwise: the first row becomes the first column read bottom-up
    np.testing.assert_array_equal(rotated[2][::-1, 0, :], x[0][0, :, :])


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 3)), np.zeros((2, 4, 5, 3))])
def test_rotate_rejects_bad_shapes(bad):
    with pytest.raises(ValueError, match="square images"):
        rotate_batch(bad)


def test_trunk_is_the_homework_network():
    import keras

    trunk = build_trunk()
    convs = [l for l in trunk.layers if isinstance(l, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [32, 32, 64, 64, 128, 128]
    assert sum(isinstance(l, keras.layers.BatchNormalization) for l in trunk.layers) == 6
    assert [l.rate for l in trunk.layers if isinstance(l, keras.layers.Dropout)] == [0.3] * 3
    assert trunk.output.shape[-1] == 64


# -- the rotation probe (trusted check of the student's labels) ------------------------------------
def test_rotation_probe_catches_wrong_labels():
    probe = data.rotation_probe()
    assert evaluate.rotation_labels_ok(*rotate_batch(probe), probe)
    r, k = rotate_batch(probe)
    assert not evaluate.rotation_labels_ok(r, (-k) % 4, probe)  # 90 degrees labelled as 270 (clockwise)
    assert not evaluate.rotation_labels_ok(probe, np.zeros(1), probe)
    assert not evaluate.rotation_labels_ok(np.swapaxes(r, 1, 2), k, probe)  # transposed, not rotated
    assert not evaluate.rotation_labels_ok("images", ["a", "b"], probe)


def test_probe_step_returns_the_students_rotation_and_refuses_a_bad_return():
    env = types.SimpleNamespace(fns=types.SimpleNamespace(rotate_batch=rotate_batch))
    out = train.rotation_probe(env, data.rotation_probe())
    assert out["rotated"].shape == (4, 4, 4, 1) and out["labels"].tolist() == [0, 1, 2, 3]
    env.fns.rotate_batch = lambda images: images
    with pytest.raises(TypeError, match="expected a tuple"):
        train.rotation_probe(env, data.rotation_probe())
    env.fns.rotate_batch = lambda images: (images, np.zeros(3))
    with pytest.raises(ValueError, match="1 images and 3 labels"):
        train.rotation_probe(env, data.rotation_probe())


# -- data (trusted) ---------------------------------------------------------------------------------
def test_labelled_split_is_balanced_seeded_and_disjoint():
    y = np.repeat(np.arange(10), 30)
    lab, rest = data.labelled_split(y, 20, seed=3)
    assert len(lab) == 200 and np.bincount(y[lab]).tolist() == [20] * 10
    assert not set(lab) & set(rest) and len(lab) + len(rest) == len(y)
    np.testing.assert_array_equal(lab, data.labelled_split(y, 20, seed=3)[0])
    assert not np.array_equal(lab, data.labelled_split(y, 20, seed=4)[0])
    with pytest.raises(ValueError, match="fewer than the 31"):
        data.labelled_split(y, 31, seed=0)


def test_prepare_keeps_the_old_draws_holds_rotations_back_and_shuffles_them():
    cifar, seeds = _fake_cifar(), Seeds(0, SEED_OFFSETS)
    out = data.prepare(cifar, TINY, seeds)
    assert out["x_lab"].shape == (20, 8, 8, 3) and np.bincount(out["y_lab"]).tolist() == [2] * 10
    # the unlabelled order is the one the question always drew: default_rng(seed + 1).permutation(rest)
    lab, rest = data.labelled_split(cifar["y_train"].ravel(), 2, 0)
    order = np.random.default_rng(1).permutation(rest)
    np.testing.assert_array_equal(out["x_unlabelled"], cifar["x_train"][order[6:30]] / np.float32(255))
    np.testing.assert_array_equal(out["x_joint_unlabelled"], cifar["x_train"][order[:6]] / np.float32(255))
    assert out["sizes"] == {"unlabelled": 30, "pretext_val": 6, "joint_unlabelled": 6, "rotation_test": 5}
    # rotated images come with the true rotation, in an order that does not give it away
    pool = out["x_test"][:5]
    for img, k in zip(out["x_rot_test"], out["y_rot_test"]):
        assert any(np.array_equal(img, np.rot90(src, k)) for src in pool)
    assert sorted(out["y_rot_test"].tolist()) == [0] * 5 + [1] * 5 + [2] * 5 + [3] * 5
    assert out["y_rot_test"].tolist() != sorted(out["y_rot_test"].tolist())
    assert len(out["x_pretext_val"]) == 24 and out["y_pretext_val"].tolist() != sorted(out["y_pretext_val"].tolist())


def test_no_training_step_receives_a_held_out_label():
    held = {f"data.{k}" for k in QUESTION.step("data").held_out}
    assert held == {"data.y_test", "data.y_pretext_val", "data.y_rot_test"}
    for step in QUESTION.steps:
        if step.sandboxed:
            assert not held & set(step.inputs), step.name
    assert QUESTION.problems() == []


# -- the joint data set and its loss ----------------------------------------------------------------
def test_joint_dataset_masks_each_head():
    rng = np.random.default_rng(0)
    x_lab, y_lab, x_un = rng.random((6, 8, 8, 3)), np.arange(6) % 10, rng.random((5, 8, 8, 3))
    x, y, w = train.joint_dataset(x_lab, y_lab, x_un, label_repeat=2, seed=0, rotate=rotate_batch)
    assert len(x) == 12 + 20
    cls, rot = w["classifier"] > 0, w["rotator"] > 0
    assert cls.sum() == 12 and rot.sum() == 20 and not (cls & rot).any() and (cls | rot).all()
    # non-zero weights make each head's loss the mean over its own samples
    assert np.isclose(w["classifier"].sum(), len(x)) and np.isclose(w["rotator"].sum(), len(x))
    assert np.bincount(y["rotator"][rot].argmax(1)).tolist() == [5, 5, 5, 5]
    with pytest.raises(ValueError):
        train.joint_dataset(x_lab, y_lab, x_un, label_repeat=0, seed=0, rotate=rotate_batch)


def test_joint_dataset_rotates_with_the_function_it_is_given():
    rng = np.random.default_rng(0)
    always_three = lambda images: (np.concatenate([images] * 4), np.full(4 * len(images), 3))  # noqa: E731
    x, y, w = train.joint_dataset(rng.random((2, 4, 4, 3)), np.array([1, 2]), rng.random((3, 4, 4, 3)), 1, 0, always_three)
    assert set(y["rotator"][w["rotator"] > 0].argmax(1).tolist()) == {3}


def _masked_joint_loss(targets: dict, predictions: dict, weights: dict, loss_weights: tuple[float, float]):
    """The multi-task loss Keras should minimise for ``build_joint``: per head, the weighted cross-entropy summed
    over the batch and divided by the batch size, times the head's loss weight, summed over heads."""
    import keras

    total = 0.0
    for head, lw in zip(("classifier", "rotator"), loss_weights):
        p = keras.ops.clip(predictions[head], 1e-7, 1.0 - 1e-7)
        ce = -keras.ops.sum(keras.ops.convert_to_tensor(targets[head]) * keras.ops.log(p), axis=-1)
        w = keras.ops.convert_to_tensor(weights[head])
        total = total + lw * keras.ops.sum(ce * w) / keras.ops.cast(keras.ops.shape(ce)[0], "float32")
    return total


def _grads(model, x, y, w, loss_weights):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        pred = model(x, training=False)
        ours = _masked_joint_loss(y, pred, w, loss_weights)
    grads = tape.gradient(ours, model.trainable_weights)
    keras_loss = model.compute_loss(x=x, y=y, y_pred=pred, sample_weight=train.weighted_targets(w, loss_weights))
    return float(ours), float(keras_loss), [g.numpy() for g in grads]


def test_masked_loss_ignores_the_other_heads_samples():
    import keras

    keras.utils.set_random_seed(0)
    model = train.build_joint(build_trunk((8, 8, 3)))
    rng = np.random.default_rng(1)
    x_lab, y_lab, x_un = rng.random((4, 8, 8, 3)).astype("float32"), np.array([1, 2, 3, 4]), rng.random((3, 8, 8, 3)).astype("float32")
    x, y, w = train.joint_dataset(x_lab, y_lab, x_un, label_repeat=1, seed=0, rotate=rotate_batch)
    lw = (0.8, 0.2)
    loss, keras_loss, grads = _grads(model, x, y, w, lw)
    assert np.isclose(loss, keras_loss, rtol=1e-5)  # the helper is what Keras' fit minimises
    # change only the placeholder targets (samples whose weight for that head is 0)
    y2 = {k: v.copy() for k, v in y.items()}
    y2["classifier"][w["classifier"] == 0] = train.one_hot(rng.integers(1, 10, (w["classifier"] == 0).sum()), 10)
    y2["rotator"][w["rotator"] == 0] = train.one_hot(rng.integers(1, 4, (w["rotator"] == 0).sum()), 4)
    loss2, keras_loss2, grads2 = _grads(model, x, y2, w, lw)
    assert np.isclose(loss, loss2, rtol=1e-6) and np.isclose(keras_loss, keras_loss2, rtol=1e-6)
    for g, g2 in zip(grads, grads2):
        np.testing.assert_allclose(g, g2, rtol=1e-5, atol=1e-8)
    # changing a real target does change the loss (the test can fail)
    y3 = {k: v.copy() for k, v in y.items()}
    first = np.flatnonzero(w["classifier"] > 0)[0]
    y3["classifier"][first] = np.roll(y3["classifier"][first], 1)
    assert not np.isclose(_grads(model, x, y3, w, lw)[0], loss, rtol=1e-6)


def test_reset_restarts_the_joint_model_for_the_next_weighting():
    import keras

    keras.utils.set_random_seed(0)
    model = train.build_joint(build_trunk((8, 8, 3)))
    init = model.get_weights()
    rng = np.random.default_rng(2)
    x, y, w = train.joint_dataset(rng.random((4, 8, 8, 3)), np.arange(4), rng.random((2, 8, 8, 3)), 1, 0, rotate_batch)
    model.fit(x, y, sample_weight=w, epochs=1, verbose=0)
    assert int(model.optimizer.iterations) > 0
    reset(model, init)
    assert int(model.optimizer.iterations) == 0 and float(model.optimizer.learning_rate) > 0
    for a, b in zip(model.get_weights(), init):
        np.testing.assert_array_equal(a, b)


# -- scoring (trusted) ------------------------------------------------------------------------------
def test_epoch_scores_are_exact_and_refuse_malformed_outputs():
    y = np.array([0, 1, 2, 2])
    p = np.eye(3)[[0, 1, 1, 2]] * 0.9 + 0.1 / 3
    acc, loss = evaluate.epoch_scores([p, np.eye(3)[y]], y, "s", "probs", 3, 2)
    assert acc == [0.75, 1.0] and loss[1] < loss[0]
    with pytest.raises(StepFailed, match="one array per epoch"):
        evaluate.epoch_scores([p], y, "s", "probs", 3, 2)
    with pytest.raises(StepFailed) as e:
        evaluate.epoch_scores([p[:, :2]], y, "s", "probs", 3, 1)
    assert e.value.verdict == "shape"
    bad = p.copy()
    bad[0, 0] = np.nan
    with pytest.raises(StepFailed) as e:
        evaluate.epoch_scores([bad], y, "s", "probs", 3, 1)
    assert e.value.verdict == "nan"


def test_cross_entropy_is_what_keras_reports():
    import keras

    rng = np.random.default_rng(0)
    p = rng.random((50, 10)).astype(np.float32)
    p /= p.sum(axis=1, keepdims=True)
    y = rng.integers(0, 10, 50)
    want = float(np.mean(keras.losses.categorical_crossentropy(np.eye(10)[y], p)))
    assert evaluate.cross_entropy(p, y) == pytest.approx(want, rel=1e-5)


# -- the whole question with a tiny trunk -------------------------------------------------------------
def _tiny_trunk(input_shape=(32, 32, 3)):
    import keras

    inp = keras.Input(input_shape)
    return keras.Model(inp, keras.layers.Dense(8, activation="relu")(keras.layers.Flatten()(inp)), name="trunk")


def _run(tmp_path, fns):
    ctx = Context(question=QUESTION, profile="smoke", seed=0, config=TINY, seeds=Seeds(0, SEED_OFFSETS), run_dir=tmp_path,
                  data=types.SimpleNamespace(load=lambda name: _fake_cifar()), progress=Progress("t", quiet=True))
    return ctx, run_like_sandbox(QUESTION, ctx, fns)


def test_a_broken_rotate_batch_costs_only_the_steps_that_use_it(tmp_path):
    def broken(images):
        raise RuntimeError("not written yet")

    ctx, report = _run(tmp_path, types.SimpleNamespace(build_trunk=_tiny_trunk, rotate_batch=broken))
    assert report.status["baseline"] == report.status["evaluate_baseline"] == "done"
    assert {report.status[s] for s in ("rotation_probe", "pretext_transfer", "joint")} == {"failed"}
    assert {report.status[s] for s in ("evaluate_rotation", "evaluate_pretext", "evaluate_transfer", "evaluate_joint",
                                       "summary", "figures")} == {"skipped"}
    assert "not written yet" in report.cause("summary").detail
    m = ctx.result.metrics
    assert 0 <= m["baseline.test.accuracy"] <= 1 and "pretext.val.accuracy" not in m and "rotation.labels_verified" not in m


def test_every_step_runs_with_working_functions_and_names_its_metrics_by_the_rule(tmp_path):
    ctx, report = _run(tmp_path, types.SimpleNamespace(build_trunk=_tiny_trunk, rotate_batch=rotate_batch))
    assert set(report.status.values()) == {"done"}, report.to_dict()
    m = ctx.result.metrics
    assert [k for k in m if metric_name_problem(k)] == []
    assert m["rotation.labels_verified"] is True and m["joint.variants"] == 3 and m["data.test.rotated_samples"] == 20
    assert m["joint.best_weighting"] in ("classifier_heavy", "rotator_heavy", "equal")
    assert set(ctx.result.figures) == {"supervised_curves", "pretext_curves", "joint_curves"}
    assert ctx.result.figures and not missing_figures(ctx.result, tmp_path)  # every language's file
    assert [r[0] for r in ctx.result.tables["summary"]["rows"]] == ["baseline", "pretext", "transfer", "joint_classifier_heavy",
                                                                   "joint_rotator_heavy", "joint_equal"]
    hist = ctx.result.facts["history"]["baseline"]
    assert len(hist["val_accuracy"]) == TINY.epochs_supervised and hist["val_accuracy"][-1] == m["baseline.test.accuracy"]


# -- hidden checks and handout ----------------------------------------------------------------------
