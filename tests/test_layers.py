"""The package's layers follow the data, and no import runs back up:

ground (errors, progress, profiles, results, words, text, typeset, versions) -> data -> kit -> questions -> run store ->
rubric grading -> autograding -> reports -> pipeline -> CLI.

Reports are the last consumer: they never load rubrics or import questions. Imports inside functions count.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "dlgrade"
LAYERS = [
    ("ground", ("dlgrade", "dlgrade.errors", "dlgrade.progress", "dlgrade.profiles", "dlgrade.results", "dlgrade.words",
                "dlgrade.text", "dlgrade.typeset", "dlgrade.versions")),
    ("data", ("dlgrade.data",)),
    ("kit", ("dlgrade.kit",)),
    ("questions", ("dlgrade.questions",)),
    ("run store", ("dlgrade.runstore",)),
    ("rubric", ("dlgrade.rubric",)),
    ("autograde", ("dlgrade.autograde",)),
    ("reports", ("dlgrade.reports",)),
    ("pipeline", ("dlgrade.pipeline", "dlgrade.question_checks", "dlgrade.bench")),
    ("cli", ("dlgrade.cli", "dlgrade.__main__")),
]
FORBIDDEN = {"reports": ("dlgrade.rubric", "dlgrade.questions", "dlgrade.runstore")}


def layer_of(module: str) -> int:
    best, index = "", None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > len(best) and (p != "dlgrade" or module == "dlgrade"):
                best, index = p, i
    if index is None:
        raise AssertionError(f"module {module} belongs to no layer; add it to LAYERS in tests/test_layers.py")
    return index


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, root: Path) -> list[tuple[str, int]]:
    """(dlgrade module, line) of every import in ``path``, relative imports resolved."""
    me = module_name(path, root).split(".")
    package = me if path.name == "__init__.py" else me[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "dlgrade"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                out.append((".".join(base + ([node.module] if node.module else [])), node.lineno))
            elif node.module and node.module.split(".")[0] == "dlgrade":
                out.append((node.module, node.lineno))
    return out


def layer_violations(root: Path = ROOT) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        me = module_name(path, root)
        mine = layer_of(me)
        for target, line in imported(path, root):
            theirs = layer_of(target)
            if theirs > mine:
                problems.append(f"{path.relative_to(root.parent)}:{line}: {LAYERS[mine][0]} imports {target} ({LAYERS[theirs][0]})")
            for bad in FORBIDDEN.get(LAYERS[mine][0], ()):
                if target == bad or target.startswith(bad + "."):
                    problems.append(f"{path.relative_to(root.parent)}:{line}: {LAYERS[mine][0]} must not import {target}")
    return problems


def test_no_import_runs_back_up():
    assert layer_violations() == []


def test_the_layer_check_catches_an_upward_import(tmp_path):
    pkg = tmp_path / "dlgrade"
    (pkg / "kit").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "kit" / "__init__.py").write_text("")
    (pkg / "kit" / "bad.py").write_text("def f():\n    from dlgrade.pipeline import make_report\n")
    (pkg / "reports").mkdir()
    (pkg / "reports" / "__init__.py").write_text("from ..rubric import load_rubric\n")
    problems = layer_violations(pkg)
    assert any("kit imports dlgrade.pipeline" in p for p in problems), problems
    assert any("reports must not import dlgrade.rubric" in p for p in problems), problems
