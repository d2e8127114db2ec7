"""hw6.q4: keras-tuner RandomSearch of a CNN on CIFAR-10.

Search space (the homework's, identical in every profile): 3..5 conv blocks; per
block filters 32..128 step 32 and pooling max/avg; dropout 0.3/0.4/0.5; dense units
64..256 step 32; learning rate 1e-2/1e-3/1e-4. A block is [Conv 3x3 same, BN, ReLU]x2,
pool, dropout; then GlobalAveragePooling, Dense(relu), Dense(10, softmax); Adam.
RandomSearch with objective ``val_accuracy`` and early stopping (patience 2); the best
configuration is retrained from scratch through the same ``build_model`` and evaluated
on the official test images with a per-class report and a confusion matrix.
"""

from __future__ import annotations

from .spec import BN_MOMENTUM, CONV_BLOCKS, DENSE_UNITS, DROPOUT, FILTERS, INPUT_SHAPE, LEARNING_RATES, NUM_CLASSES, POOLING


def build_model(hp):
    """The tuner's hypermodel: the homework's CNN over the homework's search space, compiled.

    Declares ``conv_blocks`` (Int 3..5), ``filters_1`` .. ``filters_5`` (Int 32..128 step 32),
    ``pooling_1`` .. ``pooling_5`` (Choice max/avg), ``dropout`` (Choice 0.3/0.4/0.5), ``dense_units``
    (Int 64..256 step 32) and ``learning_rate`` (Choice 1e-2/1e-3/1e-4). Filters and pooling are declared
    for all five possible blocks so that RandomSearch samples every one of them; a model with
    ``conv_blocks`` = n uses the first n. Each block: [Conv2D(filters, 3, padding="same"),
    BatchNormalization(momentum=0.9), ReLU] x 2, MaxPooling2D(2) or AveragePooling2D(2), Dropout; then
    GlobalAveragePooling2D, Dense(dense_units, relu), Dense(10, softmax). Adam(learning_rate),
    sparse categorical cross-entropy, ``metrics=["accuracy"]``.
    """
    import keras
    from keras import layers

    blocks = hp.Int("conv_blocks", min_value=CONV_BLOCKS[0], max_value=CONV_BLOCKS[1], step=CONV_BLOCKS[2])
    filters = [hp.Int(f"filters_{i + 1}", min_value=FILTERS[0], max_value=FILTERS[1], step=FILTERS[2])
               for i in range(CONV_BLOCKS[1])]
    pooling = [hp.Choice(f"pooling_{i + 1}", values=list(POOLING)) for i in range(CONV_BLOCKS[1])]
    dropout = hp.Choice("dropout", values=list(DROPOUT))
    units = hp.Int("dense_units", min_value=DENSE_UNITS[0], max_value=DENSE_UNITS[1], step=DENSE_UNITS[2])
    lr = hp.Choice("learning_rate", values=list(LEARNING_RATES))

    model = keras.Sequential([keras.Input(INPUT_SHAPE)])
    for f, pool in zip(filters[:blocks], pooling[:blocks]):
        for _ in range(2):
            model.add(layers.Conv2D(int(f), 3, padding="same"))
            model.add(layers.BatchNormalization(momentum=BN_MOMENTUM))
            model.add(layers.ReLU())
        model.add(layers.MaxPooling2D(2) if pool == "max" else layers.AveragePooling2D(2))
        model.add(layers.Dropout(dropout))
    model.add(layers.GlobalAveragePooling2D())
    model.add(layers.Dense(int(units), activation="relu"))
    model.add(layers.Dense(NUM_CLASSES, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
