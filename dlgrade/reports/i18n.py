"""Fixed report words in both languages (the discussion texts live in the templates)."""

WORDS = {
    "en": {
        "title": "Deep Learning Homework: Re-run and Graded",
        "subtitle": "Homework sets 6 and 14, every question re-run by dlgrade",
        "contents": "Contents", "summary": "Grade summary", "appendix": "Appendix: provenance",
        "question": "Question", "points": "Points", "passed": "passed", "failed": "failed", "check": "Check",
        "result": "Result", "value": "Value", "expected": "Expected range", "verdicts": "Grader verdicts",
        "pass": "PASS", "fail": "FAIL", "total": "Total", "profile": "Profile", "seed": "Seed",
        "duration": "Run time (s)", "cached": "served from cache", "generated": "Generated",
        "versions": "Library versions", "data": "Data", "commit": "Code commit", "task": "Task",
        "fingerprint": "Fingerprint", "steps": "Step durations (s)", "file": "File", "where": "Found in",
        "sha256": "sha256", "verified": "Checksum", "setup": "Setup", "results": "Results", "discussion": "Discussion",
        "asked": "What was asked", "figure": "Figure", "table": "Table", "reference": "reference",
        "profile_note": "Profile {profile}: {desc}",
        "not_run": "could not run",
        "not_run_banner": "This question could not be run, so it has no results and earns no points. The error below says why and what to do.",
    },
    "fa": {
        "title": "تمرین‌های یادگیری عمیق: اجرای دوباره و نمره‌دهی",
        "subtitle": "تمرین‌های ۶ و ۱۴؛ همهٔ پرسش‌ها با dlgrade دوباره اجرا شده‌اند",
        "contents": "فهرست مطالب", "summary": "خلاصهٔ نمره‌ها", "appendix": "پیوست: منشأ نتایج",
        "question": "پرسش", "points": "امتیاز", "passed": "قبول", "failed": "رد", "check": "بررسی",
        "result": "نتیجه", "value": "مقدار", "expected": "بازهٔ مورد انتظار", "verdicts": "داوری نمره‌دهنده",
        "pass": "قبول", "fail": "رد", "total": "جمع", "profile": "پروفایل", "seed": "بذر تصادفی",
        "duration": "زمان اجرا (ثانیه)", "cached": "از حافظهٔ نهان", "generated": "تاریخ تولید",
        "versions": "نسخهٔ کتابخانه‌ها", "data": "داده", "commit": "کامیت کد", "task": "تسک",
        "fingerprint": "اثر انگشت", "steps": "زمان مراحل (ثانیه)", "file": "فایل", "where": "محل",
        "sha256": "sha256", "verified": "چک‌سام", "setup": "پیکربندی", "results": "نتایج", "discussion": "بحث",
        "asked": "صورت پرسش", "figure": "شکل", "table": "جدول", "reference": "مرجع",
        "profile_note": "پروفایل {profile}: {desc}",
        "not_run": "اجرا نشد",
        "not_run_banner": "این پرسش اجرا نشد، پس نتیجه‌ای ندارد و امتیازی نمی‌گیرد. پیام خطای زیر علت و راه‌حل را می‌گوید.",
    },
}

PROFILE_DESC = {
    "en": {"smoke": "tiny sizes for tests; numbers are not meaningful",
           "quick": "reduced data and epochs so the whole report runs in minutes on a 2-core CPU",
           "full": "the assignment's real sizes"},
    "fa": {"smoke": "اندازه‌های بسیار کوچک برای آزمون؛ اعداد معنادار نیستند",
           "quick": "داده و تعداد دوره‌های کمتر تا کل گزارش روی پردازندهٔ دوهسته‌ای در چند دقیقه اجرا شود",
           "full": "اندازه‌های واقعی تمرین"},
}
