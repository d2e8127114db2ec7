"""Data layer: resolution order, checksums, clear errors, downloads over 127.0.0.1, decoded cache."""

from __future__ import annotations

import gzip
import io
import tarfile
import time

import numpy as np
import pytest

from dlgrade.data import DATASETS, DataResolver, Dataset, Digest, Form
from dlgrade.data.fetch import download
from dlgrade.data.formats import FormatError, idx_gz, image_folder_tar
from dlgrade.errors import DatasetError
from dlgrade.progress import Progress

from helpers import serve, sha256, write_idx, write_keras_npz



def tiny_dataset(digest: str, url: str | None = None, shapes=None) -> Dataset:
    form = Form(name="keras-npz", reader="keras_npz", files=("tiny.npz",),
                digests={"tiny.npz": (Digest("sha256", digest, "test"),)},
                urls={"tiny.npz": url} if url else {})
    return Dataset(name="tiny", title="Tiny", description="test data", shapes=shapes or {"x_train": (20, 28, 28)},
                   classes=tuple("0123456789"), forms=(form,), hint="make the tiny file")


def resolver(registry, **kw) -> DataResolver:
    return DataResolver(registry=registry, progress=Progress("data", quiet=True), **kw)


def test_missing_dataset_error_names_dataset_every_place_and_what_to_do(isolated):
    r = resolver(DATASETS, allow_download=False)
    with pytest.raises(DatasetError) as e:
        r.load("dermamnist")
    msg = str(e.value)
    assert "'dermamnist'" in msg and "DermaMNIST" in msg
    assert str(isolated / "data" / "dermamnist.npz") in msg
    assert str(isolated / "cache" / "datasets" / "dermamnist.npz") in msg
    assert str(isolated / "system" / "dermamnist.npz") in msg
    assert "DLGRADE_OFFLINE" in msg and "dlgrade data import dermamnist" in msg


def test_unknown_dataset_lists_known_ones(isolated):
    with pytest.raises(DatasetError, match="unknown dataset 'imagenet'.*mnist"):
        resolver(DATASETS).load("imagenet")


def test_corrupt_file_is_refused_with_its_checksum(isolated):
    (isolated / "data" / "mnist.npz").write_bytes(b"not really mnist")
    with pytest.raises(DatasetError) as e:
        resolver(DATASETS, allow_download=False).load("mnist")
    assert "checksum mismatch" in str(e.value)
    assert sha256(isolated / "data" / "mnist.npz") in str(e.value)


def test_search_order_prefers_dlgrade_data_over_cache(isolated):
    good = write_keras_npz(isolated / "data" / "tiny.npz")
    cache_copy = write_keras_npz(isolated / "cache" / "datasets" / "tiny.npz", seed=1)
    reg = {"tiny": tiny_dataset(sha256(good))}
    loaded = resolver(reg).load("tiny")
    assert "$DLGRADE_DATA" in loaded.provenance["where"]
    assert loaded.provenance["files"]["tiny.npz"]["verified"] == "sha256 (test)"
    assert cache_copy.exists()


def test_shape_mismatch_is_an_error(isolated):
    good = write_keras_npz(isolated / "data" / "tiny.npz")
    reg = {"tiny": tiny_dataset(sha256(good), shapes={"x_train": (60000, 28, 28)})}
    with pytest.raises(DatasetError, match="shape .*expected"):
        resolver(reg).load("tiny")


def test_download_good_file_lands_in_cache_and_loads(isolated, tmp_path):
    src = write_keras_npz(tmp_path / "srv" / "tiny.npz")
    with serve(tmp_path / "srv") as base:
        reg = {"tiny": tiny_dataset(sha256(src), base + "tiny.npz")}
        loaded = resolver(reg, allow_download=True).load("tiny")
    assert (isolated / "cache" / "datasets" / "tiny.npz").is_file()
    assert loaded["x_train"].shape == (20, 28, 28)


def test_download_wrong_checksum_is_refused_and_leaves_nothing(isolated, tmp_path):
    write_keras_npz(tmp_path / "srv" / "tiny.npz")
    with serve(tmp_path / "srv") as base:
        reg = {"tiny": tiny_dataset("0" * 64, base + "tiny.npz")}
        with pytest.raises(DatasetError) as e:
            resolver(reg, allow_download=True).load("tiny")
    assert "refused" in str(e.value) and "checksum mismatch" in str(e.value)
    assert list((isolated / "cache" / "datasets").glob("*")) == []


