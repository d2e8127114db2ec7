"""Hidden checks for hw6.q1 (batch_norm, layer_norm): shapes, values on known inputs, properties."""

from __future__ import annotations

import numpy as np

from dlgrade.kit.hidden import CheckFailed, Example, Partial, expect_array, expect_close, hidden_check

EPSILON = 1e-3  # Keras' default, what the homework compares with

EXAMPLES = [
    Example("batch_norm", ([[1.0, 2.0], [3.0, 6.0]],), [[-1.0, -1.0], [1.0, 1.0]], {"epsilon": 0.0}),
    Example("layer_norm", ([[1.0, 3.0], [2.0, 6.0]],), [[-1.0, 1.0], [-1.0, 1.0]], {"epsilon": 0.0}),
]


def did_something(out: np.ndarray, x: np.ndarray, name: str) -> None:
    """A shape check is worth nothing for a function that returns its input, or a constant."""
    if np.allclose(out, x) or np.ptp(out) == 0:
        raise CheckFailed(f"{name} returned its input unchanged or a constant array: nothing was normalised")


def _inputs():
    rng = np.random.default_rng(20240601)
    return [rng.normal(3.0, 2.0, size=(4, 3)), rng.integers(0, 10, size=(6, 5)).astype(float), rng.normal(size=(2, 7)) * 100]


def _share_matching(student, reference, name: str) -> float:
    """Share of the hidden inputs on which ``student`` gives the reference values (partial credit)."""
    good, errors = 0, []
    inputs = _inputs()
    for x in inputs:
        try:
            # epsilon given explicitly: a student's own default (PyTorch's 1e-5, say) is not a mistake
            expect_close(expect_array(student(x.copy(), epsilon=EPSILON), name, x.shape), reference(x, epsilon=EPSILON),
                         name, 1e-6)
            good += 1
        except AssertionError as e:
            errors.append(e)
    if good == 0:
        raise errors[0]
    if errors:
        return Partial(good / len(inputs), f"{len(errors)} of the {len(inputs)} hidden inputs give other values ({errors[0]})")
    return None


@hidden_check("bn_shape", 1, ("batch_norm",),
              {"en": "batch_norm keeps the input's shape (4x3, 6x5, 2x7 inputs).",
               "fa": "خروجی batch_norm هم‌شکل ورودی است (ورودی‌های ۴×۳، ۶×۵ و ۲×۷)."},
              {"en": "Return an array of the same shape as x; normalise, don't reduce.",
               "fa": "آرایه‌ای هم‌شکل x برگردانید؛ نرمال کنید، کاهش ندهید."})
def bn_shape(f, ref):
    for x in _inputs():
        did_something(expect_array(f.batch_norm(x.copy(), epsilon=EPSILON), "batch_norm", shape=x.shape), x, "batch_norm")


@hidden_check("bn_values", 2, ("batch_norm",),
              {"en": "batch_norm gives the reference values on three hidden inputs (partial credit per input).",
               "fa": "batch_norm روی سه ورودی پنهان همان مقادیر مرجع را می‌دهد (امتیاز جزئی برای هر ورودی)."},
              {"en": "Subtract the column mean and divide by sqrt(variance + epsilon), variance over axis 0 (biased).",
               "fa": "میانگین ستون را کم کنید و بر sqrt(واریانس + epsilon) تقسیم کنید؛ واریانس اریب روی محور ۰."})
def bn_values(f, ref):
    return _share_matching(f.batch_norm, ref.batch_norm, "batch_norm")


@hidden_check("bn_epsilon", 1, ("batch_norm",),
              {"en": "batch_norm uses its epsilon argument (a constant column stays finite; epsilon=0.5 changes the scale).",
               "fa": "batch_norm آرگومان epsilon را به کار می‌برد (ستون ثابت متناهی می‌ماند و epsilon=0.5 مقیاس را عوض می‌کند)."})
def bn_epsilon(f, ref):
    x = np.array([[1.0, 5.0], [1.0, 7.0], [1.0, 9.0]])
    out = expect_array(f.batch_norm(x.copy(), epsilon=0.5), "batch_norm(x, epsilon=0.5)", x.shape)  # a constant column stays finite
    expect_close(out, ref.batch_norm(x, epsilon=0.5), "batch_norm(x, epsilon=0.5)", 1e-6)


@hidden_check("ln_shape", 1, ("layer_norm",),
              {"en": "layer_norm keeps the input's shape.", "fa": "خروجی layer_norm هم‌شکل ورودی است."})
def ln_shape(f, ref):
    for x in _inputs():
        did_something(expect_array(f.layer_norm(x.copy(), epsilon=EPSILON), "layer_norm", shape=x.shape), x, "layer_norm")


@hidden_check("ln_values", 2, ("layer_norm",),
              {"en": "layer_norm gives the reference values on three hidden inputs (partial credit per input).",
               "fa": "layer_norm روی سه ورودی پنهان همان مقادیر مرجع را می‌دهد (امتیاز جزئی برای هر ورودی)."},
              {"en": "Normalise each row: mean and biased variance over axis 1, epsilon inside the square root.",
               "fa": "هر سطر را نرمال کنید: میانگین و واریانس اریب روی محور ۱ و epsilon داخل رادیکال."})
def ln_values(f, ref):
    return _share_matching(f.layer_norm, ref.layer_norm, "layer_norm")


@hidden_check("ln_input_untouched", 0.5, ("layer_norm", "batch_norm"),
              {"en": "Neither function modifies its input array in place.",
               "fa": "هیچ‌کدام از دو تابع آرایهٔ ورودی را درجا تغییر نمی‌دهد."},
              requires=("bn_shape", "ln_shape"))
def input_untouched(f, ref):
    # In the sandbox: the array the function receives there is the one to watch.
    for name in ("batch_norm", "layer_norm"):
        if f.probe("dlgrade.kit.probes:mutates_input", function=name, x=_inputs()[0]):
            raise AssertionError(f"{name} changed its input array in place")
