"""hw6.q4: search space, CNN structure, per-class report, data split and tuner resume."""

from __future__ import annotations

import numpy as np
import pytest

from dlgrade.data.registry import CIFAR10_CLASSES
from dlgrade.tasks import hw6_q4_cifar_tuner as q4

# The space exactly as GUIDE.md §4 (hw6.q4) states it, written out independently of the module.
GUIDE_INTS = {"conv_blocks": (3, 5, 1), "dense_units": (64, 256, 32),
              **{f"filters_{i}": (32, 128, 32) for i in range(1, 6)}}
GUIDE_CHOICES = {"dropout": [0.3, 0.4, 0.5], "learning_rate": [1e-2, 1e-3, 1e-4],
                 **{f"pooling_{i}": ["max", "avg"] for i in range(1, 6)}}


def test_search_space_matches_the_guide_exactly():
    import keras_tuner as kt

    hp = kt.HyperParameters()
    q4.build_model(hp)
    space = {p.name: p for p in hp.space}
    assert set(space) == set(GUIDE_INTS) | set(GUIDE_CHOICES)
    for name, (lo, hi, step) in GUIDE_INTS.items():
        p = space[name]
        assert isinstance(p, kt.engine.hyperparameters.Int), name
        assert (p.min_value, p.max_value, p.step) == (lo, hi, step), name
    for name, values in GUIDE_CHOICES.items():
        p = space[name]
        assert isinstance(p, kt.engine.hyperparameters.Choice), name
        assert list(p.values) == values, name
    # The plain-data copy the report prints is the same space.
    plain = q4.search_space()
    assert set(plain) == set(space)
    for name, (lo, hi, step) in GUIDE_INTS.items():
        assert (plain[name]["min"], plain[name]["max"], plain[name]["step"]) == (lo, hi, step)
    for name, values in GUIDE_CHOICES.items():
        assert plain[name]["values"] == values


def test_search_space_is_the_same_in_every_profile():
    assert {"trials", "epochs_trial", "epochs_retrain"} <= set(q4.TASK.configs["full"])
    assert q4.TASK.configs["full"]["trials"] == 5 and q4.TASK.configs["full"]["epochs_trial"] == 5
    assert q4.TASK.configs["full"]["epochs_retrain"] == 30 and q4.TASK.configs["full"]["test_samples"] is None
    forbidden = {"conv_blocks", "filters", "pooling", "dropout", "dense_units", "learning_rate"}
    for cfg in q4.TASK.configs.values():
        assert not forbidden & set(cfg), "profiles may change sizes and epochs only"


def _layer_kinds(model):
    return [type(layer).__name__ for layer in model.layers]


def test_build_cnn_has_the_homework_block_structure():
    model = q4.build_cnn([32, 64, 96], ["max", "avg", "max"], 0.4, 96, 1e-3)
    kinds = _layer_kinds(model)
    block = ["Conv2D", "BatchNormalization", "ReLU", "Conv2D", "BatchNormalization", "ReLU"]
    expected = (block + ["MaxPooling2D", "Dropout"] + block + ["AveragePooling2D", "Dropout"]
                + block + ["MaxPooling2D", "Dropout"] + ["GlobalAveragePooling2D", "Dense", "Dense"])
    assert kinds == expected
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [32, 32, 64, 64, 96, 96]
    assert all(c.kernel_size == (3, 3) and c.padding == "same" for c in convs)
    assert all(layer.rate == 0.4 for layer in model.layers if type(layer).__name__ == "Dropout")
    hidden, head = model.layers[-2], model.layers[-1]
    assert hidden.units == 96 and hidden.activation.__name__ == "relu"
    assert head.units == 10 and head.activation.__name__ == "softmax"
    assert type(model.optimizer).__name__ == "Adam"
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
    assert model.output_shape == (None, 10)


def test_build_model_uses_as_many_blocks_as_conv_blocks():
    import keras_tuner as kt

    for n in (3, 5):
        hp = kt.HyperParameters()
        hp.Fixed("conv_blocks", n)
        model = q4.build_model(hp)
        assert _layer_kinds(model).count("Conv2D") == 2 * n
        assert _layer_kinds(model).count("Dropout") == n


def test_build_cnn_rejects_bad_inputs():
    with pytest.raises(ValueError, match="one entry per block"):
        q4.build_cnn([32, 64, 96], ["max", "avg"], 0.3, 64, 1e-3)
    with pytest.raises(ValueError, match="pooling must be one of"):
        q4.build_cnn([32, 64, 96], ["max", "avg", "min"], 0.3, 64, 1e-3)


