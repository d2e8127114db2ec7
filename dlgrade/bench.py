"""``make bench``: side-by-side measurements in one process, reported as ratios.

Each row times a slow path and its fast alternative back to back (median of a few
repeats) and prints their ratio; absolute times are shown only for context, since
they depend on the machine and its load.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_decoded_cache(repeats: int) -> tuple[str, float, float]:
    """CIFAR-10: decoding the JPEG archive vs loading the decoded .npy cache."""
    from dlgrade.data import DataResolver
    from dlgrade.data.formats import READERS
    from dlgrade.progress import Progress

    r = DataResolver(progress=Progress("bench", quiet=True), allow_download=False)
    loc = r.locate("cifar10")
    slow = median_time(lambda: READERS[loc.form.reader](loc.paths, loc.dataset.classes), 1)
    r.load("cifar10")  # make sure the cache exists
    fast = median_time(lambda: DataResolver(progress=Progress("bench", quiet=True), allow_download=False).load("cifar10"), repeats)
    return f"cifar10 load: decode {loc.form.name} vs decoded cache", slow, fast


def bench_checksum_memo(repeats: int) -> tuple[str, float, float]:
    """sha256 of the CIFAR-10 archive vs the remembered digest."""
    from dlgrade.data import DataResolver
    from dlgrade.data.fetch import file_digest
    from dlgrade.progress import Progress

    r = DataResolver(progress=Progress("bench", quiet=True), allow_download=False)
    path = r.locate("cifar10").paths[0]
    slow = median_time(lambda: file_digest(path, "sha256"), repeats)
    fast = median_time(lambda: r._memo.digest(path, "sha256"), repeats)
    return "checksum: hash the archive vs memo", slow, fast


def bench_run_cache(repeats: int) -> tuple[str, float, float]:
    """hw14.q4 smoke: a fresh run vs a cache hit of the same run."""
    from dlgrade.progress import Progress
    from dlgrade.questions import get_question
    from dlgrade.runstore import run_question

    question = get_question("hw14.q4")
    with tempfile.TemporaryDirectory() as out:
        quiet = Progress("bench", quiet=True)
        slow = median_time(lambda: run_question(question, "smoke", 0, Path(out), force=True, progress=quiet), 1)
        fast = median_time(lambda: run_question(question, "smoke", 0, Path(out), progress=quiet), repeats)
    return "hw14.q4 smoke: fresh run vs cached run", slow, fast


def example_submissions(into: Path) -> Path:
    """Every example hand-in of tests/submissions (the hostile and messy single cases and the 2022-era class), one
    folder per student, copied into ``into``."""
    import shutil

    root = Path(__file__).resolve().parents[1] / "tests" / "submissions"
    for d in sorted(root.iterdir()):
        if d.name == "class2022":
            for s in sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith("_")):
                shutil.copytree(s, into / s.name)
        elif d.is_dir():
            shutil.copytree(d, into / d.name)
    return into


def _grade_batch_with(checkout: Path, subs: Path, out: Path) -> float:
    """Wall seconds of ``dlgrade grade --batch`` run by the checkout's own interpreter (a fresh process, two
    students at a time, no PDFs where the checkout can skip them)."""
    import subprocess
    import sys

    python = checkout / ".venv" / "bin" / "python"
    cmd = [str(python if python.exists() else sys.executable), "-m", "dlgrade", "grade", "--batch", str(subs), "--out",
           str(out), "--jobs", "2"]
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=checkout, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


def bench_batch_grading(repeats: int) -> tuple[str, float, float] | None:
    """Batch grading of every example hand-in: an earlier checkout (``DLGRADE_BENCH_BEFORE``, e.g. a worktree of the
    commit before a change, with its own .venv) vs this one, on the same folders, back to back. Skipped without it."""
    before = os.environ.get("DLGRADE_BENCH_BEFORE")
    if not before:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        subs = example_submissions(Path(tmp) / "subs")
        count = len(list(subs.iterdir()))
        old = _grade_batch_with(Path(before), subs, Path(tmp) / "before")
        new = _grade_batch_with(Path(__file__).resolve().parents[1], subs, Path(tmp) / "now")
    return f"grade --batch of {count} example hand-ins: before vs now", old, new


#: Example hand-ins that grade in seconds (the scale-out bench's batch).
QUICK_SUBSET = ("correct", "partly_wrong", "import_error", "results_ok", "nan_output", "class2022/mina_ahmadi")


def _grade_cli(subs: Path, out: Path, *where: str) -> float:
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "dlgrade", "grade", "--batch", str(subs), "--out", str(out), "--no-pdf", *where]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True, env={**os.environ, "CI": "1"})
    return time.perf_counter() - t0


def bench_batch_pool_vs_dask(repeats: int) -> tuple[str, float, float]:
    """grade --batch of quick example hand-ins: the local pool of 2 vs a 2-worker local Dask cluster (one run each)."""
    import shutil

    root = Path(__file__).resolve().parents[1] / "tests" / "submissions"
    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "subs"
        for name in QUICK_SUBSET:
            shutil.copytree(root / name, subs / Path(name).name)
        _grade_cli(subs, Path(tmp) / "warm", "--workers", "1", "--no-run")  # caches, imports, the sandbox probe
        pool = _grade_cli(subs, Path(tmp) / "pool", "--workers", "2")
        dask = _grade_cli(subs, Path(tmp) / "dask", "--cluster", "local:2")
        import json

        for where in ("pool", "dask"):
            seconds = [json.loads(p.read_text())["elapsed_s"] for p in (Path(tmp) / where).glob("*/grade.json")]
            print(f"  {where}: {len(seconds)} student x question jobs, {sum(seconds):.1f} job-seconds in all "
                  f"(mean {sum(seconds) / max(1, len(seconds)):.2f} s, max {max(seconds, default=0):.2f} s)", flush=True)
    return f"grade --batch of {len(QUICK_SUBSET)} hand-ins: local pool(2) vs Dask local:2", pool, dask


def bench_job_overhead(repeats: int) -> tuple[str, float, float]:
    """Per-job overhead of 200 no-op jobs: wall seconds of the batch on a 2-worker Dask LocalCluster vs the local
    pool of 2 (cluster start excluded), and the median ms between two completions on Dask."""
    from dlgrade.autograde.executors import Job, LocalExecutor, make_executor

    def timed(executor) -> tuple[float, float]:
        stamps: list[float] = []
        with executor:
            t0 = time.perf_counter()
            executor.run([Job(f"n{i}", os.getpid) for i in range(200)], on_done=lambda o: stamps.append(time.perf_counter()))
            wall = time.perf_counter() - t0
        return wall, 1000 * statistics.median(b - a for a, b in zip(stamps, stamps[1:]))

    dask, gap = timed(make_executor(cluster="local:2", progress="off", log=lambda s: None))
    pool, _ = timed(LocalExecutor(2, progress="off", log=lambda s: None))
    print(f"  Dask local:2: {1000 * dask / 200:.2f} ms of wall time per no-op job, median {gap:.2f} ms between "
          f"completions; local pool(2): {1000 * pool / 200:.2f} ms per job (its first start included)", flush=True)
    return "200 no-op jobs: Dask local:2 vs local pool(2)", dask, pool


BENCHES = (bench_decoded_cache, bench_checksum_memo, bench_run_cache, bench_batch_grading, bench_batch_pool_vs_dask,
           bench_job_overhead)


def main(argv: list[str] | None = None) -> int:
    """Run every bench, or those whose function name contains one of ``argv`` (``python -m dlgrade.bench dask``)."""
    import sys

    wanted = sys.argv[1:] if argv is None else argv
    repeats = int(os.environ.get("DLGRADE_BENCH_REPEATS", "3"))
    rows = []
    for bench in BENCHES:
        if wanted and not any(w in bench.__name__ for w in wanted):
            continue
        row = bench(repeats)
        if row is None:
            print(f"{bench.__name__}: skipped ({(bench.__doc__ or '').strip().splitlines()[-1].strip()})", flush=True)
            continue
        name, slow, fast = row
        rows.append((name, slow, fast))
        print(f"{name:60s} {slow:9.3f} s vs {fast:9.4f} s  ratio {slow / max(fast, 1e-9):8.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
