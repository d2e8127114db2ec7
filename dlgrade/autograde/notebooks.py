"""Read a student's notebook or notebook-exported script into a module that holds only definitions.

Students hand in Colab/Jupyter notebooks (``Q1.ipynb``, ``HW14.ipynb`` answering several questions) and
``.py`` files exported from them (Colab's *Download .py*, ``jupyter nbconvert --to script``, ``# %%``
scripts). Run as they are, these fail while grading (``get_ipython`` undefined, ``google.colab`` missing,
``!pip`` lines that are not Python, a dataset download blocked by the network guard, an hour of top-level
training). :func:`extract` keeps only the definitions and lists everything else as *not run while
grading*, so the student sees what was skipped and why:

- kept, at top level: imports (except Colab/IPython-only modules), ``def``/``class`` (with decorators),
  constants (assignments to names whose right side calls nothing but a small allow-list of pure
  constructors, see ``PURE_CALLS``), ``try:`` blocks holding only imports and constants (Colab imports in
  them are replaced by ``pass``), and ``from __future__`` imports (moved to the top);
- not run: shell escapes (``!pip``, ``get_ipython().system``), magics (``%matplotlib``, ``%%time``'s
  line), Colab-only imports and calls (``drive.mount``), and every other statement (training, downloads,
  ``tuner.search``, plots, prints, loops, ``with``, ``if`` blocks including ``if __name__ == "__main__"``).
  A constant or a definition whose value, default or decorator needs a name that only code not run
  sets is not run either (it would fail at import).

The module's line map leads each of its lines back to the notebook (:class:`Origin`: cell and line), so
an error at ``student.py:37`` reads "cell 7, line 3". Cells are numbered from 1 counting every cell,
markdown included, top to bottom. A cell that does not parse is reported with the parser's message and
the rest (the other statements of that cell too) is still used.

:func:`match` finds which questions a freely named file answers from the functions it defines, with the
file name and the notebook's titles to break ties, and returns an explicit :class:`Ambiguity` when they
cannot.

This runs in the trusted grader: it parses (``json``, ``nbformat``, ``tokenize``, ``ast``, ``compile``,
``symtable``) and never executes student code. Every byte is treated as hostile: sizes are capped before
parsing, and problems are data (:class:`Issue`). The only exception for bad input is
:class:`NotebookError`, for a file that cannot be read at all.

Example::

    ex = extract("submissions/ali/Q4.ipynb")
    ex.source                       # the module to import in the sandbox
    [str(n) for n in ex.not_run]    # ['cell 2, line 1 (shell): !pip install -q keras-tuner', ...]
    ex.where(37)                    # 'cell 7, line 3'
    m = match(ex, all_tasks())      # m.matches, m.ambiguities, m.message
"""

from __future__ import annotations

import ast
import bisect
import builtins
import codecs
import errno
import io
import json
import os
import re
import stat
import symtable
import tokenize
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Protocol, Sequence

import nbformat

from dlgrade.errors import DlgradeError

__all__ = [
    "Ambiguity", "Extraction", "Issue", "MatchResult", "NotRun", "NotebookError", "Origin", "QuestionMatch",
    "defined_functions", "extract", "match",
]

MAX_FILE_BYTES = 32 * 2**20
"""Largest file read (checked before reading). Notebooks with plotted outputs are a few MB."""
MAX_CODE_CHARS = 300_000
"""Most characters of code read from one file. A homework notebook holds a few tens of thousands; at this
cap the slowest hostile shapes take about 2 s on this project's CPU (parsing alone is ~3 s per MB)."""
MAX_CELLS = 5_000
"""Most cells in a notebook."""
MAX_LISTED = 200
"""Most items listed in ``Extraction.not_run`` and ``Extraction.issues``; the rest are counted."""
SNIPPET_CHARS = 80

COLAB_MODULES = ("google.colab", "IPython", "ipykernel", "ipywidgets", "colabtools")
"""Modules that exist only inside Colab/Jupyter; importing them (and calling what they give) is not run."""

PURE_CALLS = frozenset({
    # builtins that build values
    "range", "dict", "tuple", "list", "set", "frozenset", "int", "float", "str", "bool", "complex", "bytes",
    "slice", "len", "min", "max", "abs", "round", "sorted", "reversed", "zip", "enumerate", "sum", "divmod",
    "chr", "ord",
    # NumPy constructors and dtypes
    "numpy.array", "numpy.asarray", "numpy.arange", "numpy.linspace", "numpy.zeros", "numpy.ones",
    "numpy.full", "numpy.eye", "numpy.dtype", "numpy.float16", "numpy.float32", "numpy.float64",
    "numpy.int8", "numpy.int16", "numpy.int32", "numpy.int64", "numpy.uint8",
    # paths, math and small value types
    "os.path.join", "pathlib.Path", "pathlib.PurePath", "math.sqrt", "math.log", "math.exp", "math.ceil",
    "math.floor", "math.prod", "collections.namedtuple", "collections.OrderedDict", "fractions.Fraction",
    "decimal.Decimal",
})
"""Calls allowed on the right side of a kept constant (fully qualified, after resolving import aliases).
Methods of string literals (``", ".join(NAMES)``) are allowed too."""

PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
"""Cell magics whose body is Python: only their first line is dropped. Any other cell magic
(``%%bash``, ``%%writefile``, ``%%html``...) drops its whole cell."""

_NOTEBOOK_ONLY_NAMES = {"get_ipython": "IPython", "display": "IPython.display"}
_MODULE_NAMES = frozenset({"__name__", "__file__", "__doc__", "__builtins__", "__spec__", "__loader__",
                           "__package__", "__annotations__", "__debug__"})
_BUILTINS = frozenset(dir(builtins))


class NotebookError(DlgradeError):
    """A handed-in file that cannot be read at all (too large, not UTF-8, not JSON, not a notebook, ...).

    The message names the file, says what was wrong and where, and what to do. Problems inside a readable
    file (a cell that does not parse, a cell of the wrong type) are :class:`Issue` s instead.
    """


# ------------------------------------------------------------------------------------------- results


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
        return tuple(i for i in self.issues if i.severity == "error")


def defined_functions(extraction: Extraction) -> tuple[str, ...]:
    """Names of the top-level functions the extracted module defines, in the order they are defined."""
    return extraction.functions


# ------------------------------------------------------------------------------------------- reading


def _clean(text: str, limit: int = SNIPPET_CHARS) -> str:
    """One line for a message: whitespace collapsed, control and bidi-override characters removed."""
    text = " ".join(text[: limit * 4].split())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc" and ch not in _BIDI_CONTROLS)
    return text if len(text) <= limit else text[: limit - 1] + "…"


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\ufeff")


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n < 10 * 2**20 else f"{n / 2**20:.0f} MB"


def _too_large(shown: str, size: int | None, max_bytes: int, is_notebook: bool) -> NotebookError:
    how = f"is {_mb(size)}" if size is not None else "is larger than that"
    if is_notebook:
        fix = ("Clear the outputs (Colab: Edit > Clear all outputs; Jupyter: Cell > All Output > Clear), "
               "save, and download it again")
    else:
        fix = "A Python file this large is not code: remove embedded data and hand in the code only"
    return NotebookError(f"{shown} {how}; files up to {_mb(max_bytes)} are read. {fix}.")


