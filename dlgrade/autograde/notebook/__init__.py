"""Read a student's notebook or notebook-exported script into a module that holds only definitions.

Students hand in Colab/Jupyter notebooks (``Q1.ipynb``, ``HW14.ipynb`` answering several questions) and
``.py`` files exported from them (Colab's *Download .py*, ``jupyter nbconvert --to script``, ``# %%``
scripts). Run as they are, these fail while grading (``get_ipython`` undefined, ``google.colab`` missing,
``!pip`` lines that are not Python, a dataset download blocked by the network guard, an hour of top-level
training). :func:`extract` keeps the definitions (imports, functions, classes, constants) and lists
everything else as *not run while grading*, so the student sees what was skipped and why. The rules are
in :mod:`dlgrade.autograde.definitions`; the results are plain data (:mod:`dlgrade.autograde.extraction`);
:func:`match` (:mod:`dlgrade.autograde.matching`) finds the questions a freely named file answers. All of
it is importable from here.

This module reads the file: a size cap before anything is read, UTF-8 (UTF-16 with a BOM and a ``.py``'s
``# coding:`` line are honoured), JSON with its line and column on error, ``nbformat`` 4 or 3 (v3 is
converted; the schema is checked leniently: a notebook that does not follow it is still read, with a
warning), cells of the wrong shape skipped one by one, and ``# In[ ]:``/``# %%`` sections of scripts.

The module's line map leads each of its lines back to the notebook (:class:`Origin`), so an error at
``student.py:37`` reads "cell 7, line 3". Cells are numbered from 1 counting every cell, markdown
included, top to bottom.

This runs in the trusted grader: it parses (``json``, ``nbformat``, ``tokenize``, ``ast``, ``compile``,
``symtable``) and never executes student code. Every byte is treated as hostile; problems are data
(:class:`Issue`). The only exception for bad input is :class:`NotebookError`, for a file that cannot be
read at all.

Example::

    ex = extract("submissions/ali/Q4.ipynb")
    ex.source                       # the module to import in the sandbox
    [str(n) for n in ex.not_run]    # ['cell 2, line 1 (shell): !pip install -q keras-tuner', ...]
    ex.where(37)                    # 'cell 7, line 3'
    m = match(ex, all_tasks())      # m.matches, m.ambiguities, m.message
"""

from __future__ import annotations

import codecs
import errno
import io
import json
import os
import re
import stat
import tokenize
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

import nbformat

from dlgrade.autograde.notebook.definitions import COLAB_MODULES, PURE_CALLS, PYTHON_CELL_MAGICS, CodeUnit, ModuleBuilder
from dlgrade.autograde.notebook.extraction import (
    MAX_LISTED, Extraction, Issue, NotebookError, NotRun, Origin, clean_text, collect_headings,
)
from dlgrade.autograde.notebook.matching import Ambiguity, MatchResult, QuestionMatch, match

__all__ = [
    "Ambiguity", "Extraction", "Issue", "MatchResult", "NotRun", "NotebookError", "Origin", "QuestionMatch",
    "defined_functions", "extract", "match", "COLAB_MODULES", "PURE_CALLS", "PYTHON_CELL_MAGICS", "MAX_LISTED",
]

MAX_FILE_BYTES = 32 * 2**20
"""Largest file read (checked before reading). Notebooks with plotted outputs are a few MB."""
MAX_CODE_CHARS = 300_000
"""Most characters of code read from one file. A homework notebook holds a few tens of thousands; at this
cap the slowest hostile shapes take about 2 s on this project's CPU (parsing alone is ~3 s per MB)."""
MAX_CELLS = 5_000
"""Most cells in a notebook."""


