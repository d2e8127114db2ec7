"""Hidden checks for hw14.q4 (``build_model(hp)``): the model and the search space it declares."""

from __future__ import annotations

import numpy as np

from dlgrade.kit.hidden import CheckFailed, build_from_hp, hidden_check



@hidden_check("model_io", 1, ("build_model",),
              {"en": "build_model(hp) returns a compiled keras.Model mapping 28x28 images to 10 outputs.",
               "fa": "build_model(hp) یک keras.Model کامپایل‌شده برمی‌گرداند که تصویر ۲۸×۲۸ را به ۱۰ خروجی می‌برد."},
              {"en": "Start with keras.Input((28, 28)), Flatten, end with Dense(10) and call model.compile(...).",
               "fa": "با keras.Input((28, 28)) و Flatten شروع کنید، با Dense(10) تمام کنید و model.compile(...) را صدا بزنید."},
              timeout_s=120)
def model_io(f, ref):
    _, model = build_from_hp(f)
    out = np.asarray(model(np.zeros((2, 28, 28), dtype="float32")))
    if out.shape != (2, 10):
        raise CheckFailed(f"the model maps a (2, 28, 28) batch to shape {out.shape}, expected (2, 10)", "shape")
    if not np.all(np.isfinite(out)):
        raise CheckFailed("the model's outputs contain NaN/inf", "nan")
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        raise CheckFailed("the model is not compiled (call model.compile with Adam and the loss)", "wrong")


@hidden_check("search_space", 2, ("build_model",),
              {"en": "The search space: units 16..512 step 16 and learning rate in {1e-4, 5e-4, 1e-3, 5e-3, 1e-2} (1 point each).",
               "fa": "فضای جست‌وجو: units از ۱۶ تا ۵۱۲ با گام ۱۶ و نرخ یادگیری در {1e-4, 5e-4, 1e-3, 5e-3, 1e-2} (هر کدام ۱ امتیاز)."},
              {"en": "Use hp.Int('units', 16, 512, step=16) and hp.Choice('learning_rate', [1e-4, 5e-4, 1e-3, 5e-3, 1e-2]).",
               "fa": "از hp.Int('units', 16, 512, step=16) و hp.Choice('learning_rate', [1e-4, 5e-4, 1e-3, 5e-3, 1e-2]) استفاده کنید."},
              timeout_s=120)
def search_space(f, ref):
    hp, _ = build_from_hp(f)
    space = {p.name: p.get_config() for p in hp.space}
    score, problems = 0.0, []
    u = space.get("units")
    if u and (u.get("min_value"), u.get("max_value"), u.get("step")) == ref.UNITS:
        score += 0.5
    else:
        problems.append(f"units is {u!r}, expected min 16, max 512, step 16")
    lr = space.get("learning_rate")
    if lr and sorted(float(v) for v in lr.get("values", [])) == sorted(ref.LEARNING_RATES):
        score += 0.5
    else:
        problems.append(f"learning_rate is {lr!r}, expected a choice of {list(ref.LEARNING_RATES)}")
    if score == 0:
        raise CheckFailed("; ".join(problems))
    return score


@hidden_check("logits_loss", 1, ("build_model",),
              {"en": "The loss is sparse categorical cross-entropy from logits (the last layer has no softmax).",
               "fa": "تابع ضرر آنتروپی متقاطع اسپارس روی logits است (لایهٔ آخر softmax ندارد)."},
              timeout_s=120)
def logits_loss(f, ref):
    import keras

    _, model = build_from_hp(f)
    loss = model.loss
    ok = isinstance(loss, keras.losses.SparseCategoricalCrossentropy) and loss.get_config().get("from_logits")
    if not ok:
        raise CheckFailed(f"model.loss is {loss!r}, expected SparseCategoricalCrossentropy(from_logits=True)")


DOCS = {
    "build_model": """
        Receives:
            hp: a ``keras_tuner.HyperParameters``; declare ``hp.Int("units", 16, 512, step=16)`` and
                ``hp.Choice("learning_rate", [1e-4, 5e-4, 1e-3, 5e-3, 1e-2])`` on it.
        Returns:
            a compiled ``keras.Model``: ``Input((28, 28))`` -> Flatten -> Dense(units, relu) -> Dense(10)
            (logits), Adam(learning_rate), ``SparseCategoricalCrossentropy(from_logits=True)``,
            ``metrics=["accuracy"]``.
    """,
}