def _read_bytes(path_or_bytes, name: str | None, max_bytes: int) -> tuple[bytes, str]:
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        if name is None:
            raise TypeError("extract() needs name= (the file name as handed in) when given bytes.")
        data = bytes(path_or_bytes)
        if len(data) > max_bytes:
            raise _too_large(_clean(name, 120), len(data), max_bytes, name.lower().endswith(".ipynb"))
        return data, name
    if not isinstance(path_or_bytes, (str, os.PathLike)):
        raise TypeError(f"extract() expects a path or bytes, received {type(path_or_bytes).__name__}.")
    path = Path(path_or_bytes)
    name = name if name is not None else path.name
    shown = _clean(name, 120)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise NotebookError(f"{shown} was not found ({path}).") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise NotebookError(f"{shown} is a symbolic link; hand in the file itself.") from None
        raise NotebookError(f"{shown} could not be read: {e.strerror}.") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotebookError(f"{shown} is not a regular file (a folder, a device or a pipe); hand in the file itself.")
        if st.st_size > max_bytes:
            raise _too_large(shown, st.st_size, max_bytes, name.lower().endswith(".ipynb"))
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:  # it grew while being read
            raise _too_large(shown, None, max_bytes, name.lower().endswith(".ipynb"))
        return b"".join(chunks), name
    finally:
        os.close(fd)


def _decode(data: bytes, shown: str, *, strict: bool, issues: list[Issue]) -> str:
    """Bytes to text: UTF-8 (a BOM is fine), UTF-16 with a BOM (with a warning), or, for a ``.py``, the
    encoding its ``# coding:`` line declares. ``strict`` (notebooks): anything else is a NotebookError;
    otherwise undecodable bytes become U+FFFD with a warning."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as e:
            raise NotebookError(f"{shown} starts like UTF-16 text but byte {e.start} cannot be decoded; "
                                "save it again as UTF-8.") from None
        issues.append(Issue("encoding", f"{shown} is saved as UTF-16; it was read anyway. Save it as UTF-8.",
                            severity="warning"))
        return text
    encoding = "utf-8-sig"
    if not strict:
        try:
            declared, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
            if declared not in ("utf-8", "utf-8-sig"):
                codecs.lookup(declared)
                encoding = declared
        except (SyntaxError, LookupError):
            pass  # a bad coding line: read as UTF-8; the line itself is only a comment here
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        what = f"byte 0x{data[e.start]:02x} on line {line} is not {encoding.replace('-sig', '').upper()}"
        if strict:
            raise NotebookError(f"{shown} is not UTF-8 text ({what}). Download it again from Colab with "
                                "File > Download > .ipynb, and do not open and save it in another editor.") from None
        issues.append(Issue("encoding", f"{shown} is not UTF-8 text ({what}); such bytes were replaced by "
                                        "\ufffd. Save the file as UTF-8.", Origin(None, line, line), "warning"))
        return data.decode(encoding, errors="replace")


def _json_type(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass
class _Unit:
    """A piece of code parsed on its own: one notebook cell, one section of a script, or a whole script."""

    cell: int | None
    text: str
    first_file_line: int | None = None
    whole_cell: bool = True  # a real cell boundary (a %%magic on its first line is a cell magic)

    def origin(self, line: int) -> Origin:
        file_line = None if self.first_file_line is None else self.first_file_line + line - 1
        return Origin(self.cell, line, file_line)


@dataclass
class _Source:
    """The code units of a file and what is known about it besides."""

    units: list[_Unit]
    issues: list[Issue]
    title: str = ""
    headings: list[str] = field(default_factory=list)
    version: tuple[int, int] | None = None


def _source_text(value) -> str | None:
    """A cell's ``source``: a string or a list of strings (nbformat's split form); None if neither."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return "".join(value)
    return None


_CELL_TYPES = {4: ("code", "markdown", "raw"), 3: ("code", "markdown", "raw", "heading", "html")}


def _clean_cell(cell, major: int) -> tuple[dict, str | None]:
    """A minimal cell in ``major``'s layout (outputs left out: they are never used), or a problem."""
    if not isinstance(cell, dict):
        return {}, f"is {_json_type(cell)}, not an object"
    ctype = cell.get("cell_type")
    if ctype not in _CELL_TYPES[major]:
        expected = ", ".join(repr(t) for t in _CELL_TYPES[major])
        return {}, f"has cell_type {_clean(repr(ctype), 30)}; expected one of {expected}"
    key = "input" if major == 3 and ctype == "code" else "source"
    text = _source_text(cell.get(key, ""))
    if text is None:
        return {}, (f"has a {key} that is {_json_type(cell.get(key))}; expected text "
                    "(a string or a list of strings)")
    clean = {"cell_type": ctype, "metadata": {}, key: text}
    if ctype == "code":
        clean["outputs"] = []
        if major == 3:
            clean.update(language="python", collapsed=False)
        else:
            clean["execution_count"] = None
    elif ctype == "heading":
        level = cell.get("level")
        clean["level"] = level if type(level) is int and 1 <= level <= 6 else 1
    return clean, None


def _read_notebook(text: str, shown: str, max_code_chars: int) -> _Source:
    issues: list[Issue] = []
    download = "Download it again from Colab with File > Download > .ipynb (Jupyter: File > Download)"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise NotebookError(f"{shown} is not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}. "
                            f"{download}, and do not edit it by hand.") from None
    except RecursionError:
        raise NotebookError(f"{shown} is not a notebook: its JSON is nested too deeply to read. {download}.") from None
    except (ValueError, MemoryError) as e:
        raise NotebookError(f"{shown} could not be read as JSON ({_clean(str(e), 120)}). {download}.") from None
    if not isinstance(data, dict):
        raise NotebookError(f"{shown} is JSON but not a notebook: it holds {_json_type(data)}, where a notebook "
                            f"holds an object with 'cells'. {download}.")
    major, minor = nbformat.reader.get_version(data) if "nbformat" in data else (None, None)
    if type(major) is not int or major not in (3, 4):
        got = "no nbformat version" if major is None else f"nbformat {_clean(repr(major), 20)}"
        raise NotebookError(f"{shown} has {got}; notebooks in format 3 or 4 are read. Open it in Colab or "
                            "Jupyter and save it again.")
    if type(minor) is not int or minor < 0:
        minor = 0
    cells = _raw_cells(data, major, shown)
    if len(cells) > MAX_CELLS:
        raise NotebookError(f"{shown} has {len(cells)} cells; a notebook with at most {MAX_CELLS} is read.")
    _validate_leniently(data, shown, issues)

    clean_cells = []
    for number, cell in enumerate(cells, 1):
        clean, problem = _clean_cell(cell, major)
        if problem:
            issues.append(Issue("bad_cell", f"Cell {number} {problem}; it was skipped.", Origin(number, 1)))
            clean = {"cell_type": "raw", "metadata": {}, "source": ""}
        clean_cells.append(clean)
    if major == 3:
        clean_nb = {"nbformat": 3, "nbformat_minor": minor, "metadata": {"name": ""},
                    "worksheets": [{"cells": clean_cells, "metadata": {}}]}
    else:
        clean_nb = {"nbformat": 4, "nbformat_minor": minor, "metadata": {}, "cells": clean_cells}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.versions[major].to_notebook_json(clean_nb, minor=minor)
            nb = nbformat.convert(nb, 4)
        cells_v4 = list(nb.cells)
    except Exception as e:  # nbformat's conversion; the cells were cleaned, so this is not expected
        raise NotebookError(f"{shown} could not be converted to the current notebook format "
                            f"({type(e).__name__}: {_clean(str(e), 120)}). Open it in Jupyter and save it again.") from None
    if len(cells_v4) != len(clean_cells):
        raise NotebookError(f"{shown}: reading its {len(clean_cells)} cells gave {len(cells_v4)}; open it in "
                            "Jupyter and save it again.")

    src = _Source([], issues, version=(major, minor))
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    src.title = _notebook_title(metadata)
    language = _notebook_language(metadata)
    if language and not language.lower().startswith(("python", "ipython")):
        issues.append(Issue("not_python", f"{shown} is a {_clean(language, 30)} notebook; its code was read as "
                                          "Python. Hand in a Python notebook.", severity="warning"))
    code_chars, first_markdown = 0, True
    for number, cell in enumerate(cells_v4, 1):
        text = cell.get("source", "")
        if cell.get("cell_type") == "markdown":
            _collect_headings(text, src.headings, first=first_markdown)
            first_markdown = False
        elif cell.get("cell_type") == "code" and text.strip():
            code_chars += len(text)
            if code_chars > max_code_chars:
                issues.append(Issue("code_too_large", f"Cells {number} to {len(cells_v4)} were not read: the "
                                    f"notebook holds more than {max_code_chars:,} characters of code.",
                                    Origin(number, 1)))
                break
            src.units.append(_Unit(number, _normalise_newlines(text)))
    if not src.units and not any(i.code in ("bad_cell", "code_too_large") for i in issues):
        issues.append(Issue("no_code", f"{shown} holds no code cells."))
    return src


