"""kit.tuning: the logged tuner, the error a student sees when every trial fails, and hyper-parameters found by
their range whatever the student called them."""

from __future__ import annotations

import numpy as np
import pytest

from dlgrade.kit.tuning import find_choice, find_int, finished_trials, make_tuner, space_configs


def _data(n=64):
    rng = np.random.default_rng(0)
    return rng.random((n, 4)).astype("float32"), rng.integers(0, 2, n)


def _hypermodel(pool_bug: bool):
    calls = []

    def build(hp):
        import keras

        units = hp.Int("width_of_my_layer", 4, 8, step=4)
        lr = hp.Choice("my_lr", [1e-3, 1e-2])
        calls.append(1)
        if pool_bug and len(calls) > 1:  # the tuner's first build (its default values) works, every trial's fails
            keras.layers.AveragePooling2D()  # Keras 2 habit: pool_size is required in Keras 3
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation="relu"),
                                  keras.layers.Dense(2, activation="softmax")])
        model.compile(keras.optimizers.Adam(learning_rate=lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    return build


def _search(tmp_path, build, trials=2):
    lines = []
    tuner = make_tuner("random", build, tmp_path, "t", trials, seed=1, log=lines.append)
    x, y = _data()
    tuner.search(x, y, epochs=1, validation_split=0.25, verbose=0)
    return tuner, lines


def test_a_search_logs_each_trial_and_its_scores(tmp_path):
    tuner, lines = _search(tmp_path, _hypermodel(False))
    trials = finished_trials(tuner)
    assert len(trials) == 2 and all(t.score is not None for t in trials)
    assert [ln.split(":")[0] for ln in lines] == ["trial 1/2", "trial 2/2"] and "width_of_my_layer=" in lines[0]


def test_when_every_trial_fails_the_students_own_error_is_raised(tmp_path):
    tuner, _ = _search(tmp_path, _hypermodel(True))
    with pytest.raises(TypeError, match="pool_size"):
        finished_trials(tuner)


def test_hyper_parameters_are_found_by_range_whatever_their_names():
    import keras_tuner as kt

    hp = kt.HyperParameters()
    hp.Int("dense_layer_units", 16, 512, step=16)
    hp.Choice("learning_rate_choice", [1e-4, 5e-4, 1e-3, 5e-3, 1e-2])
    space = space_configs(hp)
    assert find_int(space, 16, 512, 16) == "dense_layer_units"
    assert find_choice(space, [1e-2, 5e-3, 1e-3, 5e-4, 1e-4]) == "learning_rate_choice"  # any order
    assert find_int(space, 32, 512, 16) is None and find_choice(space, [1e-3, 1e-2]) is None
