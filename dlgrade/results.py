"""TaskResult: the plain data a task produces, and its ``results.json`` file.

``results.json`` is the one contract between a task (ours or a student's) and the
grader and the report. Its JSON Schema ships in ``dlgrade/schema/results.schema.json``.
"""

from __future__ import annotations

import json
import math
import re
import os
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from dlgrade.errors import ResultsError

SCHEMA_VERSION = 1
RESULTS_FILE = "results.json"
SPLITS = ("train", "val", "test")
_METRIC_PART = re.compile(r"^[a-z0-9_@]+$")


def metric_name_problem(name: str) -> str | None:
    """Why ``name`` breaks the metric naming rule, or None when it follows it.

    The rule: lower-case dotted parts; a value measured on a data split is named
    ``<phase>.<split>.<measure>`` with the split (``train``, ``val``, ``test``) as a part of its own,
    never folded into another part (``retrain.val.accuracy``, not ``retrain.val_accuracy``).

        >>> metric_name_problem("retrain.test.accuracy") is None
        True
        >>> metric_name_problem("retrain.test_accuracy")
        "part 'test_accuracy' folds the split 'test' into a name: make 'test' a part of its own (<phase>.<split>.<measure>)"
    """
    parts = name.split(".")
    if len(parts) < 2 or not all(_METRIC_PART.match(p) for p in parts):
        return "expected lower-case dotted parts of letters, digits and underscores, at least two (phase.measure)"
    for p in parts:
        tokens = p.split("_")
        hit = next((t for t in tokens if t in SPLITS or t == "validation"), None)
        if hit and p != hit:
            return f"part {p!r} folds the split {hit!r} into a name: make {hit!r} a part of its own (<phase>.<split>.<measure>)"
    splits = [i for i, p in enumerate(parts) if p in SPLITS]
    if len(splits) > 1:
        return f"more than one split in {name!r}"
    if splits and (splits[0] == 0 or splits[0] == len(parts) - 1):
        return f"the split {parts[splits[0]]!r} needs a phase before it and a measure after it"
    return None


@dataclass
class TaskResult:
    """What a task run produced.

    Attributes:
        task: task id, e.g. ``hw14.q4``.
        metrics: flat mapping of dotted names to numbers, booleans or short strings.
        tables: name -> ``{"columns": [...], "rows": [[...], ...]}``; cells are numbers or strings.
        figures: name -> file name inside the run folder (``curves.png``); the figure is drawn once per report
            language, as :func:`figure_file` names it (``curves.fa.png``).
        facts: anything JSON the discussion needs (lists of words, best hyper-parameters, ...).
        provenance: seed, profile, durations, versions, data checksums, git commit, fingerprint.
    """

    task: str
    metrics: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, dict[str, list]] = field(default_factory=dict)
    figures: dict[str, str] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def add_table(self, name: str, columns: list[str], rows: list[list]) -> None:
        """Add a table, checking every row has one cell per column."""
        for i, row in enumerate(rows):
            if len(row) != len(columns):
                raise ValueError(f"table {name!r} row {i} has {len(row)} cells, expected {len(columns)}")
        self.tables[name] = {"columns": list(columns), "rows": [list(r) for r in rows]}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "task": self.task,
            "metrics": self.metrics,
            "tables": self.tables,
            "figures": self.figures,
            "facts": self.facts,
            "provenance": self.provenance,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TaskResult":
        return cls(
            task=data["task"],
            metrics=dict(data.get("metrics", {})),
            tables=dict(data.get("tables", {})),
            figures=dict(data.get("figures", {})),
            facts=dict(data.get("facts", {})),
            provenance=dict(data.get("provenance", {})),
        )


def figure_file(file: str, lang: str) -> str:
    """The file of figure ``file`` (as ``TaskResult.figures`` registers it) drawn in ``lang``:
    ``figure_file("curves.png", "fa") == "curves.fa.png"``."""
    stem, dot, ext = file.rpartition(".")
    if not dot or not stem:
        raise ValueError(f"figure file {file!r}: expected a name with an extension, e.g. 'curves.png'")
    return f"{stem}.{lang}.{ext}"


def figure_files(result: "TaskResult") -> list[str]:
    """The files of ``result``'s figures, every report language's (relative to its run folder)."""
    from dlgrade.words import LANGS

    return [figure_file(f, lang) for f in result.figures.values() for lang in LANGS]


def missing_figures(result: "TaskResult", run_dir: Path) -> list[str]:
    """The files of ``result``'s figures (every report language's) that are not in ``run_dir``."""
    return [f for f in figure_files(result) if not (Path(run_dir) / f).is_file()]


def to_jsonable(value: Any) -> Any:
    """Convert NumPy scalars/arrays and tuples to JSON types; NaN/inf become None."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return to_jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def schema() -> dict[str, Any]:
    """The published JSON Schema of results.json."""
    text = resources.files("dlgrade").joinpath("schema/results.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def validate(data: Any, where: str = "results.json") -> None:
    """Raise ResultsError naming the first offending field if ``data`` breaks the schema."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        path = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        raise ResultsError(f"{where}: field {path}: {e.message} (schema rule: {e.validator})")


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that readers see the old file or the new one, never half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(to_jsonable(data), f, ensure_ascii=False, indent=2, allow_nan=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(result: TaskResult, run_dir: Path) -> Path:
    """Validate and atomically write ``run_dir/results.json``."""
    data = to_jsonable(result.to_dict())
    validate(data, str(Path(run_dir) / RESULTS_FILE))
    path = Path(run_dir) / RESULTS_FILE
    write_json_atomic(path, data)
    return path


def load(path: Path) -> TaskResult:
    """Read and validate a results.json (a file or a run folder holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    if not path.is_file():
        raise ResultsError(f"{path}: no such file; run the task first (dlgrade run TASK) or pass the right folder")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path}: not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    validate(data, str(path))
    return TaskResult.from_dict(data)
