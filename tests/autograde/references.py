"""A question's reference solution as a student would hand it in: one file that runs in a sandbox.

The sandbox holds the question's ``spec`` and ``train`` modules but not its ``reference`` (or ``evaluate``, ...), so
relative imports of sandbox modules become absolute imports and any other module of the question is inlined.
"""

from __future__ import annotations

import ast
from pathlib import Path

from dlgrade.kit.env import QUESTION_SANDBOX_MODULES


def _rewrite(source: str, package: str, folder: Path, seen: set[str], top: bool = True) -> str:
    tree = ast.parse(source)
    lines = source.splitlines()
    out_before: list[str] = []
    drop: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            module = node.module or ""
            names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
            for i in range(node.lineno - 1, node.end_lineno):
                drop.add(i)
            if module.split(".")[0] in QUESTION_SANDBOX_MODULES:
                out_before.append(f"from {package}.{module} import {names}")
            elif module not in seen:
                seen.add(module)
                inner = (folder / f"{module}.py").read_text(encoding="utf-8")
                out_before.append(_rewrite(inner, package, folder, seen, top=False))
    body = [line for i, line in enumerate(lines) if i not in drop and not line.startswith("from __future__")]
    return "\n".join((["from __future__ import annotations"] if top else []) + out_before + body) + "\n"


def standalone(question) -> str:
    folder = Path(question.folder)
    return _rewrite((folder / "reference.py").read_text(encoding="utf-8"), question.package, folder, set())
