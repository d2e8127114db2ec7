"""Hidden checks for hw6.q3: ``rotate_batch`` (the pretext task's data)."""

from __future__ import annotations

import numpy as np

from dlgrade.kit.hidden import CheckFailed, Partial, expect_array, expect_close, hidden_check


def _images(n=3, h=6, c=3, seed=7):
    return np.random.default_rng(seed).random((n, h, h, c)).astype(np.float32)


def _call(f, x):
    out = f.rotate_batch(x.copy())
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"rotate_batch returned {type(out).__name__}, expected a tuple (rotated, labels)", "wrong_type")
    return out


@hidden_check("rotate_shapes", 1, ("rotate_batch",),
              {"en": "rotate_batch returns 4n images of the input's size and 4n labels.",
               "fa": "rotate_batch چهار برابر تصویر هم‌اندازهٔ ورودی و همان تعداد برچسب برمی‌گرداند."})
def rotate_shapes(f, ref):
    x = _images()
    rot, lab = _call(f, x)
    expect_array(rot, "rotated images", shape=(12, 6, 6, 3))
    expect_array(lab, "labels", shape=(12,))


@hidden_check("rotate_values", 2, ("rotate_batch",),
              {"en": "Rotated images and labels equal the reference (np.rot90 by k quarter turns, label k, all k=0 first).",
               "fa": "تصاویر چرخیده و برچسب‌ها با مرجع برابرند (np.rot90 با k ربع دور، برچسب k، ابتدا همهٔ k=0)."},
              {"en": "Rotate in the image plane (axes 1, 2) and order the output by rotation: all images at 0, then 90, 180, 270.",
               "fa": "در صفحهٔ تصویر (محورهای ۱ و ۲) بچرخانید و خروجی را به ترتیب چرخش مرتب کنید: همه با ۰، سپس ۹۰، ۱۸۰ و ۲۷۰."})
def rotate_values(f, ref):
    x = _images()
    rot, lab = _call(f, x)
    want_rot, want_lab = ref.rotate_batch(x.copy())
    score, problems = 0.0, []
    try:
        expect_close(expect_array(lab, "labels", (12,)), want_lab, "labels", 0)
        score += 0.5
    except AssertionError as e:
        problems.append(e)
    try:
        expect_close(expect_array(rot, "rotated images", want_rot.shape), want_rot, "rotated images", 1e-6)
        score += 0.5
    except AssertionError as e:
        problems.append(e)
    if score == 0:
        raise problems[0]
    return Partial(score, str(problems[0])) if problems else None
