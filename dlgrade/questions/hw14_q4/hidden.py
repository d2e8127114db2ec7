"""Hidden checks for hw14.q4 (``build_model(hp)``): the model and the search space it declares.

The hyper-parameters are recognised by what they range over, not by their names: a student's
``hp.Int("dense_layer_units", 16, 512, step=16)`` is the homework's units.
"""

from __future__ import annotations

import numpy as np

from dlgrade.kit.hidden import CheckFailed, Partial, hidden_check, hypermodel
from dlgrade.kit.tuning import find_choice, find_int


@hidden_check("model_io", 1, ("build_model",),
              {"en": "build_model(hp) returns a compiled keras.Model mapping 28x28 images to 10 outputs.",
               "fa": "build_model(hp) یک keras.Model کامپایل‌شده برمی‌گرداند که تصویر ۲۸×۲۸ را به ۱۰ خروجی می‌برد."},
              {"en": "Start with keras.Input((28, 28)), Flatten, end with Dense(10) and call model.compile(...).",
               "fa": "با keras.Input((28, 28)) و Flatten شروع کنید، با Dense(10) تمام کنید و model.compile(...) را صدا بزنید."},
              timeout_s=120)
def model_io(f, ref):
    facts = hypermodel(f, (28, 28))
    out = np.asarray(facts.get("output"), dtype=np.float64)
    if out.shape != (2, 10):
        raise CheckFailed(f"the model maps a (2, 28, 28) batch to shape {out.shape}, expected (2, 10)", "shape")
    if not np.all(np.isfinite(out)):
        raise CheckFailed("the model's outputs contain NaN/inf", "nan")
    if not facts.get("compiled"):
        raise CheckFailed("the model is not compiled (call model.compile with Adam and the loss)", "wrong")


@hidden_check("search_space", 2, ("build_model",),
              {"en": "The search space: an integer from 16 to 512 in steps of 16 for the units and a choice of learning "
                     "rate among {1e-4, 5e-4, 1e-3, 5e-3, 1e-2} (1 point each; any names).",
               "fa": "فضای جست‌وجو: یک عدد صحیح از ۱۶ تا ۵۱۲ با گام ۱۶ برای تعداد نورون و انتخاب نرخ یادگیری از میان "
                     "{1e-4, 5e-4, 1e-3, 5e-3, 1e-2} (هر کدام ۱ امتیاز؛ با هر نامی)."},
              {"en": "Use hp.Int(name, 16, 512, step=16) and hp.Choice(name, [1e-4, 5e-4, 1e-3, 5e-3, 1e-2]).",
               "fa": "از hp.Int(name, 16, 512, step=16) و hp.Choice(name, [1e-4, 5e-4, 1e-3, 5e-3, 1e-2]) استفاده کنید."},
              timeout_s=120)
def search_space(f, ref):
    space = hypermodel(f, (28, 28))["space"]
    score, problems = 0.0, []
    if find_int(space, *ref.UNITS):
        score += 0.5
    else:
        problems.append(f"no integer hyper-parameter from {ref.UNITS[0]} to {ref.UNITS[1]} in steps of {ref.UNITS[2]} "
                        f"(declared: {_shown(space)})")
    if find_choice(space, ref.LEARNING_RATES):
        score += 0.5
    else:
        problems.append(f"no choice among {list(ref.LEARNING_RATES)} (declared: {_shown(space)})")
    if score == 0:
        raise CheckFailed("; ".join(problems))
    return Partial(score, "; ".join(problems)) if problems else None


@hidden_check("logits_loss", 1, ("build_model",),
              {"en": "The loss is sparse categorical cross-entropy from logits (the last layer has no softmax).",
               "fa": "تابع ضرر آنتروپی متقاطع اسپارس روی logits است (لایهٔ آخر softmax ندارد)."},
              timeout_s=120)
def logits_loss(f, ref):
    loss = hypermodel(f, (28, 28)).get("loss") or {}
    if loss.get("class") != "SparseCategoricalCrossentropy" or not loss.get("config", {}).get("from_logits"):
        raise CheckFailed(f"model.loss is {loss.get('class')} {loss.get('config', {})}, "
                          "expected SparseCategoricalCrossentropy(from_logits=True)")


def _shown(space) -> str:
    return ", ".join(f"{p.get('class_name')} {p.get('name')!r}" for p in space) or "nothing"


DOCS = {
    "build_model": """
        Receives:
            hp: a ``keras_tuner.HyperParameters``; declare on it an integer for the units,
                ``hp.Int(name, 16, 512, step=16)``, and a choice of learning rate,
                ``hp.Choice(name, [1e-4, 5e-4, 1e-3, 5e-3, 1e-2])`` (any names you like).
        Returns:
            a compiled ``keras.Model``: ``Input((28, 28))`` -> Flatten -> Dense(units, relu) -> Dense(10)
            (logits), Adam(learning_rate), ``SparseCategoricalCrossentropy(from_logits=True)``,
            ``metrics=["accuracy"]``.
    """,
}
