"""The student starter kit: ``dlgrade handout OUT_DIR``.

For every registered task with ``student_functions`` it writes

- ``<slug>.py``: the functions to implement, with the reference's signatures (defaults resolved to
  their values) and docstrings, each raising ``NotImplementedError``;
- ``test_<slug>.py``: public tests the student runs with ``pytest``: the functions exist with the
  handout's parameters, the public examples of the question's ``hidden.py``
  (:data:`EXAMPLES`) give the expected output, and the docstring examples (doctests) hold;

plus a ``README.md`` saying how to test and submit. Nothing here lists functions by hand: they come
from ``Question.student_functions`` and the question's ``reference.py`` (the handout's single source).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from pathlib import Path

from dlgrade.autograde.code_grading import hidden_module


def _imports(module) -> list[str]:
    """The task module's top-level third-party imports (numpy, keras, ...), as source lines."""
    tree = ast.parse(inspect.getsource(module))
    lines = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [a for a in node.names if not a.name.startswith("dlgrade")]
            if names:
                lines.append(ast.unparse(ast.Import(names=names)))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.module.startswith(("dlgrade", "__future__")) and node.level == 0:
            lines.append(ast.unparse(node))
    return lines


def _literal(value) -> ast.expr | None:
    try:
        text = repr(value)
        ast.literal_eval(text)
        return ast.parse(text, mode="eval").body
    except (ValueError, SyntaxError):
        return None


def _def_line(node: ast.FunctionDef) -> str:
    """``def name(a, b: int = 1, *, c=2) -> T:`` in PEP 8 style (``ast.unparse`` writes ``b: int=1``)."""
    args = node.args

    def one(arg: ast.arg, default: ast.expr | None, prefix: str = "") -> str:
        text = prefix + arg.arg + (f": {ast.unparse(arg.annotation)}" if arg.annotation else "")
        if default is not None:
            text += (" = " if arg.annotation else "=") + ast.unparse(default)
        return text

    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    parts = [one(a, d) for a, d in zip(positional, defaults)]
    if args.posonlyargs:
        parts.insert(len(args.posonlyargs), "/")
    if args.vararg:
        parts.append(one(args.vararg, None, "*"))
    elif args.kwonlyargs:
        parts.append("*")
    parts += [one(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg:
        parts.append(one(args.kwarg, None, "**"))
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"def {node.name}({', '.join(parts)}){returns}:"


def stub_source(module, name: str, extra_doc: str = "") -> str:
    """``def name(...)`` with the reference's signature and docstring, raising NotImplementedError."""
    fn = getattr(module, name)
    sig = inspect.signature(fn)
    try:
        node = next(n for n in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(fn))))
                    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name)
    except (OSError, SyntaxError, StopIteration, TypeError):  # source unavailable or edited since import
        node = ast.parse(f"def {name}{sig}:\n    pass").body[0]
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    with_default = [p for p in positional if p.default is not p.empty]
    node.args.defaults = [_literal(p.default) or d for p, d in zip(with_default, node.args.defaults)]
    node.args.kw_defaults = [(_literal(sig.parameters[a.arg].default) or d) if d is not None else None
                             for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults)]
    header = _def_line(node)
    doc = inspect.getdoc(fn) or f"Implement {name}."
    if extra_doc:
        doc += "\n\n" + textwrap.dedent(extra_doc).strip()
    doc = textwrap.indent(doc.replace('"""', "'''"), "    ").lstrip()
    return (f"{header}\n    \"\"\"{doc}\n    \"\"\"\n"
            f"    raise NotImplementedError(\"{name}: write your implementation here\")\n")


