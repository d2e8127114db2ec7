"""hw6.q4, deliberately broken (``dlgrade calibrate hw6.q4 --variant broken``): a hypermodel that declares the
homework's search space but builds a model that never learns (Adam with learning rate 0 on a global average of the
raw pixels): a model at chance, which the rubric's ranges must fail."""

from __future__ import annotations

from .spec import CONV_BLOCKS, DENSE_UNITS, DROPOUT, FILTERS, INPUT_SHAPE, LEARNING_RATES, NUM_CLASSES, POOLING


def build_model(hp):
    import keras
    from keras import layers

    hp.Int("conv_blocks", min_value=CONV_BLOCKS[0], max_value=CONV_BLOCKS[1], step=CONV_BLOCKS[2])
    for i in range(CONV_BLOCKS[1]):
        hp.Int(f"filters_{i + 1}", min_value=FILTERS[0], max_value=FILTERS[1], step=FILTERS[2])
        hp.Choice(f"pooling_{i + 1}", values=list(POOLING))
    hp.Choice("dropout", values=list(DROPOUT))
    units = hp.Int("dense_units", min_value=DENSE_UNITS[0], max_value=DENSE_UNITS[1], step=DENSE_UNITS[2])
    hp.Choice("learning_rate", values=list(LEARNING_RATES))
    model = keras.Sequential([keras.Input(INPUT_SHAPE), layers.GlobalAveragePooling2D(),
                              layers.Dense(int(units), activation="relu"), layers.Dense(NUM_CLASSES, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.0), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
