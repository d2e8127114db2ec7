"""Which of a student's files answers which question, and the module the sandbox imports for it.

Students hand in ``hw6_q1.py`` (the handout, filled in), a notebook (``Q4.ipynb``, ``HW14.ipynb`` answering several
questions) or a ``.py`` exported from Colab. Every ``.py`` and ``.ipynb`` is read into a module that holds only its
definitions (:mod:`dlgrade.autograde.notebook`: imports, functions, classes, constants); shell escapes, magics,
Colab-only imports and top-level training or downloads are not run, and are listed for the student. A freely named
file is matched to the questions whose functions it defines; a file named after a question answers that one.
Ambiguity is reported, never a silent zero.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass, field
from typing import Sequence

from dlgrade.autograde.notebook import Ambiguity, Extraction, NotebookError, extract, match
from dlgrade.autograde.staging import Staged
from dlgrade.text import clean

CODE_SUFFIXES = (".py", ".ipynb")


@dataclass
class Source:
    """The student's code for one question.

    Attributes:
        file: the student's file (``Q4.ipynb``).
        module_file: the generated module's name in the sandbox (``student_hw14_q4.py``).
        code: the generated module's source (definitions only).
        extraction: what was kept, what was not run, and the line map back to the student's file.
    """

    file: str
    module_file: str
    code: bytes
    extraction: Extraction

    def where(self, text: str) -> str:
        """``"student_hw6_q1.py:37"`` (a sandbox location) as the student's own place: ``"Q1.ipynb cell 7, line 3"``."""
        def repl(m: re.Match) -> str:
            try:
                return f"{self.file} {self.extraction.where(int(m.group(1)))}"
            except Exception:  # noqa: BLE001 - a line the map does not know: keep the generated name
                return m.group(0)

        return re.sub(re.escape(self.module_file) + r":(\d+)", repl, text)

    def not_run(self) -> list[str]:
        """One line per statement not run while grading, e.g. ``cell 2, line 1 (shell): !pip install keras-tuner``."""
        items = [clean(str(n), 200) for n in self.extraction.not_run]
        more = getattr(self.extraction, "not_run_total", len(items)) - len(items)
        return items + ([f"... and {more} more"] if more > 0 else [])

    def issues(self) -> list[str]:
        return [clean(str(i), 300) for i in self.extraction.issues]


@dataclass
class Sources:
    """For each question: its source, or why there is none (an ambiguity), plus notes about unreadable files."""

    by_question: dict[str, Source] = field(default_factory=dict)
    ambiguous: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=512)
def installed(top_level: str) -> bool:
    """Whether a top-level module is installed where the sandbox runs (the same interpreter and packages as here).
    Only looks the name up (``importlib.util.find_spec`` of a top-level name runs none of its code)."""
    if not top_level.isidentifier():
        return False
    try:
        return importlib.util.find_spec(top_level) is not None
    except (ImportError, ValueError):
        return False


def find_sources(staged: Staged, questions: Sequence) -> Sources:
    """Read every code file of a staged submission and decide which question each answers."""
    out = Sources()
    candidates: dict[str, list[tuple[float, bool, str, Extraction]]] = {}
    for name, data in sorted(staged.files.items()):
        if not name.endswith(CODE_SUFFIXES):
            continue
        try:
            ex = extract(data, name, importable=installed)  # e.g. seaborn for a plot: not run, listed, not fatal
        except NotebookError as e:
            out.notes.append(clean(str(e), 400))
            continue
        result = match(ex, list(questions))
        for m in result.matches:
            exact = name.rsplit(".", 1)[0].lower() == m.question.replace(".", "_")
            candidates.setdefault(m.question, []).append((m.score, exact, name, ex))
        for amb in result.ambiguities:
            for qid in amb.questions:
                out.ambiguous.setdefault(qid, clean(amb.message, 500))
    slugs = {q.id: q.slug for q in questions}
    for qid, cands in candidates.items():
        cands.sort(key=lambda c: (c[1], c[0]), reverse=True)  # a file named after the question wins, then the best match
        score, exact, name, ex = cands[0]
        out.by_question[qid] = Source(name, f"student_{slugs[qid]}.py", ex.source.encode("utf-8"), ex)
        out.ambiguous.pop(qid, None)
        for _, _, other, _ in cands[1:]:
            out.notes.append(f"{other} also defines functions of {qid}; {name} was graded for it")
    return out
