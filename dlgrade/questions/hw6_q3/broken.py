"""hw6.q3, deliberately broken (``dlgrade calibrate hw6.q3 --variant broken``): a trunk that sees nothing (its
input is scaled by 0, so its features are the same for every image), with the reference's rotations. Every head on
it is at chance; the ranges of the baseline, pretext, transfer and joint accuracies must fail it."""

from __future__ import annotations

from .reference import rotate_batch  # noqa: F401
from .spec import FEATURES


def build_trunk(input_shape=(32, 32, 3)):
    import keras

    return keras.Sequential([keras.Input(input_shape), keras.layers.Rescaling(0.0), keras.layers.Flatten(),
                             keras.layers.Dense(FEATURES, activation="relu")], name="trunk")