def _raw_cells(data: dict, major: int, shown: str) -> list:
    if major == 4:
        cells = data.get("cells")
        if not isinstance(cells, list):
            raise NotebookError(f"{shown} is not a readable notebook: its 'cells' is {_json_type(cells)}, "
                                "expected a list. Download it again from Colab with File > Download > .ipynb.")
        return cells
    worksheets = data.get("worksheets", [])
    if not isinstance(worksheets, list) or not all(isinstance(w, dict) for w in worksheets):
        raise NotebookError(f"{shown} is not a readable notebook (format 3): its 'worksheets' is not a list of "
                            "objects. Open it in Jupyter and save it again.")
    cells = []
    for w in worksheets:
        ws_cells = w.get("cells", [])
        if not isinstance(ws_cells, list):
            raise NotebookError(f"{shown} is not a readable notebook (format 3): a worksheet's 'cells' is "
                                f"{_json_type(ws_cells)}, expected a list. Open it in Jupyter and save it again.")
        cells.extend(ws_cells)
    return cells


def _validate_leniently(data: dict, shown: str, issues: list[Issue]) -> None:
    """nbformat's schema check; a notebook that fails it is still read (with a warning)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(data)
    except nbformat.ValidationError as e:
        first = _clean(str(e).strip().splitlines()[0] if str(e).strip() else "invalid", 160)
        issues.append(Issue("schema", f"{shown} does not fully follow the notebook format ({first}); it was "
                                      "read anyway.", severity="warning"))
    except Exception as e:  # hostile shapes can trip the validator itself
        issues.append(Issue("schema", f"{shown} could not be checked against the notebook format "
                                      f"({type(e).__name__}); it was read anyway.", severity="warning"))


def _notebook_title(metadata: dict) -> str:
    colab = metadata.get("colab")
    for value in ((colab or {}).get("name") if isinstance(colab, dict) else None, metadata.get("name"),
                  metadata.get("title")):
        if isinstance(value, str) and value.strip():
            return _clean(value, 200)
    return ""


def _notebook_language(metadata: dict) -> str:
    for key, sub in (("kernelspec", "language"), ("language_info", "name")):
        value = metadata.get(key)
        if isinstance(value, dict) and isinstance(value.get(sub), str):
            return value[sub]
    return ""


_HINT_CHARS = 20_000


def _collect_headings(text: str, out: list[str], *, first: bool) -> None:
    """Markdown headings (and, for the first markdown cell, its first lines) as hints for :func:`match`."""
    if sum(len(h) for h in out) > _HINT_CHARS:
        return
    lines = [ln.strip() for ln in text[:_HINT_CHARS].split("\n") if ln.strip()]
    for i, ln in enumerate(lines):
        if ln.startswith("#") or (first and i < 3):
            out.append(_clean(ln.lstrip("#").strip(), 200))


_MARKER = re.compile(r"^#\s*(?:In\s*\[[\s\d]*\]\s*:?|%%.*)\s*$")
_MARKDOWN_MARKER = re.compile(r"^#\s*%%.*\[markdown\]", re.IGNORECASE)
_COMMENT_HINT = re.compile(r"^#(?!!|\s*-\*-|\s*coding[:=]|\s*In\s*\[|\s*%%)\s*(.+)$")


def _read_script(text: str, shown: str, max_code_chars: int) -> _Source:
    issues: list[Issue] = []
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise NotebookError(f"{shown} contains NUL bytes (first on line {line}): it is not a text file. Hand in "
                            "the .py file as saved by your editor or by Colab (File > Download > .py).")
    if len(text) > max_code_chars:
        raise NotebookError(f"{shown} holds {len(text):,} characters; Python files up to {max_code_chars:,} "
                            "are read. Remove embedded data and hand in the code only.")
    text = _normalise_newlines(text)
    lines = text.split("\n")
    src = _Source([], issues)
    markers = [i for i, ln in enumerate(lines) if _MARKER.match(ln)]
    if not markers:
        src.units.append(_Unit(None, text, 1, whole_cell=False))
    else:
        head = "\n".join(lines[: markers[0]])
        if head.strip():
            src.units.append(_Unit(None, head, 1, whole_cell=False))
        for k, start in enumerate(markers):
            end = markers[k + 1] if k + 1 < len(markers) else len(lines)
            body = "\n".join(lines[start + 1: end])
            if _MARKDOWN_MARKER.match(lines[start]):
                _collect_headings("\n".join(ln.lstrip("#").strip() for ln in body.split("\n")),
                                  src.headings, first=not src.headings)
            elif body.strip():
                src.units.append(_Unit(k + 1, body, start + 2))
    for ln in lines[:2000]:
        m = _COMMENT_HINT.match(ln)
        if m and len(src.headings) < 200:
            src.headings.append(_clean(m.group(1), 200))
    return src


# ------------------------------------------------------------------------------------------- magics

_MAGIC_HINT = re.compile(r"^[ \t]*(?:[A-Za-z_]\w*(?:[ \t]*,[ \t]*[A-Za-z_]\w*)*[ \t]*=[ \t]*)?[!%]", re.MULTILINE)
_MAGIC_START = re.compile(r"(?:[A-Za-z_]\w*(?:[ \t]*,[ \t]*[A-Za-z_]\w*)*[ \t]*=[ \t]*)?(?P<op>!|%)")
_CELL_MAGIC = re.compile(r"[ \t]*%%([A-Za-z_]\w*)")
_OPEN, _CLOSE = frozenset("([{"), frozenset(")]}")


def _magic_lines(text: str) -> list[tuple[int, int, str, bool]]:
    """Lines that start a logical line with ``!`` or ``%`` (or ``x = !cmd``): ``(first, last, kind,
    inside_block)``.

    Uses the tokenizer, so such text inside strings or brackets is left alone. (Python 3.11's ``tokenize``
    reports ``!`` as an error token and goes on.)
    """
    lines = text.split("\n")
    found: list[tuple[int, int, str, bool]] = []
    depth, indent, at_start, skip_to = 0, 0, True, 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            typ, s, (row, col) = tok.type, tok.string, tok.start
            if typ == tokenize.INDENT:
                indent += 1
            elif typ == tokenize.DEDENT:
                indent = max(0, indent - 1)
            if row <= skip_to:
                continue
            if typ in (tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE,
                       tokenize.ENDMARKER, tokenize.ENCODING):
                if typ == tokenize.NEWLINE or (typ == tokenize.NL and depth == 0):
                    at_start = True
                continue
            if at_start and depth == 0:
                at_start = False
                m = _MAGIC_START.match(tok.line, col)
                if m:
                    last = row
                    while last < len(lines) and lines[last - 1].endswith("\\"):
                        last += 1
                    found.append((row, last, "shell" if m.group("op") == "!" else "magic", indent > 0))
                    skip_to, at_start = last, True
                    continue
            if typ == tokenize.OP:
                if s in _OPEN:
                    depth += 1
                elif s in _CLOSE:
                    depth = max(0, depth - 1)
    except (tokenize.TokenError, SyntaxError):
        pass  # unterminated string/bracket: the parser reports it
    return found


def _top_level_starts(text: str) -> list[int]:
    """Rows where a statement at indentation 0 starts (tokenizer-based, works on code that does not parse)."""
    starts: list[int] = []
    depth, indent, at_start = 0, 0, True
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            typ = tok.type
            if typ == tokenize.INDENT:
                indent += 1
            elif typ == tokenize.DEDENT:
                indent = max(0, indent - 1)
            elif typ == tokenize.NEWLINE or (typ == tokenize.NL and depth == 0):
                at_start = True
            elif typ in (tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER, tokenize.ENCODING):
                pass
            else:
                if at_start and depth == 0 and indent == 0:
                    starts.append(tok.start[0])
                at_start = False
                if typ == tokenize.OP:
                    if tok.string in _OPEN:
                        depth += 1
                    elif tok.string in _CLOSE:
                        depth = max(0, depth - 1)
    except (tokenize.TokenError, SyntaxError):
        pass
    return starts


_COLUMN_ZERO = re.compile(r"^[^\s#]", re.MULTILINE)
_CONTINUATION = re.compile(r"(?:except|else|elif|finally)\b")


def _chunks(text: str) -> list[tuple[int, int]]:
    """``(first_row, end_row_exclusive)`` of each top-level statement (``except``/``else`` joined to their
    ``try``/``if``, decorators to their ``def``)."""
    lines = text.split("\n")
    if len(_COLUMN_ZERO.findall(text)) <= 1:  # one statement at most: no need to tokenize (it can be slow)
        return [(1, len(lines) + 1)]
    bounds: list[int] = []
    after_decorator = False
    for row in _top_level_starts(text):
        s = lines[row - 1].lstrip()
        if bounds and (after_decorator or _CONTINUATION.match(s)):
            after_decorator = after_decorator and s.startswith("@")
            continue
        bounds.append(row)
        after_decorator = s.startswith("@")
    if not bounds:
        return [(1, len(lines) + 1)]
    if bounds[0] != 1:
        bounds[0] = 1
    return list(zip(bounds, bounds[1:] + [len(lines) + 1]))


# ------------------------------------------------------------------------------------------- building

_DEF_RE = re.compile(r"^(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)|^([A-Za-z_]\w*)[ \t]*=[ \t]*lambda\b", re.MULTILINE)

_PURE_NODES = (
    ast.Constant, ast.Name, ast.Attribute, ast.Tuple, ast.List, ast.Set, ast.Dict, ast.BinOp, ast.UnaryOp,
    ast.BoolOp, ast.Compare, ast.IfExp, ast.Subscript, ast.Slice, ast.Starred, ast.JoinedStr,
    ast.FormattedValue, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
    ast.comprehension, ast.keyword, ast.arguments, ast.arg, ast.Call, ast.expr_context, ast.operator,
    ast.unaryop, ast.cmpop, ast.boolop,
)
_TRY_TYPES = tuple(t for t in (ast.Try, getattr(ast, "TryStar", None)) if t is not None)
_DEF_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _parse_error(e: Exception, first: int, end: int) -> tuple[int, str, str]:
    """``(row, issue code, message)`` for a parse failure of the rows ``first`` to ``end - 1``."""
    if isinstance(e, SyntaxError):
        row = e.lineno + first - 1 if isinstance(e.lineno, int) and 1 <= e.lineno <= end - first else first
        return row, "syntax_error", _clean(e.msg or "invalid syntax", 160)
    if isinstance(e, (RecursionError, MemoryError)):
        return first, "too_complex", "too deeply nested for Python to parse"
    return first, "syntax_error", _clean(str(e), 160)


def _is_colab_module(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in COLAB_MODULES)


def _root_name(node: ast.AST) -> str | None:
    for _ in range(10_000):
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            return None
    return None


def _walk_shallow(node: ast.AST) -> Iterable[ast.AST]:
    """Like ``ast.walk`` (iterative), but not into the bodies of nested functions, lambdas and classes."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if n is not node and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(n))


