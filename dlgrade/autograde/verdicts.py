"""What went wrong in a student's code, as a verdict code and a detail sentence in both languages, with a
one-line hint for the Keras 2 habits that Keras 3 breaks.

Everything that comes out of a sandbox is data written by the student's code (exception types and
messages included): it is cleaned (control characters, ANSI escapes) and cut before anyone sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dlgrade.text import clean

DETAIL_CHARS = 2000

# Keras 2 -> 3: (pattern over "ExceptionType: message", hint en, hint fa). Listed in the handout's README too.
KERAS_HINTS: tuple[tuple[str, str, str], ...] = (
    (r"unexpected keyword argument 'lr'|Argument\(s\) not recognized: \{'lr'",
     "Keras 3 renamed the optimizers' lr= to learning_rate= (e.g. Adam(learning_rate=1e-3)).",
     "در Keras 3 آرگومان lr= بهینه‌سازها learning_rate= شده است (مثلاً Adam(learning_rate=1e-3))."),
    (r"pool_size",
     "Keras 3 pooling layers need pool_size: write AveragePooling2D(pool_size=2) or AveragePooling2D(2).",
     "لایه‌های pooling در Keras 3 به pool_size نیاز دارند: AveragePooling2D(pool_size=2) یا AveragePooling2D(2) بنویسید."),
    (r"has no attribute 'output'|has never been called and thus has no defined output|The layer sequential.* has never been called|has no defined (output|input)",
     "In Keras 3 a Sequential model has no .output/.input until it is called: start it with keras.Input(shape) "
     "or use the functional API (keras.Model(inputs, outputs)).",
     "در Keras 3 مدل Sequential تا وقتی فراخوانی نشده .output و .input ندارد: با keras.Input(shape) شروع کنید "
     "یا از API تابعی (keras.Model(inputs, outputs)) استفاده کنید."),
    (r"input_shape",
     "Keras 3 prefers keras.Input(shape) as the first layer instead of input_shape= on a layer.",
     "Keras 3 به جای input_shape= روی لایه، keras.Input(shape) را به‌عنوان لایهٔ اول می‌خواهد."),
    (r"layers\.experimental|has no attribute 'experimental'",
     "keras.layers.experimental is gone in Keras 3: the preprocessing layers are in keras.layers (e.g. keras.layers.Rescaling).",
     "keras.layers.experimental در Keras 3 حذف شده است: لایه‌های پیش‌پردازش در keras.layers هستند (مثلاً keras.layers.Rescaling)."),
    (r"fit_generator|evaluate_generator|predict_generator",
     "Keras 3 removed fit_generator/evaluate_generator/predict_generator: pass the generator to fit/evaluate/predict.",
     "Keras 3 متدهای fit_generator، evaluate_generator و predict_generator را حذف کرده است: مولد را به fit، evaluate یا predict بدهید."),
    (r"No module named 'tensorflow\.keras|keras\.engine|keras\.layers\.core|No module named 'keras\.(engine|wrappers)",
     "Import from keras directly (import keras; keras.layers...) rather than tensorflow.keras or keras.engine.",
     "مستقیم از keras وارد کنید (import keras و keras.layers...) نه از tensorflow.keras یا keras.engine."),
)


def keras_hint(text: str) -> dict[str, str] | None:
    """The Keras 2 -> 3 hint matching an error text, ``{"en": ..., "fa": ...}``, or None."""
    for pattern, en, fa in KERAS_HINTS:
        if re.search(pattern, text):
            return {"en": en, "fa": fa}
    return None


@dataclass(frozen=True)
class Problem:
    """A verdict code and what to say about it.

    Attributes:
        verdict: ``error``, ``not_implemented``, ``import_error``, ``sys_exit``, ``network``, ``memory``, ``timeout``,
            ``cpu``, ``crash``, ``exit``, ``protocol``, ``wrong_type``, ...
        detail: one sentence in English for logs and the Gradescope file (cleaned, cut).
        detail_fa: the same in Persian.
        hint: a Keras 2 -> 3 hint, or None.
    """

    verdict: str
    detail: str
    detail_fa: str
    hint: dict[str, str] | None = None


def from_student_error(e, show_message: bool = True, phase: str = "", locate=None) -> Problem:
    """A :class:`~dlgrade.autograde.sandbox.StudentError` (an exception the student's code raised).

    With ``show_message`` False (a hidden check whose inputs must stay hidden), the message is withheld:
    a student could otherwise raise it with the hidden input in it. ``locate`` turns a sandbox ``file:line`` into
    the student's own place (a notebook's cell and line).
    """
    locate = locate or (lambda text: text)
    kind = clean(e.type, 200)
    message = clean(locate(str(e.message)), DETAIL_CHARS)
    where = clean(locate(str(e.where)), 200)
    at = f" at {where}" if where else ""
    at_fa = f" در {where}" if where else ""
    hint = keras_hint(f"{kind}: {message}")
    short = kind.rsplit(".", 1)[-1]
    if short == "NotImplementedError":
        return Problem("not_implemented", f"still raises NotImplementedError{at}", f"هنوز NotImplementedError می‌دهد{at_fa}")
    if short == "SystemExit":
        return Problem("sys_exit", f"the code called sys.exit() / exit(){at}", f"کد sys.exit() یا exit() را صدا زد{at_fa}")
    if short == "NetworkRefused" or (short in ("OSError", "ConnectionError", "gaierror") and "network" in message.lower()):
        return Problem("network", f"tried to use the network{at}", f"خواست به شبکه وصل شود{at_fa}")
    if short == "MemoryError":
        return Problem("memory", f"ran out of memory{at}", f"حافظه تمام شد{at_fa}")
    verdict = "import_error" if phase == "load" else "error"
    if show_message:  # the Persian sentence names the error; the English detail beside it carries the message
        return Problem(verdict, f"raised {short}: {message}{at}", f"خطای {short} داد{at_fa}", hint)
    return Problem(verdict, f"raised {short}{at} (the message is not shown: this check's inputs are hidden; "
                   "run the public tests to see it)",
                   f"خطای {short} داد{at_fa} (پیام نشان داده نمی‌شود چون ورودی‌های این بررسی پنهان است؛ "
                   "آزمون‌های عمومی را اجرا کنید تا پیام را ببینید)", hint)


DIED = {
    "timeout": ("no answer within the time limit (an infinite loop, or far too slow)",
                "در محدودیت زمان پاسخی نداد (حلقهٔ بی‌پایان یا بسیار کند)"),
    "memory": ("used more memory than the limit and was stopped", "بیش از محدودیت حافظه مصرف کرد و متوقف شد"),
    "cpu": ("used more CPU time than the limit", "بیش از محدودیت زمان پردازنده مصرف کرد"),
    "crash": ("the process crashed (e.g. a segmentation fault)", "فرایند از کار افتاد (مثلاً segmentation fault)"),
    "exit": ("the process exited without answering (os._exit or a fatal error)",
             "فرایند بدون پاسخ بسته شد (os._exit یا خطای مهلک)"),
    "protocol": ("returned something that cannot be sent back (too large or malformed)",
                 "چیزی برگرداند که نمی‌شد بازگرداند (بیش از حد بزرگ یا نامعتبر)"),
}
DIED_VERDICT = {"timeout": "timeout", "memory": "memory", "cpu": "cpu", "crash": "crash", "exit": "crash", "protocol": "protocol"}


def from_sandbox_died(e) -> Problem:
    """A :class:`~dlgrade.autograde.sandbox.SandboxDied`: the sandbox was stopped or ended without an answer."""
    en, fa = DIED.get(e.cause, ("the sandbox stopped", "محیط ایزوله متوقف شد"))
    return Problem(DIED_VERDICT.get(e.cause, "crash"), f"{en} ({clean(e.detail, 300)})", fa)
