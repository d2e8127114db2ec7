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


BENCHES = (bench_decoded_cache, bench_checksum_memo, bench_run_cache)


def main() -> int:
    repeats = int(os.environ.get("DLGRADE_BENCH_REPEATS", "3"))
    rows = []
    for bench in BENCHES:
        name, slow, fast = bench(repeats)
        rows.append((name, slow, fast))
        print(f"{name:52s} slow {slow:8.3f} s  fast {fast:8.4f} s  ratio {slow / max(fast, 1e-9):8.1f}x", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