def _bound_names(stmt: ast.stmt) -> set[str]:
    """Names a top-level statement binds at module level (approximately: what it assigns, imports, defines)."""
    if isinstance(stmt, ast.Expr):
        return set()  # (a walrus at top level of an expression statement is not looked for)
    names: set[str] = set()
    nodes = stmt.targets if isinstance(stmt, ast.Assign) else (
        [stmt.target] if isinstance(stmt, (ast.AugAssign, ast.AnnAssign)) else [stmt])
    for n in (m for node in nodes for m in _walk_shallow(node)):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            names.add(n.id)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            for a in n.names:
                if a.name != "*":
                    names.add(a.asname or a.name.split(".")[0])
        elif isinstance(n, _DEF_TYPES):
            names.add(n.name)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            names.add(n.name)
        elif isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name:
            names.add(n.name)
    return names


def _target_names(target: ast.expr) -> list[str] | None:
    """Names assigned by an assignment target made only of names (``a``, ``a, b``, ``[a, *b]``), else None."""
    out, stack = [], [target]
    while stack:
        t = stack.pop()
        if isinstance(t, ast.Name):
            out.append(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            stack.extend(t.elts)
        elif isinstance(t, ast.Starred):
            stack.append(t.value)
        else:
            return None
    return out


def _free_names(exprs: Iterable[ast.AST | None]) -> list[str]:
    """Names an expression reads when evaluated (lambda bodies excluded; comprehension variables removed)."""
    loads: list[str] = []
    local: set[str] = set()
    stack = [e for e in exprs if e is not None]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Name):
            (loads.append(n.id) if isinstance(n.ctx, ast.Load) else local.add(n.id))
            continue
        if isinstance(n, ast.Lambda):
            stack.extend(n.args.defaults)
            stack.extend(d for d in n.args.kw_defaults if d is not None)
            continue
        stack.extend(ast.iter_child_nodes(n))
    seen, out = set(), []
    for name in loads:
        if name not in local and name not in seen:
            seen.add(name)
            out.append(name)
    return out