def module_source(task) -> str:
    module = task.module("reference")
    hidden_docs = getattr(hidden_module(task), "DOCS", {})
    intro = (inspect.getdoc(module) or "").strip()
    if intro.lower().startswith(f"{task.id}:"):  # the reference's first line restates the title written above it
        intro = intro.split("\n", 1)[1].strip() if "\n" in intro else ""
    head = (f'"""{task.id}: {task.title["en"]}\n\n{intro}\n\n'
            f"Implement the functions below and keep their names and parameters: the grader imports this file\n"
            f"(hand it in as {task.slug}.py), runs hidden checks on each function and then runs the whole question\n"
            f"with your functions in place of the reference ones. Test locally with: python -m pytest test_{task.slug}.py\n"
            f'"""\n\nfrom __future__ import annotations\n\n')
    imports = "\n".join(_imports(module))
    stubs = "\n\n".join(stub_source(module, n, hidden_docs.get(n, "")) for n in task.student_functions)
    return head + (imports + "\n\n\n" if imports else "\n") + stubs


def tests_source(task) -> str:
    module = task.module("reference")
    sigs = {n: [p for p in inspect.signature(getattr(module, n)).parameters] for n in task.student_functions}
    exs = [(e.function, list(e.args), dict(e.kwargs), e.expected, e.atol) for e in getattr(hidden_module(task), "EXAMPLES", [])]
    return f'''"""Public tests for {task.id}. Run next to {task.slug}.py: python -m pytest test_{task.slug}.py

Passing them does not guarantee full marks: the grader also runs hidden checks and the whole question.
"""

import doctest
import inspect

import numpy as np
import pytest

import {task.slug} as student

SIGNATURES = {sigs!r}
EXAMPLES = {exs!r}


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_defined_with_the_handout_parameters(name):
    fn = getattr(student, name, None)
    assert callable(fn), f"{{name}}() is missing"
    params = list(inspect.signature(fn).parameters)
    assert params[: len(SIGNATURES[name])] == SIGNATURES[name], f"{{name}} takes {{params}}, the handout says {{SIGNATURES[name]}}"


@pytest.mark.parametrize("name,args,kwargs,expected,atol", EXAMPLES or [pytest.param(None, None, None, None, None, marks=pytest.mark.skip("no public examples"))])
def test_public_example(name, args, kwargs, expected, atol):
    got = getattr(student, name)(*[np.asarray(a) if isinstance(a, list) else a for a in args], **kwargs)
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, f"{{name}} returned shape {{got.shape}}, expected {{expected.shape}}"
    assert np.all(np.isfinite(got)), f"{{name}} returned NaN or inf"
    np.testing.assert_allclose(got, expected, atol=atol)


def test_docstring_examples():
    result = doctest.testmod(student, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{{result.failed}} docstring example(s) failed (see above)"
'''


NOTEBOOK_TESTS = '''# Public tests: run this cell after the ones above. Passing them does not guarantee full marks.
import inspect
import numpy as np

SIGNATURES = {sigs!r}
EXAMPLES = {exs!r}

def run_public_tests():
    failed = 0
    for name, params in SIGNATURES.items():
        fn = globals().get(name)
        got = list(inspect.signature(fn).parameters) if callable(fn) else None
        if got is None or got[: len(params)] != params:
            failed += 1
            print(f"FAIL {{name}}: defined with {{got}}, the handout says {{params}}")
    for name, args, kwargs, expected, atol in EXAMPLES:
        try:
            out = np.asarray(globals()[name](*[np.asarray(a) if isinstance(a, list) else a for a in args], **kwargs),
                             dtype=np.float64)
            np.testing.assert_allclose(out, np.asarray(expected, dtype=np.float64), atol=atol)
        except NotImplementedError:
            failed += 1
            print(f"FAIL {{name}}: not implemented yet")
        except Exception as e:
            failed += 1
            print(f"FAIL {{name}}{{tuple(args)}}: {{type(e).__name__}}: {{str(e)[:300]}}")
    print("all public tests passed" if not failed else f"{{failed}} public test(s) failed")
    return failed

run_public_tests()
'''


