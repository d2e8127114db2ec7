"""What reading a student's notebook or script gives: the module of kept definitions, its line map back to
the notebook, what was not run while grading, and the problems found. Plain data; see
:mod:`dlgrade.autograde.notebook` for how it is made."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from dlgrade.errors import DlgradeError

MAX_LISTED = 200
"""Most items listed in ``Extraction.not_run`` and ``Extraction.issues``; the rest are counted."""
SNIPPET_CHARS = 80
"""Length of the source shown for a statement that was not run."""


class NotebookError(DlgradeError):
    """A handed-in file that cannot be read at all (too large, not UTF-8, not JSON, not a notebook, ...).

    The message names the file, says what was wrong and where, and what to do. Problems inside a readable
    file (a cell that does not parse, a cell of the wrong type) are :class:`Issue` s instead.
    """


@dataclass(frozen=True)
class Origin:
    """Where a line came from.

    Attributes:
        cell: cell number, from 1, counting every cell (markdown too); for a ``.py`` file, the number of
            the ``# In[ ]:``/``# %%`` section, or ``None`` when it has none.
        line: line within the cell (from 1); for a ``.py`` file without sections, the line in the file.
        file_line: line in the handed-in ``.py`` file; ``None`` for notebooks.
    """

    cell: int | None
    line: int
    file_line: int | None = None

    def __str__(self) -> str:
        if self.cell is None:
            return f"line {self.file_line if self.file_line is not None else self.line}"
        where = f"cell {self.cell}, line {self.line}"
        return where if self.file_line is None else f"line {self.file_line} ({where})"


@dataclass(frozen=True)
class NotRun:
    """A top-level statement that is not run while grading.

    Attributes:
        kind: ``shell`` (``!cmd``), ``magic`` (``%magic``), ``colab`` (Colab/IPython-only import or call),
            ``import`` (an import that cannot work while grading), ``call`` (a statement that calls
            something: training, downloads, prints, plots) or ``statement`` (anything else: loops,
            ``with``, ``if`` blocks, or a definition that needs a name only code not run sets).
        origin: where it starts.
        source: its first ~80 characters, whitespace collapsed, control characters removed.
        note: why, when the kind does not say it.
    """

    kind: str
    origin: Origin
    source: str
    note: str = ""

    @property
    def cell(self) -> int | None:
        return self.origin.cell

    @property
    def line(self) -> int:
        return self.origin.line

    def __str__(self) -> str:
        return f"{self.origin} ({self.kind}): {self.source}" + (f" [{self.note}]" if self.note else "")


@dataclass(frozen=True)
class Issue:
    """A problem found in the file, in English, for the student.

    Attributes:
        code: ``syntax_error``, ``too_complex``, ``bad_cell``, ``bad_text``, ``code_too_large``, ``schema``,
            ``encoding``, ``not_python``, ``no_code``, ``compile_error``, ``uses_not_run_name``,
            ``notebook_only_name``, ``truncated``.
        message: what was wrong, where, and what to do.
        origin: where, when it is about one place.
        severity: ``error`` (some of the code could not be used) or ``warning`` (it was used, but something
            may fail or was read leniently).
    """

    code: str
    message: str
    origin: Origin | None = None
    severity: str = "error"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Extraction:
    """What :func:`extract` made of one file.

    Attributes:
        name: the file's name as handed in.
        format: ``ipynb`` or ``py``.
        source: the module holding what was kept (UTF-8 text; compiles).
        line_map: for each line of ``source`` (index ``i`` is line ``i + 1``), where it came from; ``None``
            for lines that dlgrade wrote (the two header comments, blank lines between cells).
        not_run: top-level code not run while grading, in file order (at most ``MAX_LISTED``).
        not_run_total: how many there were in all.
        issues: problems, in file order (at most ``MAX_LISTED``, then one ``truncated`` issue).
        functions: top-level functions the module defines (``def`` or ``name = lambda``), in order.
        classes: top-level classes the module defines.
        unusable_functions: functions the file tries to define that are not in the module (syntax error,
            not run); used by :func:`match` so that a broken answer still reaches its question.
        title: the notebook's own name (Colab keeps it in the metadata; a Colab ``.py`` export in its first
            docstring), or ``""``.
        headings: markdown headings and the first lines of the first markdown cell (comments and
            docstrings for a ``.py``), used as hints by :func:`match`.
        nbformat_version: ``(major, minor)`` for notebooks.
    """

    name: str
    format: str
    source: str
    line_map: tuple[Origin | None, ...]
    not_run: tuple[NotRun, ...]
    not_run_total: int
    issues: tuple[Issue, ...]
    functions: tuple[str, ...]
    classes: tuple[str, ...]
    unusable_functions: tuple[str, ...]
    title: str = ""
    headings: tuple[str, ...] = ()
    nbformat_version: tuple[int, int] | None = None

    def origin(self, module_line: int) -> Origin | None:
        """Where line ``module_line`` (from 1) of :attr:`source` came from, or ``None``."""
        if 1 <= module_line <= len(self.line_map):
            return self.line_map[module_line - 1]
        return None

    def where(self, module_line: int) -> str:
        """``"cell 7, line 3"`` (or ``"line 37"`` for a ``.py``) for a line of :attr:`source`; ``""`` if unknown."""
        o = self.origin(module_line)
        return str(o) if o is not None else ""

    @property
    def errors(self) -> tuple[Issue, ...]:
        """The issues of severity ``error`` (some code could not be used)."""
        return tuple(i for i in self.issues if i.severity == "error")


def clean_text(text: str, limit: int = SNIPPET_CHARS) -> str:
    """One line for a message: whitespace collapsed, control and bidi-override characters removed."""
    text = " ".join(text[: limit * 4].split())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\ufeff")


HINT_CHARS = 20_000
"""Most characters of text read for hints (titles, headings) per source."""


def collect_headings(text: str, out: list[str], *, first: bool) -> None:
    """Append markdown headings (and, with ``first``, the first lines) of ``text`` to ``out``: the hints
    :func:`dlgrade.autograde.matching.match` reads."""
    if sum(len(h) for h in out) > HINT_CHARS:
        return
    lines = [ln.strip() for ln in text[:HINT_CHARS].split("\n") if ln.strip()]
    for i, ln in enumerate(lines):
        if ln.startswith("#") or (first and i < 3):
            out.append(clean_text(ln.lstrip("#").strip(), 200))