def defined_functions(extraction: Extraction) -> tuple[str, ...]:
    """Names of the top-level functions the extracted module defines, in the order they are defined."""
    return extraction.functions


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
            raise _too_large(clean_text(name, 120), len(data), max_bytes, name.lower().endswith(".ipynb"))
        return data, name
    if not isinstance(path_or_bytes, (str, os.PathLike)):
        raise TypeError(f"extract() expects a path or bytes, received {type(path_or_bytes).__name__}.")
    path = Path(path_or_bytes)
    name = name if name is not None else path.name
    shown = clean_text(name, 120)
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
class _Source:
    """The code units of a file and what is known about it besides."""

    units: list[CodeUnit]
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
        return {}, f"has cell_type {clean_text(repr(ctype), 30)}; expected one of {expected}"
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
        raise NotebookError(f"{shown} could not be read as JSON ({clean_text(str(e), 120)}). {download}.") from None
    if not isinstance(data, dict):
        raise NotebookError(f"{shown} is JSON but not a notebook: it holds {_json_type(data)}, where a notebook "
                            f"holds an object with 'cells'. {download}.")
    major, minor = nbformat.reader.get_version(data) if "nbformat" in data else (None, None)
    if type(major) is not int or major not in (3, 4):
        got = "no nbformat version" if major is None else f"nbformat {clean_text(repr(major), 20)}"
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
                            f"({type(e).__name__}: {clean_text(str(e), 120)}). Open it in Jupyter and save it again.") from None
    if len(cells_v4) != len(clean_cells):
        raise NotebookError(f"{shown}: reading its {len(clean_cells)} cells gave {len(cells_v4)}; open it in "
                            "Jupyter and save it again.")

    src = _Source([], issues, version=(major, minor))
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    src.title = _notebook_title(metadata)
    language = _notebook_language(metadata)
    if language and not language.lower().startswith(("python", "ipython")):
        issues.append(Issue("not_python", f"{shown} is a {clean_text(language, 30)} notebook; its code was read as "
                                          "Python. Hand in a Python notebook.", severity="warning"))
    code_chars, first_markdown = 0, True
    for number, cell in enumerate(cells_v4, 1):
        text = cell.get("source", "")
        if cell.get("cell_type") == "markdown":
            collect_headings(text, src.headings, first=first_markdown)
            first_markdown = False
        elif cell.get("cell_type") == "code" and text.strip():
            code_chars += len(text)
            if code_chars > max_code_chars:
                issues.append(Issue("code_too_large", f"Cells {number} to {len(cells_v4)} were not read: the "
                                    f"notebook holds more than {max_code_chars:,} characters of code.",
                                    Origin(number, 1)))
                break
            src.units.append(CodeUnit(number, _normalise_newlines(text)))
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
        first = clean_text(str(e).strip().splitlines()[0] if str(e).strip() else "invalid", 160)
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
            return clean_text(value, 200)
    return ""


def _notebook_language(metadata: dict) -> str:
    for key, sub in (("kernelspec", "language"), ("language_info", "name")):
        value = metadata.get(key)
        if isinstance(value, dict) and isinstance(value.get(sub), str):
            return value[sub]
    return ""


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
        src.units.append(CodeUnit(None, text, 1, whole_cell=False))
    else:
        head = "\n".join(lines[: markers[0]])
        if head.strip():
            src.units.append(CodeUnit(None, head, 1, whole_cell=False))
        for k, start in enumerate(markers):
            end = markers[k + 1] if k + 1 < len(markers) else len(lines)
            body = "\n".join(lines[start + 1: end])
            if _MARKDOWN_MARKER.match(lines[start]):
                collect_headings("\n".join(ln.lstrip("#").strip() for ln in body.split("\n")),
                                  src.headings, first=not src.headings)
            elif body.strip():
                src.units.append(CodeUnit(k + 1, body, start + 2))
    for ln in lines[:2000]:
        m = _COMMENT_HINT.match(ln)
        if m and len(src.headings) < 200:
            src.headings.append(clean_text(m.group(1), 200))
    return src


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
    shown = clean_text(name, 120)
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
    builder = ModuleBuilder(shown, importable)
    for unit in src.units:
        builder.add(unit)
    return builder.finish(name, suffix, issues=src.issues, title=src.title, headings=src.headings,
                          version=src.version)