def notebook_source(task) -> str:
    """The question as a notebook (nbformat 4; opens in Jupyter and Colab): the same functions, docstrings and public
    tests as the ``.py`` handout, one function per cell."""
    import nbformat
    from nbformat import v4

    module = task.module("reference")
    hidden_docs = getattr(hidden_module(task), "DOCS", {})
    intro = (inspect.getdoc(module) or "").strip()
    if intro.lower().startswith(f"{task.id}:"):  # the reference's first line restates the title written above it
        intro = intro.split("\n", 1)[1].strip() if "\n" in intro else ""
    cells = [v4.new_markdown_cell(
        f"# {task.id}: {task.title['en']}\n\n{intro}\n\n"
        f"Implement the functions below and keep their names and parameters. Hand in this notebook (or "
        f"`{task.slug}.py`). The grader takes the **definitions** from the code cells (imports, functions, classes, "
        f"constants); shell commands (`!pip`), magics, Colab-only code (`drive.mount`) and top-level training or "
        f"downloads are *not run* while grading, and the feedback lists them. Then it runs hidden checks on each function "
        f"and the whole question with your functions in place of the reference ones.")]
    imports = "\n".join(["from __future__ import annotations", *_imports(module)])
    cells.append(v4.new_code_cell(imports))
    for name in task.student_functions:
        cells.append(v4.new_code_cell(stub_source(module, name, hidden_docs.get(name, "")).rstrip()))
    sigs = {n: [p for p in inspect.signature(getattr(module, n)).parameters] for n in task.student_functions}
    exs = [(e.function, list(e.args), dict(e.kwargs), e.expected, e.atol) for e in getattr(hidden_module(task), "EXAMPLES", [])]
    cells.append(v4.new_markdown_cell("## Public tests"))
    cells.append(v4.new_code_cell(NOTEBOOK_TESTS.format(sigs=sigs, exs=exs).rstrip()))
    nb = v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                               "language": "python"},
                                                "language_info": {"name": "python"}})
    nbformat.validate(nb)
    return nbformat.writes(nb)


def readme(tasks) -> str:
    from dlgrade.autograde.verdicts import KERAS_HINTS

    rows = "\n".join(f"| `{t.slug}.py`, `{t.slug}.ipynb` | {t.id} | {t.title['en']} | {', '.join(f'`{n}`' for n in t.student_functions)} |" for t in tasks)
    hints = "\n".join(f"- {en}" for _, en, _ in KERAS_HINTS)
    return f"""# Starter kit

| files | question | title | implement |
|---|---|---|---|
{rows}

1. Implement every function, in the `.py` file or in the notebook (keep names and parameters; remove the
   `raise NotImplementedError`).
2. Run the public tests: `python -m pytest` in this folder, or the last cell of the notebook.
3. Try a whole question with your code: the grader runs it in the smoke profile, as
   `dlgrade grade --submission .` does for the instructor.
4. Hand in the `.py` files or the notebooks (a notebook may be named as you like and hold several questions: the
   grader finds a question by the functions it defines), or, where the instructor allows it,
   `<question>.results.json` from your own run at the assignment's profile.

Graded code runs without network access, with time and memory limits; do not call `exit()`. From a notebook only
the definitions are used: `!pip`, magics, `drive.mount(...)` and top-level training or downloads are not run.

## Keras 2 habits that Keras 3 breaks (the grader adds these hints to an error it recognises)

{hints}
"""


def write_handout(out: Path, tasks=None) -> list[Path]:
    """Write the starter kit into ``out``; returns the files written."""
    from dlgrade.questions import all_questions

    tasks = [t for t in (tasks or all_questions()) if t.student_functions]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for task in tasks:
        for path, text in ((out / f"{task.slug}.py", module_source(task)), (out / f"test_{task.slug}.py", tests_source(task))):
            compile(text, str(path), "exec")  # a handout that does not parse is a bug here, not the student's
            path.write_text(text, encoding="utf-8")
            written.append(path)
        path = out / f"{task.slug}.ipynb"
        path.write_text(notebook_source(task), encoding="utf-8")
        written.append(path)
    (out / "README.md").write_text(readme(tasks), encoding="utf-8")
    written.append(out / "README.md")
    return written
