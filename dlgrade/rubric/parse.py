"""Rubric files: one YAML per task declaring its checks.

A check is either a *range* on a metric (``metric`` + ``range``), an *equality*
(``metric`` + ``equals``), or a *property* computed from the results themselves
(``property`` + ``args``; see :mod:`dlgrade.rubric.properties`). ``range`` is one
``[low, high]`` pair for every profile, or a mapping ``{smoke: [...], quick: [...],
full: [...]}``. Every check has ``points`` and a ``message`` in ``en`` and ``fa``;
``fix`` (optional, both languages) tells a student what to do when it fails. ``step`` names the step of the
question's run whose outputs the check reads, so a failed step costs only its own checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dlgrade.errors import RubricError
from dlgrade.profiles import PROFILES

LANGS = ("en", "fa")


@dataclass(frozen=True)
class Check:
    id: str
    points: float
    message: dict[str, str]
    metric: str | None = None
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    equals: Any = None
    prop: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    fix: dict[str, str] = field(default_factory=dict)
    profiles: tuple[str, ...] = PROFILES
    step: str | None = None
    # How a student's code is compared with the reference run (same profile and seed): (below, above) around the
    # reference's value, or "centered": this profile's range moved to be centred on the reference's value.
    reference: tuple[float, float] | str | None = None

    @property
    def kind(self) -> str:
        return "property" if self.prop else ("equals" if self.equals is not None else "range")


@dataclass(frozen=True)
class Rubric:
    task: str
    checks: tuple[Check, ...]
    source: str

    def total_points(self, profile: str) -> float:
        return sum(c.points for c in self.checks if profile in c.profiles)


def _bilingual(raw: Any, where: str, what: str, required: bool = True) -> dict[str, str]:
    if raw is None and not required:
        return {}
    if not isinstance(raw, dict) or any(not isinstance(raw.get(lang), str) or not raw.get(lang).strip() for lang in LANGS):
        raise RubricError(f"{where}: {what} must have non-empty 'en' and 'fa' texts, got {raw!r}")
    return {lang: raw[lang] for lang in LANGS}


def _pair(raw: Any, where: str) -> tuple[float, float]:
    if (not isinstance(raw, (list, tuple)) or len(raw) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw)):
        raise RubricError(f"{where}: a range must be [low, high] numbers, got {raw!r}")
    low, high = float(raw[0]), float(raw[1])
    if low > high:
        raise RubricError(f"{where}: range low {low} is above high {high}")
    return low, high


def parse_check(raw: Any, where: str) -> Check:
    from dlgrade.rubric.properties import PROPERTIES

    if not isinstance(raw, dict):
        raise RubricError(f"{where}: a check must be a mapping, got {type(raw).__name__}")
    known = {"id", "points", "message", "metric", "range", "equals", "property", "args", "fix", "profiles", "step", "reference"}
    if unknown := set(raw) - known:
        raise RubricError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(known)}")
    cid = raw.get("id")
    if not isinstance(cid, str) or not cid:
        raise RubricError(f"{where}: every check needs a string 'id'")
    where = f"{where} (check {cid})"
    points = raw.get("points")
    if not isinstance(points, (int, float)) or isinstance(points, bool) or points < 0:
        raise RubricError(f"{where}: 'points' must be a number >= 0, got {points!r}")
    profiles = tuple(raw.get("profiles", PROFILES))
    if bad := [p for p in profiles if p not in PROFILES]:
        raise RubricError(f"{where}: unknown profiles {bad}; expected some of {list(PROFILES)}")
    kinds = [k for k in ("range", "equals", "property") if k in raw]
    if len(kinds) != 1:
        raise RubricError(f"{where}: give exactly one of 'range', 'equals' or 'property', got {kinds or 'none'}")
    ranges: dict[str, tuple[float, float]] = {}
    if "range" in raw:
        r = raw["range"]
        if isinstance(r, dict):
            missing = [p for p in profiles if p not in r]
            if missing:
                raise RubricError(f"{where}: range has no entry for profiles {missing}")
            ranges = {p: _pair(r[p], f"{where} range[{p}]") for p in profiles}
        else:
            ranges = {p: _pair(r, f"{where} range") for p in profiles}
    if kinds[0] in ("range", "equals") and not isinstance(raw.get("metric"), str):
        raise RubricError(f"{where}: a {kinds[0]} check needs a 'metric' name")
    if "step" in raw and (not isinstance(raw["step"], str) or not raw["step"]):
        raise RubricError(f"{where}: 'step' must name a step of the question's run, got {raw['step']!r}")
    reference = None
    if "reference" in raw:
        r = raw["reference"]
        if r == "centered":
            reference = "centered"
        elif isinstance(r, dict) and r and not set(r) - {"below", "above"} and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in r.values()):
            reference = (float(r.get("below", 0.0)), float(r.get("above", float("inf"))))
        else:
            raise RubricError(f"{where}: 'reference' must be 'centered' or {{below: x, above: y}} with numbers >= 0, got {r!r}")
        if "range" not in raw:
            raise RubricError(f"{where}: 'reference' applies to range checks only")
    if "property" in raw and raw["property"] not in PROPERTIES:
        raise RubricError(f"{where}: unknown property {raw['property']!r}; known: {sorted(PROPERTIES)}")
    return Check(
        id=cid, points=float(points), message=_bilingual(raw.get("message"), where, "message"),
        metric=raw.get("metric"), ranges=ranges, equals=raw.get("equals"), prop=raw.get("property"),
        args=dict(raw.get("args") or {}), fix=_bilingual(raw.get("fix"), where, "fix", required=False), profiles=profiles,
        step=raw.get("step"), reference=reference,
    )


def parse_rubric(text: str, source: str) -> Rubric:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise RubricError(f"{source}: not valid YAML: {e}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("task"), str) or not isinstance(raw.get("checks"), list):
        raise RubricError(f"{source}: a rubric needs 'task' (string) and 'checks' (list)")
    checks = tuple(parse_check(c, f"{source} checks[{i}]") for i, c in enumerate(raw["checks"]))
    ids = [c.id for c in checks]
    if dupes := sorted({i for i in ids if ids.count(i) > 1}):
        raise RubricError(f"{source}: duplicate check ids {dupes}")
    return Rubric(task=raw["task"], checks=checks, source=source)


def load_rubric(path: Path) -> Rubric:
    """Parse the rubric file at ``path`` (a question's ``rubric.yaml``)."""
    path = Path(path)
    if not path.is_file():
        raise RubricError(f"no rubric at {path}: every question folder needs a rubric.yaml")
    return parse_rubric(path.read_text(encoding="utf-8"), str(path))