def _is_main_guard(stmt: ast.stmt) -> bool:
    if not isinstance(stmt, ast.If) or not isinstance(stmt.test, ast.Compare):
        return False
    t = stmt.test
    if len(t.ops) != 1 or not isinstance(t.ops[0], ast.Eq):
        return False
    sides = [t.left, t.comparators[0]]
    return (any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))


def _def_time_exprs(stmt: ast.stmt, future_annotations: bool) -> list[ast.AST]:
    """Expressions a ``def``/``class`` evaluates when it is defined (decorators, defaults, bases...)."""
    exprs: list[ast.AST] = list(stmt.decorator_list)
    if isinstance(stmt, ast.ClassDef):
        exprs += stmt.bases + [k.value for k in stmt.keywords]
    else:
        a = stmt.args
        exprs += a.defaults + [d for d in a.kw_defaults if d is not None]
        if not future_annotations:
            params = a.posonlyargs + a.args + a.kwonlyargs + [p for p in (a.vararg, a.kwarg) if p]
            exprs += [p.annotation for p in params if p.annotation is not None]
            if stmt.returns is not None:
                exprs.append(stmt.returns)
    return exprs


@dataclass
class _Segment:
    lines: list[tuple[str, Origin]]
    unit: int
    stmt: ast.stmt | None = None
    kind: str = "code"  # code | future
    defines: tuple[str, ...] = ()
    origin: Origin | None = None
    rows: tuple[int, int] = (0, 0)  # first and last row in its unit


