"""The minimal runtime a student's sandbox gets for one question: the sandbox-safe modules of dlgrade
(:data:`dlgrade.kit.env.SANDBOX_RUNTIME`) and the question's own ``spec``, ``train`` and ``probes`` modules, with
empty package ``__init__`` files. Nothing else of dlgrade exists inside: not the question's reference, its
hidden checks or rubric, no other question, no output folder; ``import dlgrade.questions.<slug>.reference``
fails there with ModuleNotFoundError."""

from __future__ import annotations

import importlib
import importlib.util
from functools import lru_cache
from pathlib import Path

from dlgrade.kit.env import QUESTION_SANDBOX_MODULES, SANDBOX_RUNTIME

EMPTY_INIT = b'"""dlgrade runtime bundle (inside the sandbox): only what student code may see."""\n'


def _module_file(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin:
        raise ModuleNotFoundError(f"{name} is part of the sandbox runtime but cannot be found")
    return Path(spec.origin)


@lru_cache(maxsize=1)
def _runtime_core() -> tuple[tuple[str, bytes], ...]:
    return tuple((name.replace(".", "/") + ".py", _module_file(name).read_bytes()) for name in SANDBOX_RUNTIME)


def question_bundle(question) -> dict[str, bytes]:
    """``relative path -> bytes`` of every file the sandbox's runtime holds for ``question``."""
    files = dict(_runtime_core())
    pkg = question.package.replace(".", "/")
    for name in QUESTION_SANDBOX_MODULES:
        path = Path(question.folder) / f"{name}.py"
        if path.is_file():
            files[f"{pkg}/{name}.py"] = path.read_bytes()
    for rel in list(files):  # every package on the way gets an empty __init__ (the sandbox brings dlgrade's own)
        parts = rel.split("/")[:-1]
        for i in range(2, len(parts) + 1):
            files.setdefault("/".join(parts[:i]) + "/__init__.py", EMPTY_INIT)
    return files
