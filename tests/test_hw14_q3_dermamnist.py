"""hw14.q3: DermaMNIST loading (local file, download over 127.0.0.1, corrupt file), the stand-in,
the ResNet-14, class weights, balanced resampling, the per-split evaluation and the data-aware grading."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from dlgrade.data import DATASETS, DataResolver, Dataset, Digest, Form
from dlgrade.data.registry import DERMAMNIST_MD5
from dlgrade.errors import DatasetError
from dlgrade.grader.grade import evaluate_check
from dlgrade.grader.properties import data_source_verified, range_by_data
from dlgrade.grader.rubric import load_rubric
from dlgrade.progress import Progress
from dlgrade.results import TaskResult
from dlgrade.tasks import hw14_q3_dermamnist as q3

from helpers import serve

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
    assert ds.classes == q3.CLASSES and ds.shapes["x_train"] == (7007, 28, 28, 3) and ds.shapes["y_test"] == (2005,)
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


def test_missing_dermamnist_falls_back_to_a_labelled_standin(tmp_path):
    logs = []
    progress = Progress("t", quiet=True)
    progress.log = logs.append
    ctx = type("C", (), {"config": {"fraction": 0.01}, "data": _FakeData(_fake_cifar(per_class=120)), "progress": progress})()
    arrays, info = q3.load_data(ctx)
    assert info["standin"] and info["source"] == "standin" and "not found" in info["missing_reason"]
    assert sum("STAND-IN" in line for line in logs) == 1
    counts = q3.split_counts(0.01)
    for s in q3.SPLITS:
        assert arrays[f"x_{s}"].shape[1:] == (28, 28, 3)
        np.testing.assert_array_equal(np.bincount(arrays[f"y_{s}"], minlength=7), counts[s])


# -- stand-in --------------------------------------------------------------------------------------
def test_allocate_keeps_total_proportions_and_minimum():
    c = q3.allocate(7007, q3.TRAIN_COUNTS)
    assert c.tolist() == list(q3.TRAIN_COUNTS)
    small = q3.allocate(100, q3.TRAIN_COUNTS)
    assert small.sum() == 100 and small.min() >= 1 and small.argmax() == 5
    with pytest.raises(ValueError):
        q3.allocate(5, q3.TRAIN_COUNTS)
    with pytest.raises(ValueError):
        q3.allocate(10, [0, 0])


def test_split_counts_follow_dermamnist_proportions():
    full = q3.split_counts(1.0)
    assert [int(full[s].sum()) for s in q3.SPLITS] == [7007, 1003, 2005]
    assert full["train"].tolist() == [228, 359, 769, 80, 779, 4693, 99]
    share = full["test"] / full["test"].sum()
    np.testing.assert_allclose(share, np.array(q3.TRAIN_COUNTS) / 7007, atol=1e-3)
    with pytest.raises(ValueError):
        q3.split_counts(0)


def test_full_standin_counts_fit_cifar_without_touching_train():
    counts, factor = q3.fit_standin_counts(q3.split_counts(1.0))
    assert counts["train"].tolist() == list(q3.TRAIN_COUNTS)
    assert 0.6 < factor < 0.7  # nv needs 4693 train + 2012 val/test > 6000 CIFAR-10 images
    assert ((counts["train"] + counts["val"] + counts["test"]) <= 6000).all()
    same, one = q3.fit_standin_counts(q3.split_counts(0.2))
    assert one == 1.0 and same["val"].sum() == round(1003 * 0.2)


def test_standin_is_deterministic_disjoint_and_resized():
    cifar = _fake_cifar(per_class=30)
    counts = {"train": np.array([3, 3, 4, 1, 4, 12, 2]), "val": np.array([1] * 7), "test": np.array([2] * 7)}
    a, b = q3.build_standin(cifar, counts), q3.build_standin(cifar, counts)
    for s in q3.SPLITS:
        np.testing.assert_array_equal(a[f"x_{s}"], b[f"x_{s}"])
        assert a[f"x_{s}"].shape == (counts[s].sum(), 28, 28, 3) and a[f"x_{s}"].dtype == np.uint8
        np.testing.assert_array_equal(np.bincount(a[f"y_{s}"], minlength=7), counts[s])
        # every image comes from the CIFAR-10 class mapped to its label (red channel = 20 * CIFAR class)
        src = np.array([q3.CIFAR10_CLASSES.index(q3.STANDIN_SOURCE[k]) for k in a[f"y_{s}"]])
        np.testing.assert_allclose(a[f"x_{s}"][:, 5:20, 5:20, 0].mean(axis=(1, 2)), src * 20, atol=1)
    flat = {s: {im.tobytes() for im in a[f"x_{s}"][:, :, :, 1:]} for s in q3.SPLITS}
    assert not (flat["train"] & flat["test"]) and not (flat["val"] & flat["test"])
    with pytest.raises(ValueError, match="needs"):
        q3.build_standin(cifar, {"train": np.array([99] * 7), "val": counts["val"], "test": counts["test"]})


# -- model and student functions --------------------------------------------------------------------
def test_resnet14_has_the_example_structure():
    import keras

    model = q3.build_resnet14((28, 28, 3), 7)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert sum(c.kernel_size == (3, 3) for c in convs) == 13  # 1 + 3 stages x 2 blocks x 2
    assert sum(c.kernel_size == (1, 1) for c in convs) == 2   # projection shortcuts of stages 2 and 3
    assert [c.filters for c in convs if c.kernel_size == (3, 3)] == [16] * 5 + [32] * 4 + [64] * 4
    assert sum(isinstance(layer, keras.layers.Add) for layer in model.layers) == 6
    assert model.output_shape == (None, 7)
    assert model.predict(np.zeros((2, 28, 28, 3), np.float32), verbose=0).sum(axis=1) == pytest.approx([1, 1], abs=1e-5)


def test_class_weights_are_sklearn_balanced_and_refuse_bad_labels():
    from sklearn.utils.class_weight import compute_class_weight

    y = np.repeat(np.arange(7), q3.TRAIN_COUNTS)
    w = q3.class_weights(y, 7)
    np.testing.assert_allclose(w, compute_class_weight("balanced", classes=np.arange(7), y=y))
    assert w[3] > w[5] and np.isclose((w[y]).sum(), len(y))
    assert q3.class_weights([0, 0, 1], 3)[2] == 0.0
    for bad in ([], [0, 7], [-1, 2], [0.5, 1.0]):
        with pytest.raises(ValueError):
            q3.class_weights(np.asarray(bad), 7)


def test_balanced_indices_draw_classes_evenly():
    y = np.repeat(np.arange(7), q3.TRAIN_COUNTS)
    idx = q3.balanced_indices(y, 70000, np.random.default_rng(0))
    share = np.bincount(y[idx], minlength=7) / len(idx)
    np.testing.assert_allclose(share, 1 / 7, atol=0.01)
    assert len(np.unique(idx[y[idx] == 3])) == 80  # every df image is used


# -- evaluation -----------------------------------------------------------------------------------
def test_evaluate_matches_sklearn_and_finds_never_predicted_class():
    from sklearn import metrics as skm

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(7), [10, 10, 10, 5, 10, 50, 5])
    proba = rng.random((len(y), 7))
    proba[np.arange(len(y)), y] += rng.random(len(y)) * 1.5
    proba[:, 3] = 0.0  # df never predicted
    proba /= proba.sum(axis=1, keepdims=True)
    ev = q3.evaluate(y, proba, majority_class=5)
    pred = proba.argmax(axis=1)
    assert ev["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert ev["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert ev["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert ev["weighted_f1"] == pytest.approx(skm.f1_score(y, pred, average="weighted"))
    assert ev["auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    assert ev["ap"][0] == pytest.approx(skm.average_precision_score(y == 0, proba[:, 0]))
    assert ev["never_predicted"] == ["df"] and ev["recall"][3] == 0
    assert ev["majority_accuracy"] == pytest.approx(50 / 100)
    assert ev["confusion"].sum() == len(y)
    with pytest.raises(ValueError, match="shape"):
        q3.evaluate(y, proba[:, :6])


def test_evaluate_tolerates_a_class_absent_from_a_small_split():
    y = np.array([0, 1, 1, 5, 5, 5])
    proba = np.eye(7)[[0, 1, 5, 5, 5, 5]] * 0.9 + 0.1 / 7
    ev = q3.evaluate(y, proba)
    assert np.isnan(ev["ap"][3]) and np.isfinite(ev["auc"])
    assert ev["balanced_accuracy"] == pytest.approx((1 + 0.5 + 1) / 3)


# -- data-aware grading ---------------------------------------------------------------------------
RANGES = {"standin": {"smoke": [0.0, 1.0], "quick": [0.5, 0.9]}, "dermamnist": {"quick": [0.7, 0.9]}}


def _result(source, profile="quick", data=None, **metrics):
    return TaskResult(task="hw14.q3", metrics={"data.source": source, **metrics},
                      provenance={"profile": profile, "data": data or {}})


def test_range_by_data_uses_the_ranges_of_the_data_used():
    assert range_by_data(_result("standin", acc=0.6), "acc", RANGES)[0]
    assert not range_by_data(_result("dermamnist", acc=0.6), "acc", RANGES)[0]
    assert not range_by_data(_result("dermamnist", "smoke", acc=0.8), "acc", RANGES)[0]  # no range: fail
    assert not range_by_data(_result("other", acc=0.6), "acc", RANGES)[0]
    assert not range_by_data(_result("standin"), "acc", RANGES)[0]


def test_verdict_table_shows_the_range_a_data_aware_check_applied():
    rubric = load_rubric("hw14.q3")
    check = next(c for c in rubric.checks if c.prop == "range_by_data")
    low, high = check.args["ranges"]["standin"]["quick"]
    row = evaluate_check(check, _result("standin", **{check.args["metric"]: (low + high) / 2}), "quick")
    assert row.passed and row.expected == f"[{low:g}, {high:g}]"
    assert evaluate_check(check, _result("elsewhere"), "quick").expected == "range_by_data"  # no range applies


def test_standin_cannot_pass_as_dermamnist():
    args = {"dataset": "dermamnist", "file": "dermamnist.npz", "standin_from": "cifar10"}
    verified = {"dermamnist": {"files": {"dermamnist.npz": {"verified": "md5 (MedMNIST v2 record on Zenodo)"}}}}
    assert data_source_verified(_result("dermamnist", data=verified), **args)[0]
    assert not data_source_verified(_result("dermamnist", data={"cifar10": {}}), **args)[0]
    assert data_source_verified(_result("standin", data={"cifar10": {}}), **args)[0]
    assert not data_source_verified(_result("standin", data=verified | {"cifar10": {}}), **args)[0]
    assert not data_source_verified(_result(None), **args)[0]