class _Builder:
    """Classifies top-level statements unit by unit and assembles the kept ones into a module."""

    def __init__(self, shown: str, importable: Callable[[str], bool] | None):
        self.shown = shown
        self.importable = importable
        self.segments: list[_Segment] = []
        self.bound: set[str] = set(_MODULE_NAMES)
        self.dropped_bound: dict[str, Origin] = {}
        self.colab_names: set[str] = set()
        self.aliases: dict[str, str] = {}
        self.star_import = False
        self.future_annotations = False
        self.not_run: list[NotRun] = []
        self.issues: list[Issue] = []
        self.unusable: list[str] = []
        self.docstrings: list[str] = []
        self.unit_index = 0
        self.original_lines: list[str] = []
        self.magic_rows: set[int] = set()

    # ---- units

    def add(self, unit: _Unit) -> None:
        self.unit_index += 1
        text = unit.text
        if "\x00" in text:
            self._issue("bad_text", f"{self._where(unit, 1)} contains NUL characters, which Python code cannot "
                                    "hold; it was skipped.", unit.origin(1))
            self._note_unusable(text)
            return
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:
            line = text.count("\n", 0, e.start) + 1
            self._issue("bad_text", f"{self._where(unit, line)} holds characters that are not valid text "
                                    "(lone surrogates); it was skipped.", unit.origin(line))
            self._note_unusable(text)
            return
        if not text.strip():
            return
        self.original_lines = text.split("\n")
        text, magics = self._neutralise_magics(unit, text)
        if text is None:
            return
        self.magic_rows = {r for first, last, _, _ in magics for r in range(first, last + 1)}
        lines = text.split("\n")
        body = self._parse(unit, text, lines)
        dropped_starts: list[int] = []
        dropped_ends: list[int] = []
        for stmt in body:  # in row order
            if not self._classify(stmt, unit, lines):
                dropped_starts.append(self._start_row(stmt))
                dropped_ends.append(stmt.end_lineno or stmt.lineno)
        for row, last, kind, inside_block in magics:
            i = bisect.bisect_right(dropped_starts, row) - 1
            if i >= 0 and row <= dropped_ends[i]:
                continue  # inside a block that is not run anyway; that block is listed
            note = "inside a block; replaced by pass" if inside_block else ""
            self._not_run(kind, unit.origin(row), self.original_lines[row - 1], note)

    @staticmethod
    def _where(unit: _Unit, line: int) -> str:
        return _capital(str(unit.origin(line)))

    def _issue(self, code: str, message: str, origin: Origin | None = None, severity: str = "error") -> None:
        self.issues.append(Issue(code, message, origin, severity))

    def _not_run(self, kind: str, origin: Origin, source: str, note: str = "") -> None:
        self.not_run.append(NotRun(kind, origin, _clean(source), note))

    def _note_unusable(self, text: str) -> None:
        for m in _DEF_RE.finditer(text[:MAX_CODE_CHARS]):
            self.unusable.append(m.group(1) or m.group(2))

    def _neutralise_magics(self, unit: _Unit, text: str) -> tuple[str | None, list[tuple[int, int, str, bool]]]:
        """Blank out ``!``/``%`` lines (``pass`` inside a block) so the rest parses; returns them too, as
        ``(first_row, last_row, kind, inside_block)``."""
        if not _MAGIC_HINT.search(text):
            return text, []
        lines = text.split("\n")
        found: list[tuple[int, int, str, bool]] = []
        first = next((i for i, ln in enumerate(lines) if ln.strip()), 0)
        m = _CELL_MAGIC.match(lines[first])
        if m and unit.whole_cell:
            if m.group(1) not in PYTHON_CELL_MAGICS:
                self._not_run("magic", unit.origin(first + 1), lines[first],
                              f"the whole cell (%%{m.group(1)}) is not Python")
                return None, []
            found.append((first + 1, first + 1, "magic", False))
            lines[first] = ""
        for row, last, kind, inside_block in _magic_lines("\n".join(lines)):
            found.append((row, last, kind, inside_block))
            for r in range(row, last + 1):
                indent = lines[r - 1][: len(lines[r - 1]) - len(lines[r - 1].lstrip())]
                lines[r - 1] = indent + "pass" if (r == row and inside_block) else ""
        found.sort()
        return "\n".join(lines), found

    def _parse(self, unit: _Unit, text: str, lines: list[str]) -> list[ast.stmt]:
        try:
            return ast.parse(text).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
        body: list[ast.stmt] = []
        pending = [_chunks(text)]  # runs of consecutive statements; a run that fails is split in two
        while pending:
            run = pending.pop()
            first, end = run[0][0], run[-1][1]
            try:
                tree = ast.parse("\n".join(lines[first - 1: end - 1]))
                ast.increment_lineno(tree, first - 1)
                body.extend(tree.body)
                continue
            except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
                if len(run) > 1:
                    half = len(run) // 2
                    pending += [run[half:], run[:half]]  # the first half is parsed first
                    continue
                row, code, msg = _parse_error(e, first, end)
            span = f"line {first}" if end - 1 <= first else f"lines {first}-{end - 1}"
            where = f"cell {unit.cell}, {span}" if unit.cell is not None else span
            self._issue(code, f"{self._where(unit, row)}: {_sentence(msg)} The code at {where} was not used; fix it "
                              "and hand it in again.", unit.origin(row))
            self._note_unusable("\n".join(lines[first - 1: end - 1]))
        body.sort(key=lambda s: s.lineno)
        return body

    # ---- statements

    @staticmethod
    def _start_row(stmt: ast.stmt) -> int:
        rows = [stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", ())]
        return min(rows)

    def _classify(self, stmt: ast.stmt, unit: _Unit, lines: list[str]) -> bool:
        """Keep or drop one top-level statement; True when kept."""
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            return self._import(stmt, unit, lines)
        if isinstance(stmt, _DEF_TYPES):
            return self._definition(stmt, unit, lines)
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            return self._assignment(stmt, unit, lines)
        if isinstance(stmt, _TRY_TYPES):
            return self._try(stmt, unit, lines)
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            if isinstance(stmt.value.value, str) and len(self.docstrings) < 200:
                self.docstrings.append(stmt.value.value[:_HINT_CHARS])
            return True  # a docstring or markdown exported as a string: nothing to run
        if isinstance(stmt, ast.Pass):
            return True
        note = 'an if __name__ == "__main__" block' if _is_main_guard(stmt) else ""
        self._drop(stmt, unit, lines, self._call_kind(stmt), note)
        return False

    def _drop(self, stmt: ast.stmt, unit: _Unit, lines: list[str], kind: str, note: str = "") -> None:
        row = self._start_row(stmt)
        origin = unit.origin(row)
        self._not_run(kind, origin, self._snippet(stmt, row), note)
        for name in _bound_names(stmt):
            self.dropped_bound.setdefault(name, origin)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.unusable.append(stmt.name)

    def _snippet(self, stmt: ast.stmt, row: int) -> str:
        """The statement's first lines as the student wrote them (before ``!``/``%`` lines were blanked)."""
        lines = self.original_lines
        last = stmt.end_lineno or row
        out = []
        for r in range(row, min(last, row + 3) + 1):
            b = lines[r - 1].encode("utf-8")
            if r == last and stmt.end_col_offset is not None and not self.magic_rows.intersection((r,)):
                b = b[: stmt.end_col_offset]
            if r == row == stmt.lineno:
                b = b[stmt.col_offset:]
            out.append(b.decode("utf-8", "replace"))
        return "\n".join(out)

    def _call_kind(self, stmt: ast.stmt) -> str:
        simple = isinstance(stmt, (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign))
        if not simple:
            text = "\n".join(self.original_lines[stmt.lineno - 1: stmt.end_lineno or stmt.lineno])
            if "get_ipython" not in text and not any(name in text for name in self.colab_names):
                return "statement"
        has_call = False
        for n in ast.walk(stmt):
            if not isinstance(n, ast.Call):
                continue
            has_call = True
            f = n.func
            if (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Call)
                    and isinstance(f.value.func, ast.Name) and f.value.func.id == "get_ipython"):
                return "shell" if f.attr in ("system", "getoutput") else "magic"
            if _root_name(f) in self.colab_names:
                return "colab"
        return "call" if has_call and simple else "statement"

    def _keep(self, stmt: ast.stmt, unit: _Unit, lines: list[str], *, replace: dict[int, str] | None = None,
              text: str | None = None, kind: str = "code", defines: Sequence[str] = ()) -> None:
        first = self._start_row(stmt)
        if text is not None:
            seg_lines = [(text, unit.origin(first))]
        else:
            last = stmt.end_lineno or first
            seg_lines = []
            for r in range(first, last + 1):
                if replace and r in replace:
                    seg_lines.append((replace[r], unit.origin(r)))
                    continue
                b = lines[r - 1].encode("utf-8")
                if r == last and stmt.end_col_offset is not None:
                    b = b[: stmt.end_col_offset]
                if r == first == stmt.lineno:
                    b = b[stmt.col_offset:]
                seg_lines.append((b.decode("utf-8", "replace"), unit.origin(r)))
        self.segments.append(_Segment(seg_lines, self.unit_index, stmt, kind, tuple(defines), unit.origin(first),
                                      (first, stmt.end_lineno or first)))

    def _missing(self, names: Iterable[str]) -> list[str]:
        """Names that are not defined at this point by kept code (nor builtins)."""
        out = []
        for name in names:
            if name in self.bound or (name in _BUILTINS and name not in self.dropped_bound):
                continue
            if self.star_import and name not in self.dropped_bound:
                continue  # may come from the star import
            out.append(name)
        return out

    def _why_missing(self, names: list[str]) -> str:
        parts = []
        for name in names[:3]:
            if name in self.colab_names or (name in _NOTEBOOK_ONLY_NAMES and name not in self.dropped_bound):
                parts.append(f"{name}, which exists only in Colab/Jupyter")
            elif name in self.dropped_bound:
                parts.append(f"{name}, which only code not run sets ({self.dropped_bound[name]})")
            else:
                parts.append(f"{name}, which is not defined before it")
        return "uses " + "; ".join(parts)

    def _import(self, stmt: ast.Import | ast.ImportFrom, unit: _Unit, lines: list[str]) -> bool:
        if isinstance(stmt, ast.ImportFrom):
            module = stmt.module or ""
            if module == "__future__" and not stmt.level:
                if any(a.name == "annotations" for a in stmt.names):
                    self.future_annotations = True
                self._keep(stmt, unit, lines, kind="future")
                return True
            if stmt.level:
                self._drop(stmt, unit, lines, "import", "relative imports do not work in a single file")
                return False
            if _is_colab_module(module) or any(_is_colab_module(f"{module}.{a.name}") for a in stmt.names):
                self._drop(stmt, unit, lines, "colab")
                self.colab_names.update(a.asname or a.name for a in stmt.names)
                return False
            if not self._importable(module):
                self._drop(stmt, unit, lines, "import", f"{module.split('.')[0]} is not installed where grading runs")
                return False
            for a in stmt.names:
                if a.name == "*":
                    self.star_import = True
                else:
                    self.bound.add(a.asname or a.name)
                    self.aliases[a.asname or a.name] = f"{module}.{a.name}"
            self._keep(stmt, unit, lines)
            return True

        kept, colab, missing = [], [], []
        for a in stmt.names:
            if _is_colab_module(a.name):
                colab.append(a)
            elif not self._importable(a.name):
                missing.append(a)
            else:
                kept.append(a)
        def listed(aliases):
            return "import " + ", ".join(f"{a.name} as {a.asname}" if a.asname else a.name for a in aliases)

        if colab:
            self._not_run("colab", unit.origin(stmt.lineno), listed(colab))
            self.colab_names.update(a.asname or a.name.split(".")[0] for a in colab)
        if missing:
            self._not_run("import", unit.origin(stmt.lineno), listed(missing), "not installed where grading runs")
        for a in colab + missing:
            self.dropped_bound.setdefault(a.asname or a.name.split(".")[0], unit.origin(stmt.lineno))
        if not kept:
            return False
        for a in kept:
            local = a.asname or a.name.split(".")[0]
            self.bound.add(local)
            self.aliases[local] = a.name if a.asname else local
        if colab or missing:
            self._keep(stmt, unit, lines, text=listed(kept))
        else:
            self._keep(stmt, unit, lines)
        return True

    def _importable(self, module: str) -> bool:
        if self.importable is None or not module:
            return True
        try:
            return bool(self.importable(module.split(".")[0]))
        except Exception:
            return True

    def _definition(self, stmt, unit: _Unit, lines: list[str]) -> bool:
        missing = self._missing(_free_names(_def_time_exprs(stmt, self.future_annotations)))
        if missing:
            self._drop(stmt, unit, lines, "statement",
                       f"not defined: its decorators, defaults or bases {self._why_missing(missing)}")
            return False
        self.bound.add(stmt.name)
        self._keep(stmt, unit, lines, defines=(stmt.name,))
        return True

    def _qualified(self, func: ast.expr) -> str | None:
        parts = []
        node = func
        for _ in range(100):
            if isinstance(node, ast.Attribute):
                parts.append(node.attr)
                node = node.value
            else:
                break
        if not isinstance(node, ast.Name):
            return None
        if node.id in self.aliases:
            root = self.aliases[node.id]
        elif node.id in _BUILTINS and node.id not in self.bound and node.id not in self.dropped_bound:
            root = node.id
        else:
            return None
        return ".".join([root] + parts[::-1])

    def _impure(self, exprs: Iterable[ast.AST | None]) -> str | None:
        """What makes these expressions more than a constant (a call, ``await``...), or None."""
        stack = [e for e in exprs if e is not None]
        while stack:
            n = stack.pop()
            if not isinstance(n, _PURE_NODES):
                return type(n).__name__.lower()
            if isinstance(n, ast.Call):
                f = n.func
                method_of_literal = (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Constant)
                                     and isinstance(f.value.value, str) and not f.attr.startswith("_")
                                     and hasattr(str, f.attr))
                if not method_of_literal:
                    qual = self._qualified(f)
                    if qual not in PURE_CALLS:
                        return "a call"
            if isinstance(n, ast.Lambda):
                stack.extend(n.args.defaults)
                stack.extend(d for d in n.args.kw_defaults if d is not None)
                continue  # the body runs only when called
            stack.extend(ast.iter_child_nodes(n))
        return None

    def _assignment(self, stmt, unit: _Unit, lines: list[str]) -> bool:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        names: list[str] = []
        for t in targets:
            got = _target_names(t)
            if got is None:
                self._drop(stmt, unit, lines, self._call_kind(stmt))
                return False
            names += got
        exprs: list[ast.AST | None] = [stmt.value]
        if isinstance(stmt, ast.AnnAssign) and not self.future_annotations:
            exprs.append(stmt.annotation)
        if self._impure(exprs):
            self._drop(stmt, unit, lines, self._call_kind(stmt))
            return False
        reads = _free_names(exprs) + (names if isinstance(stmt, ast.AugAssign) else [])
        missing = self._missing(reads)
        if missing:
            self._drop(stmt, unit, lines, "statement", self._why_missing(missing))
            return False
        self.bound.update(names)
        lambdas = tuple(names) if isinstance(stmt.value, ast.Lambda) and len(names) == 1 else ()
        self._keep(stmt, unit, lines, defines=lambdas)
        return True

    def _try(self, stmt, unit: _Unit, lines: list[str]) -> bool:
        """Keep ``try:`` blocks that only import (and set constants); Colab imports inside become ``pass``."""
        inner: list[ast.stmt] = stmt.body + stmt.orelse + stmt.finalbody
        for h in stmt.handlers:
            inner += h.body
        handler_types = [h.type for h in stmt.handlers if h.type is not None]
        ok = not self._impure(handler_types) and not self._missing(_free_names(handler_types))
        colab_imports = []
        local: set[str] = set()
        for s in inner:
            if not ok:
                break
            if isinstance(s, ast.Import):
                local.update(a.asname or a.name.split(".")[0] for a in s.names)
                if any(_is_colab_module(a.name) for a in s.names):
                    ok = all(_is_colab_module(a.name) for a in s.names)
                    colab_imports.append(s)
            elif isinstance(s, ast.ImportFrom):
                local.update(a.asname or a.name for a in s.names)
                if s.level or (s.module or "") == "__future__":
                    ok = False
                elif _is_colab_module(s.module or "") or any(_is_colab_module(f"{s.module}.{a.name}") for a in s.names):
                    colab_imports.append(s)
                elif any(a.name == "*" for a in s.names):
                    ok = False
            elif isinstance(s, (ast.Assign, ast.AnnAssign)):
                targets = s.targets if isinstance(s, ast.Assign) else [s.target]
                ok = (all(_target_names(t) is not None for t in targets) and not self._impure([s.value])
                      and not [n for n in self._missing(_free_names([s.value])) if n not in local])
                for t in targets:
                    local.update(_target_names(t) or [])
            elif not isinstance(s, ast.Pass):
                ok = False
        # a Colab import must have its lines to itself to be replaced by ``pass``
        if ok:
            for c in colab_imports:
                span = range(c.lineno, (c.end_lineno or c.lineno) + 1)
                before = lines[c.lineno - 1].encode("utf-8")[: c.col_offset]
                if before.strip() or any(o is not c and (o.lineno in span or (o.end_lineno or o.lineno) in span)
                                         for o in inner):
                    ok = False
        if not ok:
            self._drop(stmt, unit, lines, self._call_kind(stmt))
            return False
        replace: dict[int, str] = {}
        for c in colab_imports:
            self._not_run("colab", unit.origin(c.lineno), lines[c.lineno - 1], "inside try:, replaced by pass")
            replace[c.lineno] = lines[c.lineno - 1].encode("utf-8")[: c.col_offset].decode() + "pass"
            for r in range(c.lineno + 1, (c.end_lineno or c.lineno) + 1):
                replace[r] = ""
            self.colab_names.update(a.asname or a.name.split(".")[0] for a in c.names)
        for s in inner:
            if s in colab_imports:
                continue
            if isinstance(s, ast.Import):
                for a in s.names:
                    self.bound.add(a.asname or a.name.split(".")[0])
                    self.aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(s, ast.ImportFrom):
                for a in s.names:
                    self.bound.add(a.asname or a.name)
                    self.aliases[a.asname or a.name] = f"{s.module}.{a.name}"
            elif isinstance(s, (ast.Assign, ast.AnnAssign)):
                for t in (s.targets if isinstance(s, ast.Assign) else [s.target]):
                    self.bound.update(_target_names(t) or [])
        self._keep(stmt, unit, lines, replace=replace)
        return True

    # ---- the module

    def finish(self, name: str, fmt: str, src: _Source) -> Extraction:
        header = ["# -*- coding: utf-8 -*-",
                  f"# dlgrade: the definitions kept from {_safe_comment(name)}; the rest was not run."]
        source, line_map = self._assemble(header)
        try:
            compile(source, "<student>", "exec", dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
            self._drop_uncompilable()
            source, line_map = self._assemble(header)
            try:
                compile(source, "<student>", "exec", dont_inherit=True)
            except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as e:
                self._issue("compile_error", f"The definitions kept from {self.shown} do not compile together "
                                             f"({_clean(str(e), 160)}); none of them could be used.")
                self.segments = []
                source, line_map = self._assemble(header)
        self._warn_about_globals()

        functions: dict[str, None] = {}
        classes: dict[str, None] = {}
        for seg in self.segments:
            for n in seg.defines:
                functions.pop(n, None)  # a later definition wins, as when the cells run in order
                functions[n] = None
            if isinstance(seg.stmt, ast.ClassDef):
                classes[seg.stmt.name] = None
        unusable = [n for n in dict.fromkeys(self.unusable) if n not in functions]

        issues = src.issues + self.issues
        issues.sort(key=lambda i: (i.origin is not None, (i.origin.cell or 0, i.origin.file_line or i.origin.line) if i.origin else (0, 0)))
        if len(issues) > MAX_LISTED:
            extra = len(issues) - MAX_LISTED
            issues = issues[:MAX_LISTED] + [Issue("truncated", f"… and {extra} more problems in {self.shown}.")]
        not_run = sorted(self.not_run, key=lambda n: (n.origin.cell or 0, n.origin.file_line or n.origin.line))
        headings = list(src.headings)
        title = src.title
        if fmt == "py" and self.docstrings:
            first = self.docstrings[0].strip().split("\n", 1)[0].strip()
            if first.lower().endswith(".ipynb"):
                title = title or _clean(first, 200)
            for i, doc in enumerate(self.docstrings):
                _collect_headings(doc, headings, first=(i == 0))
        return Extraction(
            name=name, format=fmt, source=source, line_map=tuple(line_map), not_run=tuple(not_run[:MAX_LISTED]),
            not_run_total=len(not_run), issues=tuple(issues), functions=tuple(functions), classes=tuple(classes),
            unusable_functions=tuple(unusable), title=title, headings=tuple(headings[:200]),
            nbformat_version=src.version,
        )

    def _assemble(self, header: list[str]) -> tuple[str, list[Origin | None]]:
        out: list[str] = list(header)
        line_map: list[Origin | None] = [None] * len(header)
        ordered = [s for s in self.segments if s.kind == "future"] + [s for s in self.segments if s.kind != "future"]
        previous: _Segment | None = None
        for seg in ordered:
            if previous is not None and (seg.unit != previous.unit or seg.rows[0] > previous.rows[1] + 1):
                out.append("")
                line_map.append(None)
            previous = seg
            for text, origin in seg.lines:
                out.append(text)
                line_map.append(origin)
        return "\n".join(out) + "\n", line_map

    def _drop_uncompilable(self) -> None:
        """Find the kept statements that do not compile on their own (``def f(a, a)``, ``nonlocal`` at the
        wrong place, a future import after code...) and move them to not run."""
        futures = [s for s in self.segments if s.kind == "future"]
        prefix = "\n".join(t for s in futures for t, _ in s.lines)
        kept = []
        for seg in self.segments:
            text = "\n".join(t for t, _ in seg.lines)
            try:
                compile((prefix + "\n" if seg.kind != "future" and prefix else "") + text, "<student>", "exec",
                        dont_inherit=True)
                kept.append(seg)
            except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as e:
                where = seg.origin
                if isinstance(e, SyntaxError) and isinstance(e.lineno, int):
                    offset = e.lineno - (prefix.count("\n") + 1 if seg.kind != "future" and prefix else 0)
                    if 1 <= offset <= len(seg.lines):
                        where = seg.lines[offset - 1][1]
                msg = _clean(getattr(e, "msg", None) or str(e) or type(e).__name__, 160)
                self._issue("compile_error", f"{_capital(str(where))}: {msg}; this code was not used.", where)
                self._not_run("statement", seg.origin, seg.lines[0][0], "does not compile")
                self.unusable.extend(seg.defines)
        self.segments = kept

    def _warn_about_globals(self) -> None:
        """Warn when a kept function reads a global that only code not run sets (it fails when called)."""
        module_bound = set(self.bound)
        warned = 0
        for seg in self.segments:
            if not isinstance(seg.stmt, _DEF_TYPES) or warned >= 50:
                continue
            try:
                used = _globals_used("\n".join(t for t, _ in seg.lines))
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            for name in sorted(used - module_bound):
                if name in self.colab_names:
                    what, code = "which exists only in Colab/Jupyter", "notebook_only_name"
                    fix = "do not use it in code that is graded"
                elif name in self.dropped_bound:
                    what = f"which only code not run while grading sets ({self.dropped_bound[name]})"
                    code = "uses_not_run_name"
                    fix = "pass it in as an argument or create it inside the function"
                elif name in _NOTEBOOK_ONLY_NAMES and name not in _BUILTINS:
                    what, code = "which exists only inside notebooks", "notebook_only_name"
                    fix = f"import it ({_NOTEBOOK_ONLY_NAMES[name]}) or remove it"
                else:
                    continue
                self._issue(code, f"{seg.stmt.name} ({seg.origin}) uses {name}, {what}; {fix}.", seg.origin, "warning")
                warned += 1


def _globals_used(text: str) -> set[str]:
    """Global names that the functions and classes in ``text`` read (from ``symtable``)."""
    used: set[str] = set()
    stack = list(symtable.symtable(text, "<student>", "exec").get_children())
    while stack:
        table = stack.pop()
        for sym in table.get_symbols():
            if sym.is_referenced() and sym.is_global():
                used.add(sym.get_name())
        stack.extend(table.get_children())
    return used


def _sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else text + "."


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _safe_comment(name: str) -> str:
    return re.sub(r"[^\w .()\-]", "_", name)[:120]


# ------------------------------------------------------------------------------------------- extract


def extract(path_or_bytes: str | os.PathLike | bytes, name: str | None = None, *, max_bytes: int = MAX_FILE_BYTES,
            max_code_chars: int = MAX_CODE_CHARS, importable: Callable[[str], bool] | None = None) -> Extraction:
    """Read a notebook (``.ipynb``) or a Python file (``.py``) into a module that holds only definitions.

    Args:
        path_or_bytes: the file (a path; a ``str`` is a path, never content) or its bytes.
        name: the file's name as handed in (it decides ``.ipynb`` vs ``.py`` and gives hints to
            :func:`match`; it may include folders, e.g. ``"hw6/Q4.ipynb"``). Defaults to the path's name;
            required with bytes.
        max_bytes: larger files are refused before they are read or parsed.
        max_code_chars: most characters of code read (a larger ``.py`` is refused; a notebook's later
            cells are skipped with an issue).
        importable: optional ``top_level_module_name -> bool``; imports of modules it rejects are not run
            (kind ``import``) instead of failing the whole module at import.

    Returns:
        An :class:`Extraction`; problems inside the file are in its ``issues``.

    Raises:
        NotebookError: the file cannot be read at all (missing, a link, too large, not UTF-8, not JSON,
            not a notebook, an unknown extension). The message says what to do.
        TypeError: ``path_or_bytes`` is neither a path nor bytes, or bytes without ``name``.
    """
    data, name = _read_bytes(path_or_bytes, name, max_bytes)
    shown = _clean(name, 120)
    base = PurePosixPath(name.replace("\\", "/")).name
    suffix = base.rsplit(".", 1)[-1].lower() if "." in base else ""
    decode_issues: list[Issue] = []
    if suffix == "ipynb":
        text = _decode(data, shown, strict=True, issues=decode_issues)
        src = _read_notebook(text, shown, max_code_chars)
    elif suffix == "py":
        text = _decode(data, shown, strict=False, issues=decode_issues)
        src = _read_script(text, shown, max_code_chars)
    else:
        raise NotebookError(f"{shown} is neither a notebook (.ipynb) nor a Python file (.py); hand in the "
                            "notebook (Colab: File > Download > .ipynb) or the .py file.")
    src.issues[:0] = decode_issues
    builder = _Builder(shown, importable)
    for unit in src.units:
        builder.add(unit)
    return builder.finish(name, suffix, src)


# ------------------------------------------------------------------------------------------- matching


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
    text = unicodedata.normalize("NFKC", text[:_HINT_CHARS]).translate(_DIGITS).lower()
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
                used.append(f"{label} ({_clean(text, 40)})")
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
    shown = _clean(name, 120)
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
