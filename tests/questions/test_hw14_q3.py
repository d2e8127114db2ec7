"""hw14.q3: DermaMNIST loading (local file, download over 127.0.0.1, corrupt file), the stand-in, the ResNet-14,
class weights, balanced resampling, the per-split scoring and curves on the trusted side, the question's wiring
(partial credit when ``class_weights`` is broken), the data-aware grading and the hidden checks."""

from __future__ import annotations

import dataclasses
import hashlib
import types
from pathlib import Path

import numpy as np
import pytest

from dlgrade.data import DATASETS, DataResolver, Dataset, Digest, Form
from dlgrade.data.registry import CIFAR10_CLASSES, DERMAMNIST_MD5
from dlgrade.errors import DatasetError
from dlgrade.results import missing_figures
from dlgrade.kit.question import Context
from dlgrade.kit.runner import StepFailed
from dlgrade.kit.seeds import Seeds
from dlgrade.progress import Progress
from dlgrade.questions.hw14_q3 import QUESTION, data, evaluate, train
from dlgrade.questions.hw14_q3.reference import build_resnet14, class_weights
from dlgrade.questions.hw14_q3.spec import CONFIGS, SEED_OFFSETS, SPLITS, STANDIN_SOURCE, TRAIN_COUNTS
from dlgrade.results import TaskResult, metric_name_problem
from dlgrade.rubric import evaluate_check, load_rubric
from dlgrade.rubric.properties import data_source_verified, range_by_data

from helpers import run_like_sandbox, serve

SIZES = {"train": 21, "val": 14, "test": 14}



