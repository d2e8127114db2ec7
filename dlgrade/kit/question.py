"""The question contract: what every homework question declares, the steps its run is made of, and the
context a trusted step receives.

A question lives in one folder (``dlgrade/questions/<slug>/`` or a course folder) and exposes ``QUESTION``.
Its run is a sequence of named steps:

- a :class:`Step` runs in the trusted process: it prepares data (and keeps the held-out labels), evaluates
  predictions against labels only it holds, writes metrics, tables, facts and figures into ``ctx.result``;
- a :class:`TrainStep` is a training harness (``train.py``) that calls the student's functions through
  ``env.fns``. It receives only the inputs it declares (never held-out data) and returns plain data. In an
  instructor's run it runs in-process with the reference functions; when grading, in the student's sandbox.

Each step declares the student functions it uses, so a missing or broken function costs only the steps (and
the rubric checks that read them) that depend on it.
"""

from __future__ import annotations

import importlib
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from dlgrade.kit.config import Config
from dlgrade.kit.seeds import Seeds
from dlgrade.profiles import PROFILES, check_profile
from dlgrade.results import TaskResult


@dataclass(frozen=True)
class Step:
    """A trusted step: ``fn(ctx, got) -> dict | None`` where ``got[name]`` holds the outputs of each needed step.

    Attributes:
        name: the step's name (shown in progress, provenance and feedback).
        fn: the function.
        needs: steps whose outputs it reads.
        held_out: keys of its outputs that must never reach a sandbox (labels of test data).
    """

    name: str
    fn: Callable
    needs: tuple[str, ...] = ()
    held_out: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()

    sandboxed = False


@dataclass(frozen=True)
class Witness:
    """A held-out measure of what a training step produced, scored on the trusted side from data the step
    never saw the labels of. When a student's code is graded, the numbers the step itself reports (histories,
    tuner scores) are credited only when this metric is no more than ``below`` under the reference run's
    (same profile and seed): patching ``fit`` or faking a history gains nothing.
    """

    metric: str
    below: float | Mapping[str, float] | str = "rubric"

    def tolerance(self, profile: str) -> float | None:
        """How far below the reference's value the witness may lie in ``profile``; None: the rubric's own check on
        the metric decides (its range centred on the reference's value)."""
        if self.below == "rubric":
            return None
        return float(self.below[profile] if isinstance(self.below, Mapping) else self.below)


@dataclass(frozen=True)
class TrainStep:
    """A training harness step: ``fn(env, **inputs) -> dict`` of plain data, runnable in a sandbox.

    Attributes:
        name: the step's name.
        fn: a function of the question's ``train`` module.
        inputs: ``"step.key"`` outputs passed as keyword ``key`` (never a held-out output).
        uses: the student functions it calls (through ``env.fns``).
        witness: the held-out measure that vouches for the numbers it reports (see :class:`Witness`).
    """

    name: str
    fn: Callable
    inputs: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    witness: Witness | None = None

    sandboxed = True

    @property
    def needs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.split(".", 1)[0] for i in self.inputs))

    @property
    def target(self) -> str:
        return f"{self.fn.__module__}:{self.fn.__name__}"


