"""Match a freely named hand-in to the questions it answers, from the functions it defines.

See :func:`match`. Hints (``hw14``, ``Q4``, ``HW14 - Q4``, Persian ``تمرین ۱۴ سوال ۴``) come from the file
name, the caller, the folders, the notebook's title and its headings.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Protocol, Sequence

from dlgrade.autograde.notebook.extraction import HINT_CHARS, Extraction, clean_text

class QuestionLike(Protocol):
    id: str
    slug: str
    student_functions: tuple[str, ...]


@dataclass(frozen=True)
class QuestionMatch:
    """A question the file answers.

    Attributes:
        question: its id (``hw6.q1``).
        score: share of its student functions the module defines (0 to 1).
        defined: its student functions that the module defines.
        missing: its student functions that the module does not define (``unusable`` included).
        unusable: its student functions that the file tries to define but that could not be used.
        by: how it was matched: ``file name``, ``functions``, ``functions + hint (...)``, ``hint (...)``.
    """

    question: str
    score: float
    defined: tuple[str, ...]
    missing: tuple[str, ...]
    unusable: tuple[str, ...]
    by: str


@dataclass(frozen=True)
class Ambiguity:
    """Several questions ask for the functions the file defines, and nothing says which one it answers."""

    questions: tuple[str, ...]
    functions: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class MatchResult:
    """The questions a file answers (``matches``), the ones it cannot be told apart between
    (``ambiguities``), and ``message`` saying why nothing matched when nothing did."""

    name: str
    matches: tuple[QuestionMatch, ...]
    ambiguities: tuple[Ambiguity, ...] = ()
    message: str = ""


_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_HW_WORD = r"(?:(?<![a-z])(?:hw|homework|assignment)|تمرین|تکلیف)"
_Q_WORD = r"(?:(?<![a-z])(?:q|question|problem)|سوال|سؤال|پرسش|مسئله|مساله)"
_NUM = r"0*(\d{1,3})(?!\d)"
_SEP = r"[\s_\-.:#,/|()\[\]]{0,4}"
_PAIR = re.compile(_HW_WORD + _SEP + _NUM + _SEP + _Q_WORD + _SEP + _NUM)
_PAIR_REVERSED = re.compile(_Q_WORD + _SEP + _NUM + _SEP + _HW_WORD + _SEP + _NUM)
_HW_ONLY = re.compile(_HW_WORD + _SEP + _NUM)
_Q_ONLY = re.compile(_Q_WORD + _SEP + _NUM)
_ID_NUMBERS = re.compile(r"hw(\d+)[._]q(\d+)$", re.IGNORECASE)
_COPY_SUFFIX = re.compile(r"(?:\s*\(\d+\)|[\s_-]*copy(?:\s*\d+)?)+$", re.IGNORECASE)
_COPY_PREFIX = re.compile(r"^copy of\s+", re.IGNORECASE)  # Colab's File > Save a copy


def _plain_stem(file_name: str) -> str:
    """The file name without extension and without what copies add (``Copy of x``, ``x (1)``, ``x - Copy``)."""
    stem = file_name.rsplit(".", 1)[0] if "." in file_name else file_name
    return _COPY_PREFIX.sub("", _COPY_SUFFIX.sub("", stem))


@dataclass(frozen=True)
class _Hints:
    pairs: frozenset[tuple[int, int]]
    homeworks: frozenset[int]
    questions: frozenset[int]


def _hints(text: str) -> _Hints:
    text = unicodedata.normalize("NFKC", text[:HINT_CHARS]).translate(_DIGITS).lower()
    pairs = {(int(a), int(b)) for a, b in _PAIR.findall(text)}
    pairs |= {(int(b), int(a)) for a, b in _PAIR_REVERSED.findall(text)}
    return _Hints(frozenset(pairs), frozenset(int(n) for n in _HW_ONLY.findall(text)),
                  frozenset(int(n) for n in _Q_ONLY.findall(text)))


def _numbers(question: QuestionLike) -> tuple[int, int] | None:
    m = _ID_NUMBERS.search(str(question.id)) or _ID_NUMBERS.search(str(question.slug))
    return (int(m.group(1)), int(m.group(2))) if m else None


def _natural(qid: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", qid))


def _squash(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_DIGITS).lower()
    return re.sub(r"[^a-z0-9]", "", text)


def _hint_sources(extraction: Extraction, hints: Sequence[str]) -> list[tuple[str, str]]:
    parts = [p for p in extraction.name.replace("\\", "/").split("/") if p]
    sources = [("the file name", _plain_stem(parts[-1]) if parts else "")]
    sources += [("the hints given", h) for h in hints]
    sources += [("the folder", p) for p in parts[:-1][::-1]]
    if extraction.title:
        sources.append(("the notebook's title", extraction.title))
    sources += [("a heading", h) for h in extraction.headings[:50]]
    return sources


def _narrow(group: list, numbers: dict[str, tuple[int, int] | None], sources: list[tuple[str, str]],
            sibling_homeworks: set[int]) -> tuple[list, list[str]]:
    """Narrow competing questions with hints, strongest source first; a hint that would rule out every
    candidate is ignored."""
    current, used = list(group), []
    tests = (
        lambda h, n: n in h.pairs,
        lambda h, n: n[0] in h.homeworks,
        lambda h, n: n[1] in h.questions,
    )
    for label, text in sources:
        if len(current) == 1:
            break
        h = _hints(text)
        for test in tests:
            sub = [q for q in current if numbers[q.id] is not None and test(h, numbers[q.id])]
            if sub and len(sub) < len(current):
                current = sub
                used.append(f"{label} ({clean_text(text, 40)})")
    if len(current) > 1 and sibling_homeworks:
        sub = [q for q in current if numbers[q.id] is not None and numbers[q.id][0] in sibling_homeworks]
        if sub and len(sub) < len(current):
            current = sub
            used.append("the other questions the file answers")
    return current, used


def _question_match(q: QuestionLike, extraction: Extraction, by: str) -> QuestionMatch:
    funcs = tuple(q.student_functions)
    defined = set(extraction.functions)
    unusable = set(extraction.unusable_functions) - defined
    have = tuple(f for f in funcs if f in defined)
    return QuestionMatch(q.id, round(len(have) / len(funcs), 4) if funcs else 0.0, have,
                         tuple(f for f in funcs if f not in defined), tuple(f for f in funcs if f in unusable), by)


def _listing(items: Sequence[str], final: str = "and") -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {final} " + items[-1]


def match(extraction: Extraction, questions: Iterable[QuestionLike], *, hints: Sequence[str] = ()) -> MatchResult:
    """Which questions a freely named file answers, from the functions it defines.

    A file named after a question (``hw6_q1.ipynb``, ``HW6-Q1.py``, ``hw6.q1 (1).ipynb``) answers that
    question only. Otherwise every question with at least one of its ``student_functions`` defined (or
    tried: see ``Extraction.unusable_functions``) is a candidate, scored by the share defined. Questions
    that compete for the same names (hw6.q4 and hw14.q4 both ask for ``build_model``) are told apart by
    the names only one of them asks for, then by hints (``hw14``, ``Q4``, ``HW14 - Q4``, Persian
    ``تمرین ۱۴ سوال ۴``) in the file name, ``hints`` (e.g. the assignment's folder), the file's folders,
    the notebook's title and its headings, in that order, then by the homework of the other questions
    the file answers. What is still tied is returned as an :class:`Ambiguity` with a message for the
    student. With no function evidence, a file name or title naming exactly one question matches it.

    Args:
        extraction: from :func:`extract`.
        questions: objects with ``id`` (``"hw6.q1"``), ``slug`` (``"hw6_q1"``) and ``student_functions``.
        hints: extra text that says which assignment the file is for (strongest after the file name).

    Returns:
        A :class:`MatchResult`; ``message`` explains an empty result.
    """
    questions = list(questions)
    name = extraction.name.replace("\\", "/").split("/")[-1] or extraction.name
    shown = clean_text(name, 120)
    ext = "." + name.rsplit(".", 1)[1] if "." in name else ""
    key = _squash(_plain_stem(name))
    for q in questions:
        if key and key in (_squash(q.slug), _squash(q.id)):
            return MatchResult(extraction.name, (_question_match(q, extraction, "file name"),))

    numbers = {q.id: _numbers(q) for q in questions}
    answered = set(extraction.functions) | set(extraction.unusable_functions)
    candidates = [q for q in questions if answered & set(q.student_functions)]
    sources = _hint_sources(extraction, hints)
    if not candidates:
        named_by = [s for s in sources if s[0] != "a heading"]
        named_by.append(("the headings", "\n".join(extraction.headings)))
        for label, text in named_by:
            h = _hints(text)
            named = [q for q in questions if numbers[q.id] in h.pairs]
            if len(named) == 1:
                return MatchResult(extraction.name, (_question_match(named[0], extraction, f"hint ({label})"),))
        defined = extraction.functions
        listing = f" (it defines {_listing(defined[:8])})" if defined else ""
        broken = " Some of its code could not be read: see the problems listed." if extraction.errors else ""
        return MatchResult(extraction.name, (), (), (
            f"{shown} defines none of the functions the questions ask for{listing}. Name your functions as "
            f"in the handout, or name the file after its question (e.g. hw6_q1{ext or '.ipynb'}).{broken}"))

    # group questions that compete for the same function names
    parent = {q.id: q.id for q in candidates}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for f in answered:
        askers = [q.id for q in candidates if f in q.student_functions]
        for other in askers[1:]:
            parent[find(other)] = find(askers[0])
    groups: dict[str, list] = {}
    for q in candidates:
        groups.setdefault(find(q.id), []).append(q)

    resolved: list[tuple[QuestionLike, str]] = []
    open_groups: list[list] = []
    for group in groups.values():
        if len(group) == 1:
            resolved.append((group[0], "functions"))
            continue
        unique = []
        for q in group:
            others = set().union(*(set(o.student_functions) for o in group if o is not q))
            if answered & (set(q.student_functions) - others):
                unique.append(q)
        if unique:
            resolved += [(q, "functions") for q in unique]
        else:
            open_groups.append(group)

    ambiguities = []
    for group in open_groups:
        siblings = {numbers[q.id][0] for q, _ in resolved if numbers[q.id] is not None}
        chosen, used = _narrow(group, numbers, sources, siblings)
        if len(chosen) == 1:
            resolved.append((chosen[0], "functions + hint in " + "; ".join(used)))
            continue
        ids = sorted((q.id for q in chosen), key=_natural)
        shared = sorted(answered.intersection(*(set(q.student_functions) for q in chosen)))
        shared = shared or sorted(answered & set().union(*(set(q.student_functions) for q in chosen)))
        who = f"both {ids[0]} and {ids[1]} ask" if len(ids) == 2 else f"{_listing(ids)} all ask"
        slugs = [next(q.slug for q in chosen if q.id == i) + (ext or ".ipynb") for i in ids]
        example = ""
        if numbers[ids[-1]] is not None:
            hw, qn = numbers[ids[-1]]
            example = (f" A title such as \"HW{hw} - Q{qn}\" in the notebook's first cell also works."
                       if ext.lower() == ".ipynb" else "")
        message = (f"{shown} defines {_listing(shared)}, which {who} for; name the file "
                   f"{_listing(slugs, 'or')}.{example}")
        ambiguities.append(Ambiguity(tuple(ids), tuple(shared), message))

    matches = sorted((_question_match(q, extraction, by) for q, by in resolved), key=lambda m: _natural(m.question))
    return MatchResult(extraction.name, tuple(matches), tuple(ambiguities))
