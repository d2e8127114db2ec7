"""Run a question's steps in order: trusted steps in this process, training steps through a runner that is
either in-process (the reference functions) or a student's sandbox.

A failed step does not stop the run when grading: the steps that need its outputs are skipped, the others
still run, and :class:`StepReport` says which step failed, why, and which steps were skipped because of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from dlgrade.kit import harness
from dlgrade.kit.question import Context, Question


class StepFailed(Exception):
    """A step could not produce its outputs because of the code it ran (a student's function, or data a
    sandbox returned). ``verdict`` is a verdict code (error, timeout, memory, ...); ``detail`` says what happened."""

    def __init__(self, step: str, verdict: str, detail: str, detail_fa: str = "", hint: dict | None = None):
        super().__init__(f"step {step} failed ({verdict}): {detail}")
        self.step, self.verdict, self.detail = step, verdict, detail
        self.detail_fa, self.hint = detail_fa, hint  # the same in Persian, and a Keras 2 -> 3 hint, when known


@dataclass
class StepReport:
    """Per step: ``done``, ``failed`` or ``skipped``, with the reason."""

    status: dict[str, str] = field(default_factory=dict)
    failures: dict[str, StepFailed] = field(default_factory=dict)
    skipped_because: dict[str, str] = field(default_factory=dict)

    def ok(self, step: str) -> bool:
        return self.status.get(step) == "done"

    def cause(self, step: str) -> StepFailed | None:
        """The failure that made ``step`` not run (its own, or the upstream one it was skipped for)."""
        seen = set()
        while step not in self.failures and step in self.skipped_because and step not in seen:
            seen.add(step)
            step = self.skipped_because[step]
        return self.failures.get(step)

    def to_dict(self) -> dict[str, Any]:
        return {"status": dict(self.status),
                "failures": {k: {"verdict": f.verdict, "detail": f.detail} for k, f in self.failures.items()},
                "skipped_because": dict(self.skipped_because)}


TrainRunner = Callable[[Any, dict], dict]


def in_process(question: Question, ctx: Context, fns: Any = None) -> TrainRunner:
    """A runner that calls training steps here, with ``fns`` as the student functions (default: the question's
    reference module, imported when the first training step runs)."""
    config_class = f"{type(ctx.config).__module__}:{type(ctx.config).__qualname__}"

    def run(step, inputs: dict) -> dict:
        nonlocal fns
        if fns is None:
            fns = question.module("reference")
        work = ctx.run_dir / "steps" / (ctx.fingerprint[:16] or "run") / step.name  # resumable state of this run only
        return harness.run_step(fns, target=step.target, config_class=config_class, config=ctx.config.to_dict(),
                                seed=ctx.seed, seed_offsets=question.seed_offsets, inputs=inputs, work_dir=str(work),
                                step=step.name,
                                progress=ctx.progress.child(f"{question.id} {step.name}") if hasattr(ctx.progress, "child") else ctx.progress)

    return run


def run_steps(question: Question, ctx: Context, train: TrainRunner, keep_going: bool = False) -> StepReport:
    """Run every step of ``question``; training steps go through ``train(step, inputs)``.

    With ``keep_going`` (grading), a :class:`StepFailed` marks the step failed and the steps needing it are
    skipped; without it (an instructor's run) the failure propagates.
    """
    outputs: dict[str, dict] = {}
    report = StepReport()
    for step in question.steps:
        blocked = next((n for n in step.needs if n not in outputs), None)
        if blocked is not None:
            report.status[step.name] = "skipped"
            report.skipped_because[step.name] = blocked
            continue
        with ctx.timed(step.name):
            try:
                if step.sandboxed:
                    kwargs = {}
                    for ref in step.inputs:
                        src, key = ref.split(".", 1)
                        kwargs[key] = outputs[src][key]
                    out = train(step, kwargs)
                else:
                    out = step.fn(ctx, {n: outputs[n] for n in step.needs})
            except StepFailed as e:
                if not keep_going:
                    raise
                report.status[step.name] = "failed"
                report.failures[step.name] = e
                continue
        outputs[step.name] = out or {}
        report.status[step.name] = "done"
    return report


def expect_output(value: Any, step: str, name: str, shape: tuple | None = None, finite: bool = True):
    """An output a training step returned, as a float array, or :class:`StepFailed` saying what is wrong with
    it (not numeric, wrong shape, NaN/inf) so that the trusted side never computes on malformed data."""
    import numpy as np

    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise StepFailed(step, "wrong_type", f"{name} is a {type(value).__name__}, not an array of numbers") from None
    if shape is not None and arr.shape != tuple(shape):
        raise StepFailed(step, "shape", f"{name} has shape {arr.shape}, expected {tuple(shape)}")
    if finite and not np.all(np.isfinite(arr)):
        raise StepFailed(step, "nan", f"{name} has {int((~np.isfinite(arr)).sum())} NaN/inf value(s) of {arr.size}")
    return arr
