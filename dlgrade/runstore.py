"""The run store: runs a question, records provenance, and serves unchanged runs from cache.

Each run lives in ``OUT/runs/<profile>/<question>/`` with its ``results.json`` and artifacts. A run is
reused when its *fingerprint* is unchanged: the question folder's code and the kit's, its config, the
profile, the seed, the data checksums and the library versions.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dlgrade import results as results_mod
from dlgrade.data import DataResolver
from dlgrade.errors import ResultsError
from dlgrade.kit.harness import seed_everything
from dlgrade.kit.question import Context, Question
from dlgrade.kit.runner import StepReport, in_process, run_steps
from dlgrade.kit.seeds import Seeds
from dlgrade.profiles import check_profile
from dlgrade.progress import Progress
from dlgrade.results import TaskResult
from dlgrade.versions import library_versions

LIBRARIES = ("numpy", "tensorflow", "keras", "keras-tuner", "scikit-learn", "gensim", "matplotlib", "jinja2", "weasyprint")
KIT_DIR = Path(__file__).resolve().parent / "kit"
# The figures' text is set by these (fonts, Persian digits): a change redraws the figures.
FIGURE_TEXT_MODULES = tuple(Path(__file__).resolve().parent / "typeset" / f for f in ("figure_text.py", "numbers.py"))


def git_commit() -> str | None:
    """HEAD of the dlgrade checkout (with ``-dirty`` when there are local changes), if any."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "dlgrade"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def code_digest(question: Question) -> str:
    """sha256 of the question folder's Python files, of the kit's and of those that set the figures' text."""
    files = sorted(Path(question.folder).rglob("*.py")) + sorted(KIT_DIR.glob("*.py")) + list(FIGURE_TEXT_MODULES)
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def fingerprint(question: Question, profile: str, seed: int, config: dict, data: DataResolver,
                overrides_digest: str = "") -> tuple[str, dict]:
    """The cache key of a run and the pieces it was made from."""
    parts = {
        "task": question.id,
        "code": code_digest(question),
        "config": config,
        "profile": profile,
        "seed": seed,
        "data": {name: data.fingerprint(name) for name in question.datasets},
        "versions": library_versions(LIBRARIES),
        "overrides": overrides_digest,
    }
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest(), parts


@dataclass
class RunOutcome:
    result: TaskResult
    run_dir: Path
    cached: bool
    steps: StepReport | None = None


def run_dir_for(out: Path, profile: str, question_id: str) -> Path:
    return Path(out) / "runs" / profile / question_id


def cached_run(question: Question, profile: str, seed: int = 0, out: Path = Path("out"),
               run_dir: Path | None = None, overrides_digest: str = "") -> RunOutcome | None:
    """The run of ``question`` the store already holds with an unchanged fingerprint, or ``None`` (not run yet,
    changed, unreadable, or its data cannot be found: running it says why). ``overrides_digest`` as for
    :func:`run_question` (a run with other functions than the reference's)."""
    check_profile(profile)
    run_dir = Path(run_dir) if run_dir else run_dir_for(out, profile, question.id)
    if not (run_dir / results_mod.RESULTS_FILE).is_file():
        return None
    try:
        data = DataResolver(progress=Progress(question.id, quiet=True), allow_download=False)
        key, _ = fingerprint(question, profile, seed, question.config(profile).to_dict(), data, overrides_digest)
        cached = results_mod.load(run_dir)
    except Exception:  # noqa: BLE001 - missing data, a broken results.json: the run itself reports it
        return None
    figures_ok = not results_mod.missing_figures(cached, run_dir)
    if cached.provenance.get("fingerprint") != key or not figures_ok:
        return None
    return RunOutcome(cached, run_dir, True)


def last_duration(out: Path, profile: str, question_id: str) -> float | None:
    """Seconds the question's last run in the store took (whatever its fingerprint), or ``None``."""
    try:
        prov = json.loads((run_dir_for(out, profile, question_id) / results_mod.RESULTS_FILE).read_text("utf-8"))["provenance"]
        return float(prov["duration_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_question(question: Question, profile: str = "quick", seed: int = 0, out: Path = Path("out"), force: bool = False,
                 data: DataResolver | None = None, progress: Progress | None = None, fns: Any = None,
                 overrides_digest: str = "", run_dir: Path | None = None, keep_going: bool = False) -> RunOutcome:
    """Run ``question`` (or reuse its cached run) and write ``results.json``.

    Args:
        question: the question to run.
        profile: ``smoke``, ``quick`` or ``full``.
        seed: seed for every random choice of the run.
        out: output root; the run goes to ``out/runs/<profile>/<question>``.
        force: re-run from scratch even when a cached run matches (the run folder is emptied first;
            without it, an interrupted run's resumable state, e.g. a tuner's trials, is reused).
        data: dataset resolver (a default one when omitted).
        progress: progress reporter (a default one when omitted).
        fns: the module (or namespace) whose functions the training steps call; default: the reference.
        overrides_digest: what identifies ``fns`` in the cache key when they are not the reference.
        run_dir: explicit run folder.
        keep_going: a failed step skips the steps that need it instead of stopping the run (grading).
    """
    check_profile(profile)
    progress = progress or Progress(question.id)
    data = data or DataResolver(progress=progress.child("data"))
    config = question.config(profile)
    run_dir = Path(run_dir) if run_dir else run_dir_for(out, profile, question.id)
    key, parts = fingerprint(question, profile, seed, config.to_dict(), data, overrides_digest)

    if not force and (run_dir / results_mod.RESULTS_FILE).is_file():
        try:
            cached = results_mod.load(run_dir)
            figures_ok = not results_mod.missing_figures(cached, run_dir)
            if cached.provenance.get("fingerprint") == key and figures_ok:
                progress.log(f"unchanged since {cached.provenance.get('started_at', '?')}: using cached results (--force re-runs)")
                return RunOutcome(cached, run_dir, True)
        except ResultsError as e:
            progress.log(f"cached results unusable, re-running: {e}")

    if force and run_dir.exists():
        shutil.rmtree(run_dir)  # a forced run starts clean: no resumed tuner state, no stale figures
    run_dir.mkdir(parents=True, exist_ok=True)
    ctx = Context(question=question, profile=profile, seed=seed, config=config, seeds=Seeds(seed, question.seed_offsets),
                  run_dir=run_dir, data=data, progress=progress, fingerprint=key)
    seed_everything(seed)
    commit = git_commit()  # the code that runs: a long run may end after the checkout has moved on
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    progress.log(f"running (profile {profile}, seed {seed})")
    report = run_steps(question, ctx, in_process(question, ctx, fns), keep_going=keep_going)
    duration = time.perf_counter() - t0
    result = ctx.result
    result.task = question.id
    result.provenance.update({
        "profile": profile,
        "seed": seed,
        "fingerprint": key,
        "started_at": started,
        "duration_s": round(duration, 3),
        "durations_s": ctx.durations,
        "versions": parts["versions"],
        "data": {name: data.loaded[name].provenance for name in question.datasets if name in data.loaded},
        "git_commit": commit,
        "config": config.to_dict(),
        "steps": report.to_dict(),
    })
    missing = results_mod.missing_figures(result, run_dir)
    if missing:
        raise ResultsError(f"question {question.id} listed figures it did not write: {missing}")
    results_mod.save(result, run_dir)
    progress.log(f"done in {duration:.1f} s -> {run_dir / results_mod.RESULTS_FILE}")
    return RunOutcome(result, run_dir, False, report)