@dataclass(frozen=True)
class Question:
    """One homework question.

    Attributes:
        id: ``hw<set>.q<n>``.
        title: ``{"en": ..., "fa": ...}``.
        datasets: registry names of the datasets it reads.
        configs: its typed settings per profile (``smoke``, ``quick``, ``full``).
        steps: the named steps of its run, in order.
        student_functions: the functions a student writes (the handout's; defined in ``reference.py``).
        seed_offsets: named seeds, as offsets from the run seed.
        package: import name of the question's package.
        folder: the question's folder (rubric.yaml, templates/, hidden.py, ...).
        words: the question's own words (class, variant, column names) in both languages; registered in the
            catalog under the question's id.
        unchecked: student functions without a hidden check, each with the reason.
        headline: the numbers the report shows side by side for this run, the shipped full-profile run and the
            reference report: ``(metric, reference key or None)`` pairs (the reference key names ``REFERENCE``).
        origin: where the question came from ("dlgrade", "course folder DIR", "entry point NAME").
    """

    id: str
    title: Mapping[str, str]
    datasets: tuple[str, ...]
    configs: Mapping[str, Config]
    steps: tuple[Any, ...]
    student_functions: tuple[str, ...]
    seed_offsets: Mapping[str, int]
    package: str
    folder: Path
    words: Mapping[str, Any] = field(default_factory=dict)
    unchecked: Mapping[str, str] = field(default_factory=dict)
    headline: tuple[tuple[str, str | None], ...] = ()
    origin: str = "dlgrade"

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError(f"question {self.id}: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """What is inconsistent in the declaration (empty when sound)."""
        out = []
        if set(self.configs) != set(PROFILES):
            out.append(f"configs for {sorted(self.configs)}, expected {list(PROFILES)}")
        seen: dict[str, Any] = {}
        held: set[str] = set()
        for step in self.steps:
            if step.name in seen:
                out.append(f"two steps named {step.name!r}")
            for n in step.needs:
                if n not in seen:
                    out.append(f"step {step.name!r} needs {n!r}, which does not run before it")
            for u in step.uses:
                if u not in self.student_functions:
                    out.append(f"step {step.name!r} uses {u!r}, not a student function")
            if step.sandboxed:
                for i in step.inputs:
                    if i in held:
                        out.append(f"step {step.name!r} would receive held-out {i!r}")
                if not step.fn.__module__.endswith(".train"):
                    out.append(f"training step {step.name!r} is defined in {step.fn.__module__}, expected the train module")
            held |= {f"{step.name}.{k}" for k in getattr(step, "held_out", ())}
            seen[step.name] = step
        return out

    @property
    def slug(self) -> str:
        return self.id.replace(".", "_")

    def config(self, profile: str) -> Config:
        check_profile(profile)
        return self.configs[profile]

    def chain(self, name: str) -> list:
        """The step ``name`` and every step it depends on, directly or not (in run order)."""
        wanted, out = {name}, []
        for s in reversed(self.steps):
            if s.name in wanted:
                out.append(s)
                wanted |= set(s.needs)
        return out[::-1]

    def uses_of(self, name: str) -> set[str]:
        """The student functions the step ``name`` depends on, through the steps it needs."""
        return {u for s in self.chain(name) for u in s.uses}

    def step(self, name: str):
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(f"question {self.id} has no step {name!r}; steps: {[s.name for s in self.steps]}")

    def module(self, name: str):
        """A module of the question's package (``reference``, ``hidden``, ``train``, ...)."""
        return importlib.import_module(f"{self.package}.{name}")

    def measured_path(self, profile: str) -> Path:
        """Where a run measured once at ``profile`` (e.g. ``full`` on a GPU) is shipped with the question: a
        results.json trimmed to its metrics and provenance (``dlgrade ship-run`` writes it)."""
        return self.folder / "measured" / f"{profile}.results.json"

    @property
    def rubric_path(self) -> Path:
        return self.folder / "rubric.yaml"

    @property
    def templates(self) -> Path:
        return self.folder / "templates"


@dataclass
class Context:
    """What a trusted step receives.

    Attributes:
        question: the question being run.
        profile, seed: the run's profile and seed.
        config: the question's settings for this profile.
        seeds: named seeds derived from ``seed``.
        run_dir: folder for figures and other artifacts (results.json is written by the run store).
        data: resolves and loads datasets.
        progress: prints what is happening.
        fingerprint: the run's cache key (names resumable state such as a tuner's folder).
        result: the results being assembled.
    """

    question: Question
    profile: str
    seed: int
    config: Config
    seeds: Seeds
    run_dir: Path
    data: Any
    progress: Any
    fingerprint: str = ""
    result: TaskResult | None = None
    durations: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.result is None:
            self.result = TaskResult(task=self.question.id)

    @property
    def task_id(self) -> str:
        return self.question.id

    @contextmanager
    def timed(self, step: str):
        """Time a step; the duration lands in provenance ``durations_s``."""
        t0 = time.perf_counter()
        self.progress.log(f"{step} ...")
        try:
            yield
        finally:
            self.durations[step] = round(time.perf_counter() - t0, 3)
            self.progress.log(f"{step} done in {self.durations[step]:.1f} s")

    def figure_path(self, name: str) -> Path:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        return self.run_dir / name

    def figure(self, key: str, file: str) -> dict[str, Path]:
        """Register figure ``key`` as ``file`` in the results and return where to draw it in each report
        language (``{"en": run_dir/"curves.en.png", "fa": ...}``, see :func:`dlgrade.results.figure_file`);
        draw it with :func:`dlgrade.kit.plots.draw`."""
        from dlgrade.results import figure_file
        from dlgrade.words import LANGS

        self.result.figures[key] = file
        return {lang: self.figure_path(figure_file(file, lang)) for lang in LANGS}