def test_download_truncated_file_is_refused(isolated, tmp_path):
    src = write_keras_npz(tmp_path / "srv" / "tiny.npz")
    with serve(tmp_path / "srv", truncate={"tiny.npz": 100}) as base:
        with pytest.raises(DatasetError, match="truncated|failed"):
            download(base + "tiny.npz", isolated / "cache" / "tiny.npz", [Digest("sha256", sha256(src), "t")])
    assert not (isolated / "cache" / "tiny.npz").exists()
    assert list((isolated / "cache").glob("*.part")) == []


def test_download_of_missing_url_reports_http_error(isolated, tmp_path):
    (tmp_path / "srv").mkdir()
    with serve(tmp_path / "srv") as base:
        reg = {"tiny": tiny_dataset("0" * 64, base + "nope.npz")}
        with pytest.raises(DatasetError, match="Download: download of .*nope.npz failed"):
            resolver(reg, allow_download=True).load("tiny")


def test_import_checks_checksum(isolated, tmp_path):
    bad = tmp_path / "dermamnist.npz"
    bad.write_bytes(b"\x00" * 64)
    r = resolver(DATASETS)
    with pytest.raises(DatasetError, match="import refused.*0744692d530f8e62ec473284d019b0c7"):
        r.import_file("dermamnist", bad)
    assert not (isolated / "cache" / "datasets" / "dermamnist.npz").exists()
    with pytest.raises(DatasetError, match="no such file"):
        r.import_file("dermamnist", tmp_path / "missing.npz")


def test_idx_reader_round_trip_and_truncation(tmp_path):
    imgs = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    labels = np.array([3, 7], dtype=np.uint8)
    files = [write_idx(tmp_path / n, a) for n, a in (("a.gz", imgs), ("b.gz", labels), ("c.gz", imgs), ("d.gz", labels))]
    out = idx_gz(files, ())
    assert np.array_equal(out["x_train"], imgs) and np.array_equal(out["y_test"], labels)
    with gzip.open(tmp_path / "short.gz", "wb") as f:
        f.write(b"\x00\x00\x08\x03" + (5).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\x01" * 10)
    with pytest.raises(FormatError, match="header says"):
        idx_gz([tmp_path / "short.gz"] + files[1:], ())


def test_image_folder_reader_labels_by_folder_and_shuffles_deterministically(tmp_path):
    from PIL import Image

    archive = tmp_path / "imgs.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for split, n in (("train", 3), ("test", 2)):
            for cls, value in (("cat", 10), ("dog", 200)):
                for i in range(n):
                    buf = io.BytesIO()
                    Image.fromarray(np.full((4, 4, 3), value, np.uint8)).save(buf, format="PNG")
                    info = tarfile.TarInfo(f"root/{split}/{cls}/{i:04d}.png")
                    info.size = buf.tell()
                    buf.seek(0)
                    tar.addfile(info, buf)
    a = image_folder_tar([archive], ("cat", "dog"))
    b = image_folder_tar([archive], ("cat", "dog"))
    assert a["x_train"].shape == (6, 4, 4, 3) and a["x_test"].shape == (4, 4, 4, 3)
    assert np.array_equal(a["y_train"], b["y_train"])
    assert all((a["x_train"][i, 0, 0, 0] == 10) == (a["y_train"][i] == 0) for i in range(6))
    with pytest.raises(FormatError, match="no images"):
        image_folder_tar([archive], ("bird",))


def test_real_mirrors_load_with_official_shapes_and_cache_speeds_up():
    r = resolver(DATASETS, allow_download=False)
    mnist = r.load("mnist")
    assert mnist["x_train"].shape == (60000, 28, 28)
    assert list(mnist["y_train"][:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    fashion = r.load("fashion-mnist")
    assert fashion["x_test"].shape == (10000, 28, 28) and set(np.unique(fashion["y_train"])) == set(range(10))
    r.load("cifar10")  # decode once (or hit the cache)
    t0 = time.perf_counter()
    again = resolver(DATASETS, allow_download=False).load("cifar10")
    assert time.perf_counter() - t0 < 5.0, "decoded CIFAR-10 should come from the .npy cache"
    assert again["x_train"].shape == (50000, 32, 32, 3)
    assert np.bincount(again["y_test"]).tolist() == [1000] * 10
