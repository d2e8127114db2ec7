"""The one bilingual catalog of fixed words: report and feedback labels, verdicts, column headers, and the
names questions give their classes, variants and strategies.

Every entry has an English and a Persian text. Keys are dotted (``report.title``, ``verdict.timeout``);
a question registers its own words under its id (``hw14.q3.variant.baseline``) when it is loaded, so
results carry codes (``baseline``) and only templates and feedback turn them into words.

    >>> CATALOG.text("verdict.timeout", "en")
    'Stopped: time limit exceeded (infinite loop or far too slow).'
    >>> CATALOG.view("en", "report").title
    'Deep Learning Homework: Re-run and Graded'
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

LANGS = ("en", "fa")


class Words:
    """A flat map ``key -> {"en": ..., "fa": ...}`` with nested views for templates."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, str]] = {}

    def add(self, entries: Mapping[str, Any], prefix: str = "") -> None:
        """Add ``entries`` (nested mappings whose leaves are ``{"en": ..., "fa": ...}``) under ``prefix``.

        Raises:
            ValueError: a leaf lacks a language, or a key is already defined with other texts.
        """
        for key, value in entries.items():
            full = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, Mapping) and set(value) == set(LANGS) and all(isinstance(v, str) for v in value.values()):
                texts = {lang: value[lang] for lang in LANGS}
                if any(not t.strip() for t in texts.values()):
                    raise ValueError(f"word {full!r}: empty text in {texts}")
                old = self._entries.get(full)
                if old is not None and old != texts:
                    raise ValueError(f"word {full!r} is already defined as {old}, not {texts}")
                self._entries[full] = texts
            elif isinstance(value, Mapping):
                self.add(value, full)
            else:
                raise ValueError(f"word {full!r}: expected {{'en': ..., 'fa': ...}} or a nested mapping, got {value!r}")

    def replace(self, prefix: str, entries: Mapping[str, Any]) -> None:
        """Drop every word under ``prefix`` and add ``entries`` there (a question loaded again, or overridden)."""
        for k in [k for k in self._entries if k.startswith(prefix + ".")]:
            del self._entries[k]
        self.add(entries, prefix)

    def has(self, key: str) -> bool:
        return key in self._entries

    def text(self, key: str, lang: str) -> str:
        """The text of ``key`` in ``lang``; a KeyError naming the closest known keys when unknown."""
        if lang not in LANGS:
            raise KeyError(f"unknown language {lang!r}; expected one of {LANGS}")
        try:
            return self._entries[key][lang]
        except KeyError:
            stem = key.rsplit(".", 1)[0]
            near = sorted(k for k in self._entries if k.startswith(stem + "."))[:8]
            raise KeyError(f"no word {key!r} in the catalog" + (f"; under {stem!r} there are {near}" if near else "")) from None

    def keys(self, prefix: str = "") -> Iterator[str]:
        p = prefix + "." if prefix else ""
        return (k for k in self._entries if k.startswith(p))

    def view(self, lang: str, prefix: str = "") -> "View":
        """Attribute/item access for templates: ``view.title``, ``view.mode["code"]``, ``view.get(k, default)``."""
        return View(self, lang, prefix)

    def lookup(self, lang: str, *prefixes: str):
        """A function ``word(key)`` that tries each prefix in turn (a question's own words, then the global ones)."""

        def word(key: str) -> str:
            for p in prefixes:
                full = f"{p}.{key}" if p else key
                if full in self._entries:
                    return self._entries[full][lang]
            return self.text(f"{prefixes[0]}.{key}" if prefixes and prefixes[0] else key, lang)

        return word


class View:
    """Read-only nested view of a :class:`Words` catalog in one language."""

    def __init__(self, words: Words, lang: str, prefix: str):
        self._words, self._lang, self._prefix = words, lang, prefix

    def _full(self, key: str) -> str:
        return f"{self._prefix}.{key}" if self._prefix else key

    def __getitem__(self, key: str) -> Any:
        full = self._full(str(key))
        if self._words.has(full):
            return self._words.text(full, self._lang)
        if any(True for _ in self._words.keys(full)):
            return View(self._words, self._lang, full)
        return self._words.text(full, self._lang)  # raises a KeyError naming what is known

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError as e:
            raise AttributeError(str(e)) from None

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: str) -> bool:
        return self._words.has(self._full(key))


