"""Probes: harness code that runs where the student's code runs and reports facts about objects that cannot
cross the sandbox's boundary (a Keras model, keras-tuner hyper-parameters) as plain data. A probe only observes;
what the facts should be is decided by the hidden check on the trusted side.

A hidden check reaches a probe with ``f.probe("dlgrade.kit.probes:hypermodel_facts", input_shape=(28, 28))``.
"""

from __future__ import annotations

from dlgrade.kit.tuning import space_configs

SANDBOX_SAFE = True


def _loss_facts(loss) -> dict:
    if isinstance(loss, str) or loss is None:
        return {"class": str(loss), "config": {}}
    try:
        config = {k: v for k, v in loss.get_config().items() if isinstance(v, (bool, int, float, str, type(None)))}
    except Exception:  # noqa: BLE001 - a loss without a config
        config = {}
    return {"class": type(loss).__name__, "config": config}


def hypermodel_facts(student, input_shape, batch: int = 2) -> dict:
    """What the student's ``build_model(hp)`` builds from fresh keras-tuner HyperParameters.

    Returns:
        ``type`` of what it returned, ``is_model``, the declared search ``space`` (each hyper-parameter's config
        with its class name), and for a model: ``output`` on a batch of zeros, ``compiled``, ``loss`` (class and
        plain config), ``params``.
    """
    import keras
    import keras_tuner as kt
    import numpy as np

    hp = kt.HyperParameters()
    model = student.build_model(hp)
    facts = {"type": f"{type(model).__module__}.{type(model).__qualname__}", "is_model": isinstance(model, keras.Model),
             "space": space_configs(hp)}
    if facts["is_model"]:
        facts["output"] = np.asarray(model(np.zeros((batch, *tuple(input_shape)), dtype="float32")), dtype=np.float64)
        facts["compiled"] = getattr(model, "optimizer", None) is not None
        facts["loss"] = _loss_facts(getattr(model, "loss", None))
        facts["params"] = int(model.count_params())
    return facts


def mutates_input(student, function: str, x, **kwargs) -> bool:
    """Whether ``student.<function>(x)`` changes the array it is given (watched inside the sandbox, where it runs)."""
    import numpy as np

    arr = np.array(x, copy=True)
    before = arr.copy()
    getattr(student, function)(arr, **kwargs)
    return not np.array_equal(arr, before)
