"""A tiny keras-tuner search for tests/autograde/test_scaleout.py, run as a chief or a worker process
(keras-tuner's distributed mode: KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT)."""

import os
import sys

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

import keras  # noqa: E402
import keras_tuner as kt  # noqa: E402
import numpy as np  # noqa: E402


def build(hp):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("units", 2, 8, step=2), activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.normal(size=(32, 1)).astype("float32")
    tuner = kt.RandomSearch(build, objective="val_loss", max_trials=3, seed=0, directory=sys.argv[1],
                            project_name="tiny", overwrite=False)
    tuner.search(x, y, epochs=1, validation_data=(x, y), verbose=0)
    role = os.environ.get("KERASTUNER_TUNER_ID", "?")
    if role == "chief":
        trials = tuner.oracle.get_best_trials(3)
        print(f"chief: {len(trials)} trials, best units {trials[0].hyperparameters.get('units')}", flush=True)
    else:
        print(f"{role}: done", flush=True)
