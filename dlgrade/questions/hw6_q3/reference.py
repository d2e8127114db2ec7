"""hw6.q3: self-supervised rotation pre-training with 200 labelled CIFAR-10 images.

The network (the homework's): three blocks of ``[Conv(f, 3, same, relu) + BatchNorm] x 2``,
MaxPool, Dropout 0.3 with ``f = 32, 64, 128``; Flatten; Dense(64, relu, he_uniform). That
*trunk* ends in a 64-d feature vector; a softmax *head* is put on top of it.

(a) supervised baseline: 200 labelled images (20 per class), Adam, categorical cross-entropy.
(b) rotation pretext: every unlabelled image rotated by 0/90/180/270 degrees is a 4-class
    problem (20 % of the unlabelled *images* held out for validation, so rotations of one image
    never straddle the split); the pre-trained trunk then gets a new 10-way head and the whole
    network is fine-tuned on the same 200 labels.
(c) multi-task: one trunk, a classifier head (10) and a rotator head (4) trained together on
    the labelled images plus rotated unlabelled images. Each sample has a weight per head: 0 for
    the head it has no target for, so each head learns only from its own samples (the masked
    targets are placeholders that change neither the loss nor its gradient). The non-zero weights
    are ``n_all / n_head`` so each head's loss is the mean over its own samples and the loss
    weights (classifier-heavy, rotator-heavy, equal) mean what they say.

You write ``rotate_batch`` (the pretext's data) and ``build_trunk`` (the shared feature extractor);
the heads, the training and the evaluation are the grader's.
"""

from __future__ import annotations

import numpy as np

from .spec import BN_MOMENTUM, DROPOUT, FEATURES, FILTERS, ROTATIONS


def rotate_batch(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every image in all four rotations, with the rotation index as label.

    Args:
        images: ``(n, h, h, channels)`` square images.

    Returns:
        ``(rotated, labels)``: ``4n`` images, all images turned by 0 degrees first, then 90, 180, 270
        (``np.rot90(image, k)``: ``k`` quarter turns counter-clockwise), and labels ``k`` in 0..3.

    Raises:
        ValueError: ``images`` is not a batch of square images.

    Example:
        >>> r, k = rotate_batch(np.zeros((2, 8, 8, 3)))
        >>> r.shape, k.tolist()
        ((8, 8, 8, 3), [0, 0, 1, 1, 2, 2, 3, 3])
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] != images.shape[2]:
        raise ValueError(f"rotate_batch expects square images shaped (n, h, h, channels), got {images.shape}")
    rotated = np.concatenate([np.rot90(images, k, axes=(1, 2)) for k in range(len(ROTATIONS))])
    labels = np.repeat(np.arange(len(ROTATIONS)), len(images))
    return rotated, labels


def build_trunk(input_shape=(32, 32, 3)):
    """The shared feature extractor: three blocks of ``[Conv2D(f, 3, padding="same", relu) + BatchNormalization]
    x 2``, MaxPooling2D, Dropout(0.3) with ``f = 32, 64, 128``; Flatten; Dense(64, relu, he_uniform).

    BatchNormalization uses ``momentum=0.9`` (with 200 images an epoch is 7 steps; Keras' 0.99 would leave
    the statistics used at inference near their initial values).

    Args:
        input_shape: ``(height, width, channels)`` of the images.

    Returns:
        An uncompiled ``keras.Model`` named ``"trunk"`` mapping images to 64 features.
    """
    import keras

    L = keras.layers
    inp = keras.Input(input_shape)
    x = inp
    for f in FILTERS:
        for _ in range(2):
            x = L.Conv2D(f, 3, padding="same", activation="relu")(x)
            x = L.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = L.MaxPooling2D()(x)
        x = L.Dropout(DROPOUT)(x)
    x = L.Flatten()(x)
    x = L.Dense(FEATURES, activation="relu", kernel_initializer="he_uniform")(x)
    return keras.Model(inp, x, name="trunk")
