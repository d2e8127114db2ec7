"""Calibrated ranges: ``dlgrade calibrate TASK --seeds N --profile P``.

Runs the reference implementation with seeds ``0..N-1`` (cached runs are reused), collects every
numeric metric, and proposes a range ``[mean - k*std, mean + k*std]`` for each metric the task's
rubric checks (or every metric with ``--all-metrics``), shown beside the values measured and the
rubric's current range, plus a YAML snippet with the measurements as comments.

``--variant broken`` runs the question's deliberately broken implementation instead (``questions/<slug>/broken.py``:
a model at chance, a collapsed embedding, a remedy that hurts) over the same seeds and says, per ranged metric,
whether the rubric's current range fails it on every seed: a range that passes a broken variant certifies nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from dlgrade.rubric import load_rubric
from dlgrade.text import text_table


@dataclass
class Proposal:
    metric: str
    values: list[float]
    mean: float
    std: float
    low: float
    high: float
    current: tuple[float, float] | None
    check_id: str | None

    @property
    def current_covers(self) -> bool | None:
        if self.current is None:
            return None
        return all(self.current[0] <= v <= self.current[1] for v in self.values)

    @property
    def current_excludes(self) -> bool | None:
        """Whether the current range fails every value (what a range must do to a broken variant's values)."""
        if self.current is None:
            return None
        return not any(self.current[0] <= v <= self.current[1] for v in self.values)


def _bounds(metric: str, values: list[float]) -> tuple[float | None, float | None]:
    """Natural limits of a metric: [0, 1] for accuracies and other fractions, >= 0 for counts/losses/errors."""
    last = metric.split(".")[-1]
    if any(s in last for s in ("accuracy", "precision", "recall", "f1", "fraction", "share")):
        return 0.0, 1.0
    if all(v >= 0 for v in values) and any(s in last for s in ("loss", "error", "diff", "count", "trials", "samples", "mean", "time")):
        return 0.0, None
    return None, None


def propose(metric: str, values: list[float], k: float, min_halfwidth: float = 0.0) -> tuple[float, float, float, float]:
    arr = np.asarray(values, dtype=np.float64)
    mean = float(arr.mean())
    std = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    half = max(k * std, min_halfwidth, abs(mean) * 1e-9)
    low, high = mean - half, mean + half
    lo_b, hi_b = _bounds(metric, values)
    if lo_b is not None:
        low = max(low, lo_b)
    if hi_b is not None:
        high = min(high, hi_b)
    return mean, std, low, high


def calibrate(task, seeds: int, profile: str, k: float = 3.0, out: Path = Path("out/calibrate"),
              all_metrics: bool = False, min_halfwidth: float = 0.0, force: bool = False,
              log: Callable[[str], None] = print, executor=None, workers: int | None = None,
              variant: str | None = None) -> list[Proposal]:
    """Run ``task`` (a Question) with seeds ``0..seeds-1`` and propose ranges for its rubric's metrics; with
    ``variant="broken"`` the question's broken implementation (``broken.py``) runs instead of its reference.

    Each seed not in the run store is a job of ``executor`` (default: a local pool of ``workers`` processes,
    one TensorFlow thread each); its results are written under ``out/seed<N>`` here.

    Raises:
        UsageError: fewer than 2 seeds. DlgradeError: a seed's run failed (the error says which and why).
    """
    from dlgrade.autograde.executors import LocalExecutor
    from dlgrade.autograde.worker_jobs import ONE_THREAD_ENV
    from dlgrade.errors import DlgradeError
    from dlgrade.autograde.question_runs import Failed, question_jobs, settle_run
    from dlgrade.runstore import cached_run, run_dir_for

    if seeds < 2:
        from dlgrade.errors import UsageError

        raise UsageError("--seeds must be at least 2 to measure a spread")
    rubric = load_rubric(task.rubric_path)
    ranged = {c.metric: c for c in rubric.checks if c.kind == "range" and profile in c.profiles}
    values: dict[str, list[float]] = {}
    root = Path(out) / variant if variant else Path(out)
    run_dirs = {seed: run_dir_for(root / f"seed{seed}", profile, task.id) for seed in range(seeds)}
    outcomes = {}
    for seed in range(seeds):
        hit = None if force else cached_run(task, profile, seed, run_dir=run_dirs[seed], overrides_digest=variant or "")
        if hit is not None:
            outcomes[seed] = hit
    todo = [seed for seed in range(seeds) if seed not in outcomes]
    if todo:
        owned = executor is None
        executor = executor or LocalExecutor(workers, progress="plain", label="seeds", env=ONE_THREAD_ENV, log=log)
        local = isinstance(executor, LocalExecutor)
        jobs = []
        for seed in todo:
            job = question_jobs([task], profile, seed, out, force, executor, {task.id: run_dirs[seed]}, variant=variant)[0]
            jobs.append(type(job)(f"seed{seed}", job.fn, job.kwargs, job.resources))
        problems = []

        def on_done(o) -> None:
            seed = int(o.key[len("seed"):])
            settled = settle_run(task, o, run_dirs[seed], local)
            if isinstance(settled, Failed):
                problems.append(f"seed {seed}: {settled.error}")
            else:
                outcomes[seed] = settled

        try:
            executor.run(jobs, on_done)
        finally:
            if owned:
                executor.close()
        if problems:
            raise DlgradeError(f"calibrate {task.id}: {len(problems)} of {seeds} seed run(s) failed: " + "; ".join(problems))
    for seed in range(seeds):
        outcome = outcomes[seed]
        log(f"seed {seed}: {'cached' if outcome.cached else 'ran'} in {outcome.result.provenance.get('duration_s', 0):.1f} s")
        for name, v in outcome.result.metrics.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                values.setdefault(name, []).append(float(v))
    names = [m for m in values if all_metrics or m in ranged]
    proposals = []
    for m in names:
        if len(values[m]) != seeds:
            continue
        mean, std, low, high = propose(m, values[m], k, min_halfwidth)
        check = ranged.get(m)
        proposals.append(Proposal(m, values[m], mean, std, low, high, check.ranges.get(profile) if check else None,
                                  check.id if check else None))
    return proposals


def format_proposals(props: list[Proposal], task_id: str, profile: str, k: float, variant: str | None = None) -> str:
    last = "fails all?" if variant else "covers all?"
    rows = [("metric", "check", "values (per seed)", "mean", "std", f"proposed (mean ± {k:g}·std)", "current", last)]
    for p in props:
        verdict = p.current_excludes if variant else p.current_covers
        rows.append((p.metric, p.check_id or "-", ", ".join(f"{v:.4g}" for v in p.values), f"{p.mean:.4g}", f"{p.std:.3g}",
                     f"[{p.low:.4g}, {p.high:.4g}]", f"[{p.current[0]:g}, {p.current[1]:g}]" if p.current else "-",
                     {None: "-", True: "yes", False: "NO"}[verdict]))
    lines = [text_table(rows)]
    lines.append("")
    lines.append(f"# YAML for the rubric.yaml of {task_id} ({profile}; k = {k:g}; {len(props[0].values) if props else 0} seeds)")
    for p in props:
        if p.check_id:
            lines.append(f"#   {p.check_id}:  {profile}: [{p.low:.4g}, {p.high:.4g}]   "
                         f"# measured {', '.join(f'{v:.4g}' for v in p.values)} (mean {p.mean:.4g}, std {p.std:.3g})")
    return "\n".join(lines)
