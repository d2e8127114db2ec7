"""The questions: one folder each, found in this package, in course folders and in installed packages.

- Built-in: every sub-folder of this package with an ``__init__.py`` that exposes ``QUESTION``.
- Course folders: ``--course DIR`` or ``DLGRADE_COURSE`` (colon-separated); every ``DIR/<slug>/`` with an
  ``__init__.py`` exposing ``QUESTION`` is loaded as package ``dlgrade_course_<hash>.<slug>``. Its modules
  import each other relatively (``from .spec import CONFIGS``).
- Installed packages declaring the entry point group ``dlgrade.questions``: each entry point loads a
  :class:`~dlgrade.kit.question.Question`, or a module exposing ``QUESTION``.

A question from a course folder or an entry point with the id of a built-in one replaces it (a course can
override a question); the others are added after the built-in ones. Each question's words are registered in
the catalog under its id.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import sys
import types
from dataclasses import replace
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Iterable

from dlgrade.errors import UsageError
from dlgrade.kit.question import Question
from dlgrade.words import CATALOG

HERE = Path(__file__).resolve().parent
ENTRY_POINT_GROUP = "dlgrade.questions"
_COURSES: list[Path] = []


def _order(q: Question) -> tuple:
    m = re.match(r"^hw(\d+)\.q(\d+)$", q.id)
    return (0, int(m.group(1)), int(m.group(2)), q.id) if m else (1, 0, 0, q.id)


def set_courses(dirs: Iterable[Path]) -> None:
    """Use these course folders (in addition to ``DLGRADE_COURSE``); clears the cache of loaded questions."""
    _COURSES[:] = [Path(d).resolve() for d in dirs]
    _all.cache_clear()


def course_dirs() -> list[Path]:
    env = [Path(p).resolve() for p in os.environ.get("DLGRADE_COURSE", "").split(os.pathsep) if p]
    return list(dict.fromkeys(_COURSES + env))


def course_package(course: Path) -> str:
    """The import name under which the questions of ``course`` are loaded."""
    return "dlgrade_course_" + hashlib.sha256(str(course).encode()).hexdigest()[:10]


def _load_question(module_name: str, where: str) -> Question:
    module = importlib.import_module(module_name)
    q = getattr(module, "QUESTION", None)
    if not isinstance(q, Question):
        raise UsageError(f"{where}: {module_name} does not expose QUESTION (a dlgrade.kit.question.Question)")
    return q


def _builtin() -> list[Question]:
    return [_load_question(f"{__name__}.{d.name}", f"dlgrade/questions/{d.name}")
            for d in sorted(HERE.iterdir()) if (d / "__init__.py").is_file()]


def _course(course: Path) -> list[Question]:
    if not course.is_dir():
        raise UsageError(f"course folder {course} does not exist (from --course or DLGRADE_COURSE)")
    parent = course_package(course)
    if parent not in sys.modules:
        pkg = types.ModuleType(parent, f"dlgrade course questions from {course}")
        pkg.__path__ = [str(course)]
        sys.modules[parent] = pkg
    out = []
    for d in sorted(course.iterdir()):
        if not (d / "__init__.py").is_file():
            continue
        name = f"{parent}.{d.name}"
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, d / "__init__.py", submodule_search_locations=[str(d)])
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except Exception as e:
                del sys.modules[name]
                raise UsageError(f"course question {d} could not be loaded: {type(e).__name__}: {e}") from e
        q = _load_question(name, str(d))
        out.append(replace(q, origin=f"course folder {course}"))
    return out


def _entry_points() -> list[Question]:
    out = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        obj = ep.load()
        q = obj if isinstance(obj, Question) else getattr(obj, "QUESTION", None)
        if not isinstance(q, Question):
            raise UsageError(f"entry point {ep.name} = {ep.value} ({ENTRY_POINT_GROUP}) gives {type(obj).__name__}, "
                             "expected a Question or a module exposing QUESTION")
        out.append(replace(q, origin=f"entry point {ep.name} ({ep.value})"))
    return out


@lru_cache(maxsize=1)
def _all() -> tuple[Question, ...]:
    by_id: dict[str, Question] = {q.id: q for q in sorted(_builtin(), key=_order)}
    for q in _entry_points() + [q for c in course_dirs() for q in _course(c)]:
        by_id[q.id] = q
    questions = sorted(by_id.values(), key=_order)
    for q in questions:
        CATALOG.replace(q.id, dict(q.words))
    return tuple(questions)


def all_questions() -> list[Question]:
    """Every question, in report order."""
    return list(_all())


def get_question(question_id: str) -> Question:
    """The question with this id, or a UsageError listing the known ones."""
    for q in _all():
        if q.id == question_id:
            return q
    known = ", ".join(q.id for q in _all())
    raise UsageError(f"unknown question {question_id!r}; known questions: {known} (see `dlgrade list`)")


__all__ = ["all_questions", "get_question", "set_courses", "course_dirs", "course_package", "ENTRY_POINT_GROUP"]