CATALOG = Words()

CATALOG.add({
    # notes on a dataset form whose files differ from the official ones (dlgrade.data.registry Form.lossy, same
    # English text), shown in the report's provenance appendix; keyed by the form's name
    "data_note": {
        "jpeg-image-folders": {
            "en": "re-encoded as JPEG quality 75: pixels differ slightly from the official files",
            "fa": "دوباره با JPEG و کیفیت ۷۵ ذخیره شده است: پیکسل‌ها اندکی با پرونده‌های رسمی فرق دارند",
        },
    },
})

CATALOG.add({
    "report": {
        "title": {"en": "Deep Learning Homework: Re-run and Graded", "fa": "تمرین‌های یادگیری عمیق: اجرای دوباره و نمره‌دهی"},
        "subtitle": {"en": "Homework sets 6 and 14, every question re-run by dlgrade",
                     "fa": "تمرین‌های ۶ و ۱۴؛ همهٔ پرسش‌ها با dlgrade دوباره اجرا شده‌اند"},
        "contents": {"en": "Contents", "fa": "فهرست مطالب"},
        "summary": {"en": "Grade summary", "fa": "خلاصهٔ نمره‌ها"},
        "side_by_side": {"en": "This run, the full profile and the reference report", "fa": "این اجرا، پروفایل کامل و گزارش مرجع"},
        "measure": {"en": "measure", "fa": "سنجه"},
        "this_run": {"en": "this run", "fa": "این اجرا"},
        "full_run": {"en": "full profile", "fa": "پروفایل کامل"},
        "full_note": {"en": "The full-profile column is a run measured once with this tool at the homework's sizes (seed {seed}, {device}, commit {commit}) and shipped with the question; the reference column is the student report the course published.",
                      "fa": "ستون پروفایل کامل یک اجرای این ابزار با اندازه‌های خود تمرین است (بذر {seed}، {device}، کامیت {commit}) که یک بار اندازه گرفته و همراه پرسش نگه داشته شده است؛ ستون مرجع گزارش دانشجویی است که درس منتشر کرده است."},
        "full_missing": {"en": "No full-profile run has been measured for this question yet: it needs a GPU (run `dlgrade run QUESTION --profile full`, then `dlgrade ship RUN_DIR`). The reference column is the student report the course published.",
                         "fa": "هنوز هیچ اجرای پروفایل کاملی برای این پرسش اندازه گرفته نشده است؛ به GPU نیاز دارد (`dlgrade run QUESTION --profile full` و سپس `dlgrade ship RUN_DIR`). ستون مرجع گزارش دانشجویی است که درس منتشر کرده است."},
        # What a score certifies, per profile (title page and summary).
        "certifies_smoke": {"en": "What this score certifies: at the smoke profile only that every question's steps run end to end and give well-formed results; its models are too small to learn, so it says nothing about how good they are.",
                            "fa": "این نمره چه چیزی را تضمین می‌کند: در پروفایل دودآزمایی فقط این‌که همهٔ گام‌های هر پرسش از ابتدا تا انتها اجرا می‌شوند و خروجی درست‌ساختی می‌دهند؛ مدل‌ها کوچک‌تر از آن‌اند که چیزی یاد بگیرند، پس دربارهٔ کیفیتشان چیزی نمی‌گوید."},
        "certifies_quick": {"en": "What this score certifies: every question was re-run for real at CPU-sized settings, and each graded number lies in a range measured over three seeds to separate the reference implementation from a deliberately broken one (a model at chance, a collapsed embedding, a remedy that hurts); the rubric's comments give both sets of measurements.",
                            "fa": "این نمره چه چیزی را تضمین می‌کند: همهٔ پرسش‌ها واقعاً با اندازه‌های متناسب با CPU دوباره اجرا شده‌اند و هر عدد نمره‌دار در بازه‌ای است که با سه بذر اندازه گرفته شده تا پیاده‌سازی مرجع را از یک پیاده‌سازی عمداً خراب (مدلی در حد حدس تصادفی، تعبیه‌ای فروریخته، راه‌حلی که زیان می‌زند) جدا کند؛ هر دو دسته اندازه‌ها در توضیحات روبریک آمده‌اند."},
        "certifies_full": {"en": "What this score certifies: every question was re-run at the homework's own sizes, and each graded number lies in a range set from the reference report and from full runs measured with this tool.",
                           "fa": "این نمره چه چیزی را تضمین می‌کند: همهٔ پرسش‌ها با همان اندازه‌های تمرین دوباره اجرا شده‌اند و هر عدد نمره‌دار در بازه‌ای است که از گزارش مرجع و از اجراهای کامل همین ابزار به دست آمده است."},
        "appendix": {"en": "Appendix: provenance", "fa": "پیوست: منشأ نتایج"},
        "question": {"en": "Question", "fa": "پرسش"},
        "points": {"en": "Points", "fa": "امتیاز"},
        "passed": {"en": "passed", "fa": "قبول"},
        "failed": {"en": "failed", "fa": "رد"},
        "check": {"en": "Check", "fa": "بررسی"},
        "result": {"en": "Result", "fa": "نتیجه"},
        "value": {"en": "Value", "fa": "مقدار"},
        "expected": {"en": "Expected range", "fa": "بازهٔ مورد انتظار"},
        "verdicts": {"en": "Grader verdicts", "fa": "داوری نمره‌دهنده"},
        "pass": {"en": "PASS", "fa": "قبول"},
        "fail": {"en": "FAIL", "fa": "رد"},
        "total": {"en": "Total", "fa": "جمع"},
        "profile": {"en": "Profile", "fa": "پروفایل"},
        "seed": {"en": "Seed", "fa": "بذر تصادفی"},
        "duration": {"en": "Run time (s)", "fa": "زمان اجرا (ثانیه)"},
        "cached": {"en": "served from cache", "fa": "از حافظهٔ نهان"},
        "generated": {"en": "Generated", "fa": "تاریخ تولید"},
        "versions": {"en": "Library versions", "fa": "نسخهٔ کتابخانه‌ها"},
        "data": {"en": "Data", "fa": "داده"},
        "commit": {"en": "Code commit", "fa": "کامیت کد"},
        "task": {"en": "Task", "fa": "تسک"},
        "fingerprint": {"en": "Fingerprint", "fa": "اثر انگشت"},
        "steps": {"en": "Step durations (s)", "fa": "زمان مراحل (ثانیه)"},
        "file": {"en": "File", "fa": "فایل"},
        "where": {"en": "Found in", "fa": "محل"},
        "sha256": {"en": "sha256", "fa": "sha256"},
        "verified": {"en": "Checksum", "fa": "چک‌سام"},
        "setup": {"en": "Setup", "fa": "پیکربندی"},
        "results": {"en": "Results", "fa": "نتایج"},
        "discussion": {"en": "Discussion", "fa": "بحث"},
        "asked": {"en": "What was asked", "fa": "صورت پرسش"},
        "figure": {"en": "Figure", "fa": "شکل"},
        "table": {"en": "Table", "fa": "جدول"},
        "reference": {"en": "reference", "fa": "مرجع"},
        "profile_note": {"en": "Profile {profile}: {desc}", "fa": "پروفایل {profile}: {desc}"},
        "not_run": {"en": "could not run", "fa": "اجرا نشد"},
        "not_run_banner": {
            "en": "This question could not be run, so it has no results and earns no points. The error below says why and what to do.",
            "fa": "این پرسش اجرا نشد، پس نتیجه‌ای ندارد و امتیازی نمی‌گیرد. پیام خطای زیر علت و راه‌حل را می‌گوید."},
    },
    "profile": {
        "smoke": {"en": "tiny sizes for tests; numbers are not meaningful", "fa": "اندازه‌های بسیار کوچک برای آزمون؛ اعداد معنادار نیستند"},
        "quick": {"en": "reduced data and epochs so the whole report runs in about 12 minutes on an idle 2-core CPU",
                  "fa": "داده و تعداد دوره‌های کمتر تا کل گزارش روی پردازندهٔ دوهسته‌ای بی‌کار در حدود ۱۲ دقیقه اجرا شود"},
        "full": {"en": "the assignment's real sizes", "fa": "اندازه‌های واقعی تمرین"},
    },
    "feedback": {
        "title": {"en": "Grading feedback", "fa": "بازخورد نمره‌دهی"},
        "student": {"en": "Student", "fa": "دانشجو"},
        "total": {"en": "Total", "fa": "جمع"},
        "points": {"en": "Points", "fa": "امتیاز"},
        "check": {"en": "Check", "fa": "بررسی"},
        "result": {"en": "Result", "fa": "نتیجه"},
        "what": {"en": "What happened", "fa": "چه پیش آمد"},
        "fix": {"en": "What to fix", "fa": "چه چیزی را درست کنید"},
        "pass": {"en": "PASS", "fa": "قبول"},
        "partial": {"en": "PARTIAL", "fa": "جزئی"},
        "fail": {"en": "FAIL", "fa": "رد"},
        "mode": {
            "code": {"en": "your code was run and checked", "fa": "کد شما اجرا و بررسی شد"},
            "results": {"en": "your results.json was graded", "fa": "فایل results.json شما نمره‌دهی شد"},
            "missing": {"en": "not submitted", "fa": "تحویل داده نشده"},
            "ambiguous": {"en": "a file of yours could be for more than one question", "fa": "یکی از فایل‌های شما ممکن است برای بیش از یک پرسش باشد"},
        },
        "stage": {
            "unit": {"en": "hidden unit check", "fa": "آزمون واحد پنهان"},
            "rubric": {"en": "rubric check on the task run", "fa": "بررسی روبریک روی اجرای تسک"},
            "integrity": {"en": "integrity check", "fa": "بررسی سازگاری"},
            "results": {"en": "results file", "fa": "فایل نتایج"},
        },
        "profile": {"en": "profile", "fa": "پروفایل"},
        "generated": {"en": "Generated", "fa": "تاریخ تولید"},
        "notes": {"en": "Notes", "fa": "یادداشت‌ها"},
        "error": {"en": "Problem with the submission", "fa": "مشکل تحویل"},
        "problems": {"en": "What went wrong (each stated once)", "fa": "آنچه درست پیش نرفت (هر کدام یک بار)"},
        "cost": {"en": "it cost the checks", "fa": "هزینه‌اش این بررسی‌ها بود:"},
        "see_problem": {"en": "see problem", "fa": "ببینید مشکل"},
        "counted": {"en": "counted in the assignment as", "fa": "در تمرین به حساب آمده"},
        "intro": {
            "en": "Each row is one check: what it tests, whether it passed, the points, what the grader saw and, when it failed, what to change.",
            "fa": "هر سطر یک بررسی است: چه چیزی را می‌آزماید، قبول شد یا نه، امتیاز، آنچه نمره‌دهنده دید و اگر رد شد، چه چیزی را باید تغییر دهید."},
    },
    # What a verdict table's "expected" column shows for a property check or an expected boolean
    # (dlgrade.rubric.grade: the property's name, or repr(True)); ranges are numbers, formatted by the `range` filter.
    "expected": {
        "True": {"en": "True", "fa": "بله"},
        "False": {"en": "False", "fa": "خیر"},
        "normalised": {"en": "normalised", "fa": "نرمال‌شده"},
        "metrics_in_unit_interval": {"en": "every score in [0, 1]", "fa": "همهٔ امتیازها در بازهٔ [0، 1]"},
        "matrix_total": {"en": "matrix total matches the count", "fa": "جمع ماتریس برابر تعداد گزارش‌شده"},
        "data_source_verified": {"en": "data source verified", "fa": "منشأ داده تأییدشده"},
        "range_by_data": {"en": "range for the data used", "fa": "بازهٔ مخصوص دادهٔ به‌کاررفته"},
    },
    "verdict": {
        "timeout": {"en": "Stopped: time limit exceeded (infinite loop or far too slow).", "fa": "متوقف شد: از محدودیت زمان گذشت (حلقهٔ بی‌پایان یا بسیار کند)."},
        "memory": {"en": "Stopped: memory limit exceeded.", "fa": "متوقف شد: از محدودیت حافظه گذشت."},
        "cpu": {"en": "Stopped: CPU-time limit exceeded.", "fa": "متوقف شد: از محدودیت زمان پردازنده گذشت."},
        "crash": {"en": "The process crashed (e.g. a segmentation fault).", "fa": "فرایند از کار افتاد (مثلاً خطای segmentation fault)."},
        "sys_exit": {"en": "Your code called sys.exit() / exit(); return a value instead.", "fa": "کد شما sys.exit() یا exit() را صدا زد؛ به جای آن مقدار برگردانید."},
        "network": {"en": "Your code tried to use the network, which is not allowed while grading.", "fa": "کد شما خواست به شبکه وصل شود که هنگام نمره‌دهی مجاز نیست."},
        "import_error": {"en": "Your module could not be imported.", "fa": "ماژول شما بارگذاری (import) نشد."},
        "not_implemented": {"en": "Not implemented yet (still raises NotImplementedError).", "fa": "هنوز پیاده‌سازی نشده است (هنوز NotImplementedError می‌دهد)."},
        "wrong_type": {"en": "Wrong return type or signature.", "fa": "نوع خروجی یا امضای تابع نادرست است."},
        "shape": {"en": "Wrong output shape.", "fa": "شکل خروجی نادرست است."},
        "nan": {"en": "The output contains NaN or infinite values.", "fa": "خروجی مقدار NaN یا بی‌نهایت دارد."},
        "missing": {"en": "A required function is missing from your module.", "fa": "تابعی که لازم است در ماژول شما نیست."},
        "error": {"en": "Your code raised an exception.", "fa": "کد شما خطا (استثنا) داد."},
        "run_failed": {"en": "The task could not be run with your functions, so this check could not pass.", "fa": "تسک با توابع شما اجرا نشد، پس این بررسی نمی‌توانست قبول شود."},
        "invalid_results": {"en": "Your results.json is not valid, so it could not be graded.", "fa": "فایل results.json شما معتبر نیست و نمره‌دهی نشد."},
        "not_submitted": {"en": "Nothing was submitted for this question.", "fa": "برای این پرسش چیزی تحویل داده نشده است."},
        "wrong": {"en": "The result is wrong.", "fa": "نتیجه نادرست است."},
        "partial": {"en": "Partly right: partial credit.", "fa": "بخشی درست است: امتیاز جزئی."},
        "protocol": {"en": "Your code returned something the grader cannot take back (far too large, or not data).",
                     "fa": "کد شما چیزی برگرداند که نمره‌دهنده نمی‌تواند دریافت کند (بسیار بزرگ یا غیرداده)."},
        "not_reported": {"en": "Not reported: your results do not contain this value.",
                         "fa": "گزارش نشده: نتایج شما این مقدار را ندارد."},
        "not_verified": {"en": "Not credited: the held-out test of the step that reported it did not hold up.",
                         "fa": "امتیاز داده نشد: آزمون نگه‌داشته‌شدهٔ مرحله‌ای که این عدد را گزارش کرد تأیید نشد."},
        "profile_mismatch": {"en": "The results were run at another profile than the one this assignment grades.",
                             "fa": "نتایج با پروفایلی غیر از پروفایل نمره‌دهی این تمرین اجرا شده‌اند."},
        "missing_function": {"en": "A function this check needs is missing.", "fa": "تابعی که این بررسی لازم دارد وجود ندارد."},
        "ambiguous": {"en": "Not graded: it is not clear which question your file answers.", "fa": "نمره‌دهی نشد: روشن نیست فایل شما به کدام پرسش پاسخ می‌دهد."},
        "worker_lost": {"en": "Grading did not finish: worker lost twice (the machine grading this question died "
                               "twice); it is flagged for the instructor's review and scored 0 until then.",
                        "fa": "نمره‌دهی تمام نشد: کارگر دو بار از دست رفت (ماشینی که این پرسش را نمره می‌داد دو بار از کار "
                              "افتاد)؛ پرسش برای بازبینی مدرس علامت خورد و تا آن زمان صفر است."},
        "internal": {"en": "The grader failed on this question; it is flagged for the instructor's review and scored 0 until then.",
                     "fa": "نمره‌دهنده روی این پرسش با خطا روبه‌رو شد؛ پرسش برای بازبینی مدرس علامت خورد و تا آن زمان صفر است."},
    },
})
