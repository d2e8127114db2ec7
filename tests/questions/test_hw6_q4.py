"""hw6.q4: search space, CNN structure, data split, the trusted evaluation of what the sandboxed steps
return (trials, test probabilities), and the search step resuming from its work folder."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dlgrade.data.registry import CIFAR10_CLASSES
from dlgrade.kit import harness
from dlgrade.kit.runner import StepFailed
from dlgrade.kit.seeds import Seeds
from dlgrade.progress import Progress
from dlgrade.questions.hw6_q4 import QUESTION, evaluate, reference, spec, task
from dlgrade.questions.hw6_q4.data import split_data
from dlgrade.results import TaskResult, metric_name_problem

# The space exactly as GUIDE.md §4 (hw6.q4) states it, written out independently of the module.
GUIDE_INTS = {"conv_blocks": (3, 5, 1), "dense_units": (64, 256, 32),
              **{f"filters_{i}": (32, 128, 32) for i in range(1, 6)}}
GUIDE_CHOICES = {"dropout": [0.3, 0.4, 0.5], "learning_rate": [1e-2, 1e-3, 1e-4],
                 **{f"pooling_{i}": ["max", "avg"] for i in range(1, 6)}}


def _fixed(**values):
    import keras_tuner as kt

    hp = kt.HyperParameters()
    for k, v in values.items():
        hp.Fixed(k, v)
    return hp


def test_search_space_matches_the_guide_exactly():
    import keras_tuner as kt

    hp = kt.HyperParameters()
    reference.build_model(hp)
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
    plain = spec.search_space()
    assert set(plain) == set(space)
    for name, (lo, hi, step) in GUIDE_INTS.items():
        assert (plain[name]["min"], plain[name]["max"], plain[name]["step"]) == (lo, hi, step)
    for name, values in GUIDE_CHOICES.items():
        assert plain[name]["values"] == values


def test_profiles_change_sizes_and_epochs_only():
    full = spec.CONFIGS["full"]
    assert (full.trials, full.epochs_trial, full.epochs_retrain, full.test_samples) == (5, 5, 30, None)
    fields = {f.name for f in dataclasses.fields(spec.Config)}
    assert not fields & {"conv_blocks", "filters", "pooling", "dropout", "dense_units", "learning_rate"}


def _layer_kinds(model):
    return [type(layer).__name__ for layer in model.layers]


def test_build_model_has_the_homework_block_structure():
    model = reference.build_model(_fixed(conv_blocks=3, filters_1=32, filters_2=64, filters_3=96, pooling_1="max",
                                         pooling_2="avg", pooling_3="max", dropout=0.4, dense_units=96, learning_rate=1e-3))
    block = ["Conv2D", "BatchNormalization", "ReLU", "Conv2D", "BatchNormalization", "ReLU"]
    expected = (block + ["MaxPooling2D", "Dropout"] + block + ["AveragePooling2D", "Dropout"]
                + block + ["MaxPooling2D", "Dropout"] + ["GlobalAveragePooling2D", "Dense", "Dense"])
    assert _layer_kinds(model) == expected
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [32, 32, 64, 64, 96, 96]
    assert all(c.kernel_size == (3, 3) and c.padding == "same" for c in convs)
    assert all(layer.momentum == spec.BN_MOMENTUM for layer in model.layers if type(layer).__name__ == "BatchNormalization")
    assert all(layer.rate == 0.4 for layer in model.layers if type(layer).__name__ == "Dropout")
    hidden, head = model.layers[-2], model.layers[-1]
    assert hidden.units == 96 and hidden.activation.__name__ == "relu"
    assert head.units == 10 and head.activation.__name__ == "softmax"
    assert type(model.optimizer).__name__ == "Adam"
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
    assert model.output_shape == (None, 10)


def test_build_model_uses_as_many_blocks_as_conv_blocks():
    for n in (3, 5):
        kinds = _layer_kinds(reference.build_model(_fixed(conv_blocks=n)))
        assert kinds.count("Conv2D") == 2 * n and kinds.count("Dropout") == n


def test_describe_keeps_only_the_blocks_in_use():
    values = {"conv_blocks": 4, "dropout": 0.3, "dense_units": 64, "learning_rate": 1e-3,
              **{f"filters_{i}": f for i, f in enumerate([96, 64, 64, 96, 128], 1)},
              **{f"pooling_{i}": p for i, p in enumerate(["avg", "max", "avg", "avg", "max"], 1)}}
    assert spec.describe(values) == {"conv_blocks": 4, "filters": "96/64/64/96", "pooling": "avg/max/avg/avg",
                                     "dropout": 0.3, "dense_units": 64, "learning_rate": 1e-3}


def test_describe_gives_none_for_names_the_hypermodel_lacks():
    d = spec.describe({"conv_blocks": 3, "filters_1": 32, "units": 64, "lr": 1e-3})
    assert d == {"conv_blocks": 3, "filters": None, "pooling": None, "dropout": None, "dense_units": None,
                 "learning_rate": None}
    assert spec.describe({})["conv_blocks"] is None


def test_class_words_cover_every_cifar_class_in_both_languages():
    assert set(spec.CLASS_WORDS) == set(CIFAR10_CLASSES)
    assert all(w["en"] and w["fa"] for w in spec.CLASS_WORDS.values())


def test_test_report_matches_sklearn():
    from sklearn.metrics import classification_report, f1_score

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 10, 300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 10, 300))
    rep, pred = evaluate.test_report(y_true, np.eye(10)[y_pred] * 0.9 + 0.01)
    assert np.array_equal(pred, y_pred)
    sk = classification_report(y_true, y_pred, labels=list(range(10)), output_dict=True, zero_division=0)
    assert rep.macro("f1") == f1_score(y_true, y_pred, average="macro")
    assert rep.weighted("f1") == sk["weighted avg"]["f1-score"]
    assert rep.macro("precision") == sk["macro avg"]["precision"]
    rows = rep.rows(CIFAR10_CLASSES)
    assert [r[0] for r in rows] == [*CIFAR10_CLASSES, "macro_avg", "weighted_avg"]
    assert rep.confusion.sum() == 300 and np.trace(rep.confusion) == int((y_true == y_pred).sum())


def test_a_class_never_predicted_and_the_top_confusion():
    y_true = np.arange(10).repeat(3)
    y_pred = np.where(y_true == 3, 5, y_true)  # "cat" always predicted as "dog"
    rep, _ = evaluate.test_report(y_true, np.eye(10)[y_pred])
    assert rep.precision[3] == rep.recall[3] == rep.f1[3] == 0
    assert evaluate.ranked_by_f1(rep)[0] == 3
    assert evaluate.top_confusion(rep.confusion) == {"true": "cat", "predicted": "dog", "count": 3, "share": 1.0}
    assert evaluate.confusion_rows(rep.confusion)[3] == ["cat", 0, 0, 0, 0, 0, 3, 0, 0, 0, 0]


def _fake_cifar(rng, n_train=50, n_test=30):
    return {"x_train": rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8), "y_train": rng.integers(0, 10, (n_train, 1)),
            "x_test": rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8), "y_test": rng.integers(0, 10, n_test)}


def test_split_data_is_seeded_disjoint_and_sized():
    data = _fake_cifar(np.random.default_rng(1))
    cfg = dataclasses.replace(spec.CONFIGS["smoke"], train_samples=20, val_samples=10, test_samples=12)
    s = split_data(data, cfg, Seeds(3, spec.SEED_OFFSETS))
    assert (len(s["x_train"]), len(s["x_val"]), len(s["x_test"])) == (20, 10, 12) and s["y_train"].ndim == 1
    assert s["x_train"].dtype == np.float32 and s["x_train"].max() <= 1.0
    assert not {x.tobytes() for x in s["x_train"]} & {x.tobytes() for x in s["x_val"]}, "validation images must not be training images"
    again = split_data(data, cfg, Seeds(3, spec.SEED_OFFSETS))
    assert np.array_equal(again["x_train"], s["x_train"]) and np.array_equal(again["y_test"], s["y_test"])
    assert not np.array_equal(split_data(data, cfg, Seeds(4, spec.SEED_OFFSETS))["x_train"], s["x_train"])
    full_test = split_data(data, dataclasses.replace(cfg, test_samples=None), Seeds(3, spec.SEED_OFFSETS))
    assert np.array_equal(full_test["y_test"], data["y_test"]), "all test images, in their order"
    with pytest.raises(ValueError, match="exceeds"):
        split_data(data, dataclasses.replace(cfg, train_samples=45), Seeds(3, spec.SEED_OFFSETS))


def test_test_labels_never_reach_a_training_step():
    import yaml

    assert QUESTION.problems() == []
    rubric = yaml.safe_load(QUESTION.rubric_path.read_text())
    assert all(c["step"] in {s.name for s in QUESTION.steps} for c in rubric["checks"])
    assert QUESTION.step("data").held_out == ("y_test",)
    for step in QUESTION.steps:
        if step.sandboxed:
            assert "data.y_test" not in step.inputs and step.uses == ("build_model",)


class _Ctx:
    def __init__(self, profile="smoke"):
        self.result = TaskResult("hw6.q4")
        self.config = spec.CONFIGS[profile]


def _trial(i, score, **values):
    base = {"conv_blocks": 3, "dropout": 0.3, "dense_units": 64, "learning_rate": 1e-3,
            **{f"filters_{k}": 32 for k in range(1, 6)}, **{f"pooling_{k}": "max" for k in range(1, 6)}}
    return {"trial": i + 1, "id": str(i), "values": {**base, **values}, "score": score, "status": "COMPLETED"}


def test_evaluate_search_picks_the_first_best_trial_and_names_metrics_by_the_rule():
    trials = [_trial(0, 0.2), _trial(1, 0.5, conv_blocks=4), _trial(2, 0.5, conv_blocks=5), _trial(3, None)]
    hist = {"accuracy": [0.1, 0.2], "loss": [2.3, 2.2], "val_accuracy": [0.3, 0.5], "val_loss": [2.2, 2.1]}
    ctx = _Ctx()
    out = task.evaluate_search(ctx, {"search": {"trials": trials, "histories": {"1": hist}, "resumed_trials": 0}})
    assert out["best_values"]["conv_blocks"] == 4 and out["best_history"] == hist
    m = ctx.result.metrics
    assert m["tuner.trials"] == 3 and m["tuner.val.best_accuracy"] == 0.5 and m["tuner.val.worst_accuracy"] == 0.2
    assert m["tuner.best_filters"] == "32/32/32/32"
    assert [r[7] for r in ctx.result.tables["trials"]["rows"]] == [None, 2, None, None]
    assert all(metric_name_problem(k) is None for k in m)


@pytest.mark.parametrize("search", [
    {"trials": [], "histories": {}, "resumed_trials": 0},
    {"trials": [{"trial": 1, "values": [], "score": 0.1, "status": "COMPLETED", "id": "0"}], "histories": {}, "resumed_trials": 0},
    {"trials": [_trial(0, float("nan"))], "histories": {}, "resumed_trials": 0},
    {"trials": [_trial(0, None)], "histories": {}, "resumed_trials": 0},
    {"trials": [_trial(0, 0.3)], "histories": [], "resumed_trials": 0},
])
def test_malformed_search_outputs_fail_the_step(search):
    with pytest.raises(StepFailed):
        task.evaluate_search(_Ctx(), {"search": search})


def test_evaluate_test_scores_the_probabilities_against_the_held_out_labels():
    y_test = np.arange(10).repeat(2)
    probs = np.eye(10)[np.where(y_test == 3, 5, y_test)]
    hist = {"accuracy": [0.5, 0.9], "loss": [1.0, 0.5], "val_accuracy": [0.4, 0.6], "val_loss": [1.2, 1.1]}
    ctx = _Ctx()
    got = {"data": {"y_test": y_test}, "retrain": {"test_probs": probs}, "evaluate_retrain": {"history": hist}}
    out = task.evaluate_test(ctx, got)
    m, f = ctx.result.metrics, ctx.result.facts
    assert m["retrain.test.accuracy"] == 0.9 and m["retrain.test.samples"] == 20
    assert m["retrain.test.weakest_class"] == "cat" and f["top_confusion"]["predicted"] == "dog"
    assert f["overfitting"] is True and f["near_chance"] is False and f["classes_predicted"] == 9
    assert out["confusion"].sum() == 20
    with pytest.raises(StepFailed) as e:
        task.evaluate_test(_Ctx(), {**got, "retrain": {"test_probs": probs[:5]}})
    assert e.value.verdict == "shape"


def _run_search(tmp_path, trials: int, x, y) -> dict:
    step = QUESTION.step("search")
    cfg = dataclasses.replace(spec.CONFIGS["smoke"], trials=trials, batch_size=16)
    return harness.run_step(reference, target=step.target, config_class="dlgrade.questions.hw6_q4.spec:Config",
                            config=cfg.to_dict(), seed=0, seed_offsets=spec.SEED_OFFSETS,
                            inputs={"x_train": x[16:], "y_train": y[16:], "x_val": x[:16], "y_val": y[:16]},
                            work_dir=str(tmp_path), progress=Progress(quiet=True))


def test_an_interrupted_search_resumes_from_its_work_folder(tmp_path):
    """A second search on the same folder reloads finished trials instead of retraining them; a larger trial
    budget trains only the missing one."""
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((48, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, 48)
    first = _run_search(tmp_path, 2, x, y)
    assert first["resumed_trials"] == 0 and len(first["trials"]) == 2
    assert all(t["score"] is not None for t in first["trials"]) and set(first["histories"]) == {"0", "1"}
    second = _run_search(tmp_path, 2, x, y)
    assert second["resumed_trials"] == 2 and second["trials"] == first["trials"]
    third = _run_search(tmp_path, 3, x, y)
    assert third["resumed_trials"] == 2 and len(third["trials"]) == 3 and len(third["histories"]) == 3


def test_retrain_goes_through_the_students_hypermodel(tmp_path):
    """The retrain builds the best values with the student's own build_model (their names), and returns test
    probabilities but never sees test labels."""
    import keras

    calls = []

    def build_model(hp):
        calls.append(dict(hp.values))
        model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                                  keras.layers.Dense(hp.Int("units", 8, 16, step=8), activation="relu"),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    rng = np.random.default_rng(0)
    x = rng.random((40, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, 40)
    step = QUESTION.step("retrain")
    cfg = dataclasses.replace(spec.CONFIGS["smoke"], epochs_retrain=1)
    out = harness.run_step(type("Student", (), {"build_model": staticmethod(build_model)}), target=step.target,
                           config_class="dlgrade.questions.hw6_q4.spec:Config", config=cfg.to_dict(), seed=0,
                           seed_offsets=spec.SEED_OFFSETS, work_dir=str(tmp_path), progress=Progress(quiet=True),
                           inputs={"x_train": x[:24], "y_train": y[:24], "x_val": x[24:32], "y_val": y[24:32],
                                   "x_test": x[32:], "best_values": {"units": 16}})
    assert calls == [{"units": 16}]
    assert out["test_probs"].shape == (8, 10) and len(out["history"]["val_accuracy"]) == 1


def test_hidden_checks_pass_the_reference_and_give_partial_credit():
    import keras

    from dlgrade.kit.hidden import CheckFailed, LocalFunctions, collect
    from dlgrade.questions.hw6_q4 import hidden

    checks = {c.id: c for c in collect(hidden)}
    assert checks["model_io"].fn(LocalFunctions(reference), reference) is None
    assert checks["search_space"].fn(LocalFunctions(reference), reference) is None

    def logits_model(hp):  # no softmax head, and a search space of only a learning rate
        lr = hp.Choice("learning_rate", [1e-2, 1e-3, 1e-4])
        model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
        model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy")
        return model

    student = LocalFunctions(type("Student", (), {"build_model": staticmethod(logits_model)}))
    with pytest.raises(CheckFailed, match="softmax"):
        checks["model_io"].fn(student, reference)
    part = checks["search_space"].fn(student, reference)
    assert part.fraction == pytest.approx(1 / 6) and "conv_blocks" in part.detail and "dropout" in part.detail