def test_describe_keeps_only_the_blocks_in_use():
    values = {"conv_blocks": 4, "dropout": 0.3, "dense_units": 64, "learning_rate": 1e-3,
              **{f"filters_{i}": f for i, f in enumerate([96, 64, 64, 96, 128], 1)},
              **{f"pooling_{i}": p for i, p in enumerate(["avg", "max", "avg", "avg", "max"], 1)}}
    d = q4.describe(values)
    assert d == {"conv_blocks": 4, "filters": "96/64/64/96", "pooling": "avg/max/avg/avg", "dropout": 0.3,
                 "dense_units": 64, "learning_rate": 1e-3}


def test_class_report_matches_sklearn_and_names_cifar_classes():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 10, 300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 10, 300))
    rows, rep, cm = q4.class_report(y_true, y_pred)
    assert [r[0] for r in rows[:10]] == list(CIFAR10_CLASSES) and rows[10][0] == "macro avg"
    assert rows[10][3] == pytest.approx(f1_score(y_true, y_pred, average="macro"), abs=1e-4)
    assert cm.shape == (10, 10) and cm.sum() == 300 and np.trace(cm) == int((y_true == y_pred).sum())
    assert sum(r[4] for r in rows[:10]) == 300


def test_class_report_with_a_class_never_predicted():
    y_true = np.arange(10).repeat(3)
    y_pred = np.where(y_true == 3, 5, y_true)  # "cat" always predicted as "dog"
    rows, rep, cm = q4.class_report(y_true, y_pred)
    cat = rows[3]
    assert cat[0] == "cat" and cat[1] == 0 and cat[2] == 0 and cat[3] == 0
    assert cm[3, 5] == 3


def test_split_data_is_seeded_disjoint_and_sized():
    rng = np.random.default_rng(1)
    data = {"x_train": rng.integers(0, 256, (50, 32, 32, 3), dtype=np.uint8), "y_train": rng.integers(0, 10, (50, 1)),
            "x_test": rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8), "y_test": rng.integers(0, 10, 30)}
    cfg = {"train_samples": 20, "val_samples": 10, "test_samples": 12}
    (xt, yt), (xv, yv), (xs, ys) = q4.split_data(data, cfg, seed=3)
    assert (len(xt), len(xv), len(xs)) == (20, 10, 12) and yt.ndim == 1
    assert xt.dtype == np.float32 and xt.max() <= 1.0
    rows = {x.tobytes() for x in xt}
    assert not rows & {x.tobytes() for x in xv}, "validation images must not be training images"
    again = q4.split_data(data, cfg, seed=3)
    assert np.array_equal(again[0][0], xt) and np.array_equal(again[2][1], ys)
    assert not np.array_equal(q4.split_data(data, cfg, seed=4)[0][0], xt)
    (_, _), (_, _), (xs_all, _) = q4.split_data(data, {**cfg, "test_samples": None}, seed=3)
    assert len(xs_all) == 30
    with pytest.raises(ValueError, match="exceeds"):
        q4.split_data(data, {**cfg, "train_samples": 45}, seed=3)


def test_interrupted_search_resumes_from_the_run_folder(tmp_path):
    """A second tuner on the same folder reloads finished trials instead of retraining them."""
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((48, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, 48)
    args = dict(epochs=1, batch_size=16, verbose=0, validation_data=(x[:16], y[:16]))

    first = q4.make_tuner(q4.build_model, tmp_path, "proj", max_trials=2, seed=0, log=lambda s: None)
    first.search(x[16:], y[16:], **args)
    assert len(first.trials_run) == 2
    done = {t.trial_id: t.score for t in first.oracle.trials.values()}
    assert len(done) == 2 and all(s is not None for s in done.values())
    assert set(q4.trial_histories(first)) == set(done)

    logs: list[str] = []
    second = q4.make_tuner(q4.build_model, tmp_path, "proj", max_trials=2, seed=0, log=logs.append)
    assert {t.trial_id: t.score for t in second.oracle.trials.values()} == done
    second.search(x[16:], y[16:], **args)
    assert second.trials_run == [] and logs == [], "finished trials were trained again"

    third = q4.make_tuner(q4.build_model, tmp_path, "proj", max_trials=3, seed=0, log=lambda s: None)
    third.search(x[16:], y[16:], **args)
    assert len(third.trials_run) == 1, "only the missing trial should run"
    assert len(third.oracle.trials) == 3 and len(q4.trial_histories(third)) == 3

    fresh = q4.make_tuner(q4.build_model, tmp_path, "proj", max_trials=2, seed=0, log=lambda s: None, overwrite=True)
    assert len(fresh.oracle.trials) == 0
