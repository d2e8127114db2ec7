"""Hidden checks for hw6.q4 (``build_model(hp)`` on CIFAR-10): the model and its search space."""

from __future__ import annotations

import numpy as np

from dlgrade.kit.hidden import CheckFailed, Partial, hidden_check, hypermodel
from dlgrade.kit.tuning import find_choice, find_int



@hidden_check("model_io", 1, ("build_model",),
              {"en": "build_model(hp) returns a compiled keras.Model mapping 32x32x3 images to 10 class probabilities.",
               "fa": "build_model(hp) یک keras.Model کامپایل‌شده برمی‌گرداند که تصویر ۳۲×۳۲×۳ را به احتمال ۱۰ کلاس می‌برد."},
              {"en": "End with Dense(10, softmax) and call model.compile(Adam, categorical/sparse cross-entropy).",
               "fa": "با Dense(10, softmax) تمام کنید و model.compile را با Adam و آنتروپی متقاطع صدا بزنید."},
              timeout_s=180)
def model_io(f, ref):
    facts = hypermodel(f, (32, 32, 3))
    out = np.asarray(facts.get("output"), dtype=np.float64)
    if out.shape != (2, 10):
        raise CheckFailed(f"the model maps a (2, 32, 32, 3) batch to shape {out.shape}, expected (2, 10)", "shape")
    if not np.all(np.isfinite(out)):
        raise CheckFailed("the model's outputs contain NaN/inf", "nan")
    if not np.allclose(out.sum(axis=1), 1.0, atol=1e-3):
        raise CheckFailed(f"the outputs do not sum to 1 per image ({out.sum(axis=1)}): the head should be a softmax")
    if not facts.get("compiled"):
        raise CheckFailed("the model is not compiled")


@hidden_check("search_space", 2, ("build_model",),
              {"en": "The search space declares conv blocks 3-5, filters 32-128 step 32, max/avg pooling, dropout 0.3/0.4/0.5, "
                     "dense units 64-256 step 32 and learning rate 1e-2/1e-3/1e-4 (partial credit per hyper-parameter; any names).",
               "fa": "فضای جست‌وجو: ۳ تا ۵ بلوک، فیلتر ۳۲ تا ۱۲۸ با گام ۳۲، pooling بیشینه/میانگین، dropout ۰٫۳/۰٫۴/۰٫۵، "
                     "۶۴ تا ۲۵۶ واحد با گام ۳۲ و نرخ یادگیری 1e-2/1e-3/1e-4 (امتیاز جزئی برای هر ابرپارامتر)."},
              timeout_s=180)
def search_space(f, ref):
    space = hypermodel(f, (32, 32, 3))["space"]
    parts = {"conv_blocks": find_int(space, *ref.CONV_BLOCKS), "filters": find_int(space, *ref.FILTERS),
             "pooling": find_choice(space, ref.POOLING), "dropout": find_choice(space, ref.DROPOUT),
             "dense_units": find_int(space, *ref.DENSE_UNITS), "learning_rate": find_choice(space, ref.LEARNING_RATES)}
    good = sum(1 for v in parts.values() if v)
    declared = ", ".join(f"{p.get('class_name')} {p.get('name')!r}" for p in space) or "nothing"
    if good == 0:
        raise CheckFailed(f"none of the homework's hyper-parameters found (recognised by their ranges); declared: {declared}")
    missing = [k for k, v in parts.items() if not v]
    return Partial(good / len(parts), f"not found with the homework's range: {', '.join(missing)} (declared: {declared})") \
        if missing else None