def write_medmnist_npz(path: Path, seed: int = 0) -> Path:
    """A small file in MedMNIST's layout: ``{split}_images`` (N, 28, 28, 3) uint8, ``{split}_labels`` (N, 1)."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n in SIZES.items():
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, 28, 28, 3), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % 7).reshape(n, 1).astype(np.uint8)
    np.savez_compressed(path, **arrays)
    return path


def md5(path: Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def tiny_derma(digest: str, url: str | None = None) -> Dataset:
    """DermaMNIST's registry entry with the generated file's digest (and a local URL)."""
    real = DATASETS["dermamnist"]
    form = Form(name="medmnist-npz", reader="medmnist_npz", files=("dermamnist.npz",),
                digests={"dermamnist.npz": (Digest("md5", digest, "test"),)},
                urls={"dermamnist.npz": url} if url else {})
    shapes = {f"x_{s}": (n, 28, 28, 3) for s, n in SIZES.items()} | {f"y_{s}": (n,) for s, n in SIZES.items()}
    return Dataset(name="dermamnist", title=real.title, description=real.description, shapes=shapes,
                   classes=real.classes, forms=(form,), hint=real.hint)


def resolver(registry=None, **kw) -> DataResolver:
    return DataResolver(registry=registry or DATASETS, progress=Progress("data", quiet=True), **kw)


# -- loading ----------------------------------------------------------------------------------------
def test_medmnist_file_in_data_path_loads_with_flat_labels(isolated):
    f = write_medmnist_npz(isolated / "data" / "dermamnist.npz")
    loaded = resolver({"dermamnist": tiny_derma(md5(f))}, allow_download=False).load("dermamnist")
    assert loaded["x_train"].shape == (21, 28, 28, 3) and loaded["x_train"].dtype == np.uint8
    assert loaded["y_val"].shape == (14,) and set(loaded["y_test"].tolist()) == set(range(7))
    assert loaded.provenance["files"]["dermamnist.npz"]["verified"].startswith("md5")


def test_download_over_local_http_lands_in_cache_and_loads(isolated, tmp_path):
    served = tmp_path / "served"
    f = write_medmnist_npz(served / "dermamnist.npz", seed=1)
    with serve(served) as base:
        r = resolver({"dermamnist": tiny_derma(md5(f), base + "dermamnist.npz?download=1")}, allow_download=True)
        loaded = r.load("dermamnist")
    cached = isolated / "cache" / "datasets" / "dermamnist.npz"
    assert cached.is_file() and md5(cached) == md5(f)
    np.testing.assert_array_equal(loaded["x_test"], np.load(f)["test_images"])
    assert "[cache]" in loaded.provenance["where"]


def test_download_with_wrong_digest_is_refused_and_leaves_nothing(isolated, tmp_path):
    served = tmp_path / "served"
    write_medmnist_npz(served / "dermamnist.npz")
    with serve(served) as base:
        r = resolver({"dermamnist": tiny_derma("0" * 32, base + "dermamnist.npz")}, allow_download=True)
        with pytest.raises(DatasetError, match="checksum mismatch"):
            r.load("dermamnist")
    assert not list((isolated / "cache" / "datasets").glob("dermamnist.npz*"))


def test_corrupt_dermamnist_is_refused_naming_its_checksum(isolated):
    bad = write_medmnist_npz(isolated / "data" / "dermamnist.npz")  # right layout, not the official bytes
    with pytest.raises(DatasetError) as err:
        resolver(allow_download=False).load("dermamnist")
    text = str(err.value)
    assert DERMAMNIST_MD5 in text and "checksum mismatch" in text and str(bad) in text
    assert "dlgrade data import dermamnist" in text


def test_import_of_corrupt_dermamnist_is_refused_with_both_checksums(isolated):
    bad = write_medmnist_npz(isolated / "elsewhere" / "dermamnist.npz")
    with pytest.raises(DatasetError) as err:
        resolver(allow_download=False).import_file("dermamnist", bad)
    assert DERMAMNIST_MD5 in str(err.value) and md5(bad) in str(err.value)
    assert not (isolated / "cache" / "datasets" / "dermamnist.npz").exists()


def test_cli_import_refuses_corrupt_file(isolated, capsys):
    from dlgrade.cli import main

    bad = write_medmnist_npz(isolated / "elsewhere" / "dermamnist.npz")
    assert main(["data", "import", "dermamnist", str(bad)]) == 2
    assert DERMAMNIST_MD5 in capsys.readouterr().err


def test_real_registry_entry_matches_medmnist():
    ds = DATASETS["dermamnist"]
    assert ds.classes == data.CLASSES and ds.shapes["x_train"] == (7007, 28, 28, 3) and ds.shapes["y_test"] == (2005,)
    assert ds.forms[0].digests["dermamnist.npz"][0].value == "0744692d530f8e62ec473284d019b0c7"


class _FakeData:
    def __init__(self, cifar):
        self.cifar = cifar

    def load(self, name):
        if name == "dermamnist":
            raise DatasetError("dataset 'dermamnist' (DermaMNIST (MedMNIST v2)) was not found or is corrupt.\nLooked in: ...")
        return type("L", (), {"arrays": self.cifar})()


def _fake_cifar(per_class=40, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(10, dtype=np.uint8), per_class)
    x = rng.integers(0, 256, (len(y), 32, 32, 3), dtype=np.uint8)
    x[..., 0] = y[:, None, None] * 20  # class visible in the red channel: lets the test trace images back
    return {"x_train": x[::2], "y_train": y[::2], "x_test": x[1::2], "y_test": y[1::2]}


def test_missing_dermamnist_falls_back_to_a_labelled_standin():
    logs = []
    arrays, info = data.load(_FakeData(_fake_cifar(per_class=120)), 0.01, logs.append)
    assert info["standin"] and info["source"] == "standin" and "not found" in info["missing_reason"]
    assert sum("STAND-IN" in line for line in logs) == 1
    counts = data.split_counts(0.01)
    for s in SPLITS:
        assert arrays[f"x_{s}"].shape[1:] == (28, 28, 3)
        np.testing.assert_array_equal(np.bincount(arrays[f"y_{s}"], minlength=7), counts[s])


# -- stand-in --------------------------------------------------------------------------------------
def test_allocate_keeps_total_proportions_and_minimum():
    c = data.allocate(7007, TRAIN_COUNTS)
    assert c.tolist() == list(TRAIN_COUNTS)
    small = data.allocate(100, TRAIN_COUNTS)
    assert small.sum() == 100 and small.min() >= 1 and small.argmax() == 5
    with pytest.raises(ValueError):
        data.allocate(5, TRAIN_COUNTS)
    with pytest.raises(ValueError):
        data.allocate(10, [0, 0])


def test_split_counts_follow_dermamnist_proportions():
    full = data.split_counts(1.0)
    assert [int(full[s].sum()) for s in SPLITS] == [7007, 1003, 2005]
    assert full["train"].tolist() == [228, 359, 769, 80, 779, 4693, 99]
    share = full["test"] / full["test"].sum()
    np.testing.assert_allclose(share, np.array(TRAIN_COUNTS) / 7007, atol=1e-3)
    with pytest.raises(ValueError):
        data.split_counts(0)


def test_full_standin_counts_fit_cifar_without_touching_train():
    counts, factor = data.fit_standin_counts(data.split_counts(1.0))
    assert counts["train"].tolist() == list(TRAIN_COUNTS)
    assert 0.6 < factor < 0.7  # nv needs 4693 train + 2012 val/test > 6000 CIFAR-10 images
    assert ((counts["train"] + counts["val"] + counts["test"]) <= 6000).all()
    same, one = data.fit_standin_counts(data.split_counts(0.2))
    assert one == 1.0 and same["val"].sum() == round(1003 * 0.2)


def test_standin_is_deterministic_disjoint_and_resized():
    cifar = _fake_cifar(per_class=30)
    counts = {"train": np.array([3, 3, 4, 1, 4, 12, 2]), "val": np.array([1] * 7), "test": np.array([2] * 7)}
    a, b = data.build_standin(cifar, counts), data.build_standin(cifar, counts)
    for s in SPLITS:
        np.testing.assert_array_equal(a[f"x_{s}"], b[f"x_{s}"])
        assert a[f"x_{s}"].shape == (counts[s].sum(), 28, 28, 3) and a[f"x_{s}"].dtype == np.uint8
        np.testing.assert_array_equal(np.bincount(a[f"y_{s}"], minlength=7), counts[s])
        # every image comes from the CIFAR-10 class mapped to its label (red channel = 20 * CIFAR class)
        src = np.array([CIFAR10_CLASSES.index(STANDIN_SOURCE[k]) for k in a[f"y_{s}"]])
        np.testing.assert_allclose(a[f"x_{s}"][:, 5:20, 5:20, 0].mean(axis=(1, 2)), src * 20, atol=1)
    flat = {s: {im.tobytes() for im in a[f"x_{s}"][:, :, :, 1:]} for s in SPLITS}
    assert not (flat["train"] & flat["test"]) and not (flat["val"] & flat["test"])
    with pytest.raises(ValueError, match="needs"):
        data.build_standin(cifar, {"train": np.array([99] * 7), "val": counts["val"], "test": counts["test"]})


# -- model and student functions --------------------------------------------------------------------
def test_resnet14_has_the_example_structure():
    import keras

    model = build_resnet14((28, 28, 3), 7)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert sum(c.kernel_size == (3, 3) for c in convs) == 13  # 1 + 3 stages x 2 blocks x 2
    assert sum(c.kernel_size == (1, 1) for c in convs) == 2   # projection shortcuts of stages 2 and 3
    assert [c.filters for c in convs if c.kernel_size == (3, 3)] == [16] * 5 + [32] * 4 + [64] * 4
    assert sum(isinstance(layer, keras.layers.Add) for layer in model.layers) == 6
    assert model.output_shape == (None, 7)
    assert model.predict(np.zeros((2, 28, 28, 3), np.float32), verbose=0).sum(axis=1) == pytest.approx([1, 1], abs=1e-5)


def test_class_weights_are_sklearn_balanced_and_refuse_bad_labels():
    from sklearn.utils.class_weight import compute_class_weight

    y = np.repeat(np.arange(7), TRAIN_COUNTS)
    w = class_weights(y, 7)
    np.testing.assert_allclose(w, compute_class_weight("balanced", classes=np.arange(7), y=y))
    assert w[3] > w[5] and np.isclose((w[y]).sum(), len(y))
    assert class_weights([0, 0, 1], 3)[2] == 0.0
    for bad in ([], [0, 7], [-1, 2], [0.5, 1.0]):
        with pytest.raises(ValueError):
            class_weights(np.asarray(bad), 7)


def test_balanced_indices_draw_classes_evenly():
    y = np.repeat(np.arange(7), TRAIN_COUNTS)
    idx = train.balanced_indices(y, 70000, np.random.default_rng(0))
    share = np.bincount(y[idx], minlength=7) / len(idx)
    np.testing.assert_allclose(share, 1 / 7, atol=0.01)
    assert len(np.unique(idx[y[idx] == 3])) == 80  # every df image is used


# -- scoring (trusted) -----------------------------------------------------------------------------
def test_split_scores_match_sklearn_and_find_the_never_predicted_class():
    from sklearn import metrics as skm

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(7), [10, 10, 10, 5, 10, 50, 5])
    proba = rng.random((len(y), 7))
    proba[np.arange(len(y)), y] += rng.random(len(y)) * 1.5
    proba[:, 3] = 0.0  # df never predicted
    proba /= proba.sum(axis=1, keepdims=True)
    ev = evaluate.split_scores(y, proba)
    pred = proba.argmax(axis=1)
    assert ev["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert ev["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert ev["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert ev["weighted_f1"] == pytest.approx(skm.f1_score(y, pred, average="weighted"))
    assert ev["auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    assert ev["ap"][0] == pytest.approx(skm.average_precision_score(y == 0, proba[:, 0]))
    assert ev["never_predicted"] == ["df"] and ev["report"].recall[3] == 0
    assert ev["report"].confusion.sum() == len(y)
    with pytest.raises(ValueError, match="shape"):
        evaluate.split_scores(y, proba[:, :6])


def test_split_scores_tolerate_a_class_absent_from_a_small_split():
    y = np.array([0, 1, 1, 5, 5, 5])
    proba = np.eye(7)[[0, 1, 5, 5, 5, 5]] * 0.9 + 0.1 / 7
    ev = evaluate.split_scores(y, proba)
    assert np.isnan(ev["ap"][3]) and np.isfinite(ev["auc"])
    assert ev["balanced_accuracy"] == pytest.approx((1 + 0.5 + 1) / 3)


def test_scoring_refuses_what_a_training_step_should_not_return():
    labels = {s: np.arange(7) for s in SPLITS}
    good = {"probabilities": {s: np.eye(7) for s in SPLITS}}
    assert len(evaluate.score_runs("baseline", [good], labels, 1)) == 1
    with pytest.raises(StepFailed, match="expected 2 run"):
        evaluate.score_runs("baseline", [good], labels, 2)
    with pytest.raises(StepFailed, match="no probabilities"):
        evaluate.score_runs("baseline", [{"runs": 1}], labels, 1)
    nan = {"probabilities": {**good["probabilities"], "test": np.full((7, 7), np.nan)}}
    with pytest.raises(StepFailed) as e:
        evaluate.score_runs("baseline", [nan], labels, 1)
    assert e.value.verdict == "nan"


def test_means_over_seeds_and_their_spread():
    y = np.repeat(np.arange(7), 2)
    right, nv = np.eye(7)[y], np.eye(7)[np.full(len(y), 5)]
    scores = [{s: evaluate.split_scores(y, p) for s in SPLITS} for p in (right, nv)]
    row = evaluate.over_seeds(scores)
    assert row["accuracy"] == pytest.approx((1 + 1 / 7) / 2) and row["accuracy_std"] == pytest.approx((1 - 1 / 7) / 2)
    assert row["mel_recall"] == 0.5 and row["nv_recall"] == 1.0 and row["never_predicted"] == 3.0
    assert row["class_recall"][5] == 1.0 and row["class_recall"][0] == 0.5


def test_validation_curve_is_the_loss_keras_reports():
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(7, activation="softmax", kernel_regularizer=keras.regularizers.l2(0.1))(inp))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x, y, xv, yv = rng.random((32, 4)), rng.integers(0, 7, 32), rng.random((20, 4)), rng.integers(0, 7, 20)
    h = model.fit(x, y, validation_data=(xv, yv), epochs=1, verbose=0, batch_size=8)
    history = {"accuracy": h.history["accuracy"], "loss": h.history["loss"],
               "regularization_loss": [float(sum(float(v) for v in model.losses))]}
    out = evaluate.curves("baseline", history, [model.predict(xv, verbose=0)], yv, 1)
    assert out["val_loss"][0] == pytest.approx(h.history["val_loss"][0], rel=1e-5)
    assert out["val_accuracy"][0] == pytest.approx(h.history["val_accuracy"][0], abs=1e-6)


# -- data-aware grading ---------------------------------------------------------------------------
RANGES = {"standin": {"smoke": [0.0, 1.0], "quick": [0.5, 0.9]}, "dermamnist": {"quick": [0.7, 0.9]}}


def _result(source, profile="quick", loaded=None, **metrics):
    return TaskResult(task="hw14.q3", metrics={"data.source": source, **metrics},
                      provenance={"profile": profile, "data": loaded or {}})


def test_range_by_data_uses_the_ranges_of_the_data_used():
    assert range_by_data(_result("standin", acc=0.6), "acc", RANGES, "quick")[0]
    assert not range_by_data(_result("dermamnist", acc=0.6), "acc", RANGES, "quick")[0]
    assert not range_by_data(_result("dermamnist", acc=0.8), "acc", RANGES, "smoke")[0]  # no range: fail
    assert not range_by_data(_result("other", acc=0.6), "acc", RANGES, "quick")[0]
    assert not range_by_data(_result("standin"), "acc", RANGES, "quick")[0]
    # graded with the profile asked for, not the one the results claim
    assert not range_by_data(_result("standin", "smoke", acc=0.95), "acc", RANGES, "quick")[0]


def test_verdict_table_shows_the_range_a_data_aware_check_applied():
    rubric = load_rubric(QUESTION.rubric_path)
    check = next(c for c in rubric.checks if c.prop == "range_by_data")
    low, high = check.args["ranges"]["standin"]["quick"]
    row = evaluate_check(check, _result("standin", **{check.args["metric"]: (low + high) / 2}), "quick")
    assert row.passed and row.expected == f"[{low:g}, {high:g}]"
    assert evaluate_check(check, _result("elsewhere"), "quick").expected == "range_by_data"  # no range applies


def test_standin_cannot_pass_as_dermamnist():
    args = {"dataset": "dermamnist", "file": "dermamnist.npz", "standin_from": "cifar10"}
    verified = {"dermamnist": {"files": {"dermamnist.npz": {"verified": "md5 (MedMNIST v2 record on Zenodo)"}}}}
    assert data_source_verified(_result("dermamnist", loaded=verified), **args)[0]
    assert not data_source_verified(_result("dermamnist", loaded={"cifar10": {}}), **args)[0]
    assert data_source_verified(_result("standin", loaded={"cifar10": {}}), **args)[0]
    assert not data_source_verified(_result("standin", loaded=verified | {"cifar10": {}}), **args)[0]
    assert not data_source_verified(_result(None), **args)[0]


def test_the_students_class_weights_are_checked_before_training():
    y = np.repeat(np.arange(7), [3, 3, 3, 1, 3, 10, 1])
    np.testing.assert_allclose(train.checked_class_weights(class_weights, y), class_weights(y, 7))
    with pytest.raises(ValueError, match=r"expected \(7,\)"):
        train.checked_class_weights(lambda labels, n: np.ones(6), y)
    with pytest.raises(ValueError, match="finite weights"):
        train.checked_class_weights(lambda labels, n: np.full(7, np.nan), y)

    def mutating(labels, n):
        labels[:] = 0
        return np.ones(n)

    train.checked_class_weights(mutating, y)
    assert np.bincount(y).tolist() == [3, 3, 3, 1, 3, 10, 1]  # the labels the training uses are untouched


# -- the whole question with a tiny model -----------------------------------------------------------------
TINY = dataclasses.replace(CONFIGS["smoke"], fraction=0.01, epochs=2, batch_size=16)


def _tiny_resnet(input_shape=(28, 28, 3), num_classes=7):
    import keras

    inp = keras.Input(input_shape)
    x = keras.layers.Conv2D(2, 3, strides=4, kernel_regularizer=keras.regularizers.l2(1e-4))(inp)
    return keras.Model(inp, keras.layers.Dense(num_classes, activation="softmax")(keras.layers.Flatten()(x)))


def _run(tmp_path, fns, config=TINY):
    ctx = Context(question=QUESTION, profile="smoke", seed=0, config=config, seeds=Seeds(0, SEED_OFFSETS), run_dir=tmp_path,
                  data=_FakeData(_fake_cifar(per_class=70)), progress=Progress("t", quiet=True))
    return ctx, run_like_sandbox(QUESTION, ctx, fns)


def test_no_training_step_receives_validation_or_test_labels():
    assert set(QUESTION.step("data").held_out) == {"y_val", "y_test"}
    for step in QUESTION.steps:
        if step.sandboxed:
            assert {"data.y_val", "data.y_test"}.isdisjoint(step.inputs), step.name
    assert QUESTION.problems() == []


def test_a_broken_class_weights_costs_only_its_training_and_the_comparison(tmp_path):
    def broken(labels, num_classes):
        return np.ones(num_classes - 1)

    ctx, report = _run(tmp_path, types.SimpleNamespace(build_resnet14=_tiny_resnet, class_weights=broken))
    assert {report.status[s] for s in ("data", "baseline", "evaluate_baseline", "oversampling", "evaluate_oversampling")} == {"done"}
    assert report.status["class_weights"] == "failed" and "expected (7,)" in report.failures["class_weights"].detail
    assert report.status["compare_remedies"] == report.status["figures"] == "skipped"
    m = ctx.result.metrics
    assert m["data.source"] == "standin" and 0 <= m["baseline.test.balanced_accuracy"] <= 1
    assert "remedy.oversampling.test.accuracy" in m and "remedy.class_weights.test.accuracy" not in m
    assert "remedy.test.best_balanced_accuracy" not in m


def test_every_step_runs_with_working_functions_and_names_its_metrics_by_the_rule(tmp_path):
    ctx, report = _run(tmp_path, types.SimpleNamespace(build_resnet14=_tiny_resnet, class_weights=class_weights),
                       dataclasses.replace(TINY, seeds=2))
    assert set(report.status.values()) == {"done"}, report.to_dict()
    r, m = ctx.result, ctx.result.metrics
    assert [k for k in m if metric_name_problem(k)] == []
    counts = data.split_counts(0.01)
    assert m["data.test.samples"] == counts["test"].sum() and m["remedy.seeds"] == 2
    assert m["majority.test.accuracy"] == round(counts["test"][5] / counts["test"].sum(), 4)
    assert m["remedy.best"] in ("class_weights", "oversampling")
    assert np.asarray([row[1:] for row in r.tables["confusion_baseline_test"]["rows"]]).sum() == m["data.test.samples"]
    assert [row[0] for row in r.tables["remedies"]["rows"]] == ["baseline", "class_weights", "oversampling"]
    assert r.facts["class_weights"]["df"] > r.facts["class_weights"]["nv"] and r.facts["model"]["parameters"] > 0
    assert set(r.figures) == {"confusion_baseline", "confusion_best", "pr_curves", "remedies", "learning_curves"}
    assert r.figures and not missing_figures(r, tmp_path)  # every language's file
    assert len(r.facts["history"]["baseline"]["val_loss"]) == TINY.epochs


# -- hidden checks and handout ----------------------------------------------------------------------
