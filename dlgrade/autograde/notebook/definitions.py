"""Keep the definitions of a student's code and list everything else as not run while grading.

Input is code units (notebook cells, sections of an exported script, or a whole script); output is an
:class:`~dlgrade.autograde.extraction.Extraction`. Rules, for top-level statements:

- kept: imports (except Colab/IPython-only modules, ``COLAB_MODULES``), ``def``/``class`` with their
  decorators, constants (assignments to names whose right side calls nothing but ``PURE_CALLS`` and
  methods of string literals), ``try:`` blocks holding only imports and constants (a Colab import in
  them becomes ``pass``), and ``from __future__`` imports (moved to the top);
- not run, each listed as a :class:`~dlgrade.autograde.extraction.NotRun`: shell escapes (``!pip``,
  ``x = !ls``, ``get_ipython().system``), magics (``%matplotlib``; a ``%%time`` line, or a whole
  ``%%bash``/``%%writefile`` cell), Colab-only imports and what calls them (``drive.mount``), relative
  imports, and every other statement (training, downloads, ``tuner.search``, plots, prints, loops,
  ``with``, ``if`` blocks including ``if __name__ == "__main__"``). A constant, or a definition whose
  decorators, defaults or bases need a name that only code not run sets (or that is defined only later),
  is not run either: it would fail at import.

``!``/``%`` lines are found with the tokenizer (so such text in strings and brackets is left alone) and
blanked (``pass`` inside a block) before parsing. A unit that does not parse is split into top-level
statements (tokenizer again) and bisected, so only the statements that do not parse are lost, each
reported with the parser's message. The kept statements are copied verbatim (UTF-8 column offsets), and
the module is compiled to check it; a statement that does not compile on its own (``def f(a, a)``) is
dropped. Nothing is executed.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import io
import re
import symtable
import tokenize
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from dlgrade.autograde.notebook.extraction import (
    HINT_CHARS, MAX_LISTED, Extraction, Issue, NotRun, Origin, clean_text, collect_headings,
)

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


@dataclass
class CodeUnit:
    """A piece of code parsed on its own: one notebook cell, one section of a script, or a whole script."""

    cell: int | None
    text: str
    first_file_line: int | None = None
    whole_cell: bool = True  # a real cell boundary (a %%magic on its first line is a cell magic)

    def origin(self, line: int) -> Origin:
        file_line = None if self.first_file_line is None else self.first_file_line + line - 1
        return Origin(self.cell, line, file_line)


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
        return row, "syntax_error", clean_text(e.msg or "invalid syntax", 160)
    if isinstance(e, (RecursionError, MemoryError)):
        return first, "too_complex", "too deeply nested for Python to parse"
    return first, "syntax_error", clean_text(str(e), 160)


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


class ModuleBuilder:
    """Classifies top-level statements unit by unit (:meth:`add`) and assembles the kept ones into a module
    (:meth:`finish`)."""

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

    def add(self, unit: CodeUnit) -> None:
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
    def _where(unit: CodeUnit, line: int) -> str:
        return _capital(str(unit.origin(line)))

    def _issue(self, code: str, message: str, origin: Origin | None = None, severity: str = "error") -> None:
        self.issues.append(Issue(code, message, origin, severity))

    def _not_run(self, kind: str, origin: Origin, source: str, note: str = "") -> None:
        self.not_run.append(NotRun(kind, origin, clean_text(source), note))

    def _note_unusable(self, text: str) -> None:
        for m in _DEF_RE.finditer(text):
            self.unusable.append(m.group(1) or m.group(2))

    def _neutralise_magics(self, unit: CodeUnit, text: str) -> tuple[str | None, list[tuple[int, int, str, bool]]]:
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

    def _parse(self, unit: CodeUnit, text: str, lines: list[str]) -> list[ast.stmt]:
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

    def _classify(self, stmt: ast.stmt, unit: CodeUnit, lines: list[str]) -> bool:
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
                self.docstrings.append(stmt.value.value[:HINT_CHARS])
            return True  # a docstring or markdown exported as a string: nothing to run
        if isinstance(stmt, ast.Pass):
            return True
        note = 'an if __name__ == "__main__" block' if _is_main_guard(stmt) else ""
        self._drop(stmt, unit, lines, self._call_kind(stmt), note)
        return False

    def _drop(self, stmt: ast.stmt, unit: CodeUnit, lines: list[str], kind: str, note: str = "") -> None:
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

    def _keep(self, stmt: ast.stmt, unit: CodeUnit, lines: list[str], *, replace: dict[int, str] | None = None,
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

    def _import(self, stmt: ast.Import | ast.ImportFrom, unit: CodeUnit, lines: list[str]) -> bool:
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

    def _definition(self, stmt, unit: CodeUnit, lines: list[str]) -> bool:
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

    def _assignment(self, stmt, unit: CodeUnit, lines: list[str]) -> bool:
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

    def _try(self, stmt, unit: CodeUnit, lines: list[str]) -> bool:
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

    def finish(self, name: str, fmt: str, *, issues: Sequence[Issue] = (), title: str = "",
               headings: Sequence[str] = (), version: tuple[int, int] | None = None) -> Extraction:
        """The :class:`Extraction`: the module assembled and compiled, with ``issues`` found while reading
        the file put first, and the file's ``title``/``headings`` (hints) and notebook ``version``."""
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
                                             f"({clean_text(str(e), 160)}); none of them could be used.")
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

        issues = list(issues) + self.issues
        issues.sort(key=lambda i: (i.origin is not None, (i.origin.cell or 0, i.origin.file_line or i.origin.line) if i.origin else (0, 0)))
        if len(issues) > MAX_LISTED:
            extra = len(issues) - MAX_LISTED
            issues = issues[:MAX_LISTED] + [Issue("truncated", f"… and {extra} more problems in {self.shown}.")]
        not_run = sorted(self.not_run, key=lambda n: (n.origin.cell or 0, n.origin.file_line or n.origin.line))
        headings = list(headings)
        if fmt == "py" and self.docstrings:
            first = self.docstrings[0].strip().split("\n", 1)[0].strip()
            if first.lower().endswith(".ipynb"):
                title = title or clean_text(first, 200)
            for i, doc in enumerate(self.docstrings):
                collect_headings(doc, headings, first=(i == 0))
        return Extraction(
            name=name, format=fmt, source=source, line_map=tuple(line_map), not_run=tuple(not_run[:MAX_LISTED]),
            not_run_total=len(not_run), issues=tuple(issues), functions=tuple(functions), classes=tuple(classes),
            unusable_functions=tuple(unusable), title=title, headings=tuple(headings[:200]),
            nbformat_version=version,
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
                msg = clean_text(getattr(e, "msg", None) or str(e) or type(e).__name__, 160)
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


