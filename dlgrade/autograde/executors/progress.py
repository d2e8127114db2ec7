"""Progress of a batch of jobs: done/total, running, retried, failed and ETA.

A live ``rich`` bar on a terminal; plain log lines (every 10 % and at most every 30 s, plus each failure)
when ``CI`` is set or standard error is not a terminal.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Callable

MODES = ("auto", "bar", "plain", "off")


def _plain_wanted() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes") or not sys.stderr.isatty()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class JobProgress:
    """Counts a batch's jobs and shows them. Thread-safe: executors call it from their event threads.

    Args:
        total: jobs to run (skipped ones excluded).
        skipped: jobs not run because they were already done.
        mode: ``auto`` (bar on a terminal, plain lines otherwise), ``bar``, ``plain`` or ``off``.
        log: where plain lines go.
        label: what the jobs are, for the lines ("jobs", "students x questions", ...).
    """

    def __init__(self, total: int, skipped: int = 0, mode: str = "auto", log: Callable[[str], None] = print,
                 label: str = "jobs"):
        if mode not in MODES:
            raise ValueError(f"progress mode {mode!r}: expected one of {', '.join(MODES)}")
        if mode == "auto":
            mode = "plain" if _plain_wanted() else "bar"
        self.mode, self.log, self.label = mode, log, label
        self.total, self.skipped = total, skipped
        self.done = self.failed = self.retried = 0
        self._running: set[str] = set()
        self._finished: set[str] = set()
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._last_line = self._t0
        self._last_decile = 0
        self._bar = self._task = None
        if self.mode == "bar" and total:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("running {task.fields[running]}  retried {task.fields[retried]}  "
                                            "failed {task.fields[failed]}"), TextColumn("ETA"),
                                 TimeRemainingColumn(), console=Console(stderr=True), transient=False)
            self._task = self._bar.add_task(label, total=total, running=0, retried=0, failed=0)
            self._bar.start()
        if self.mode == "plain":
            self.log(f"{total} {label} to run" + (f" ({skipped} already done, skipped)" if skipped else ""))

    @property
    def running(self) -> int:
        return len(self._running)

    def eta_s(self) -> float | None:
        """Seconds left at the pace so far, or ``None`` before the first job finished."""
        if not self.done:
            return None
        return (time.monotonic() - self._t0) / self.done * (self.total - self.done)

    def started(self, key: str) -> None:
        with self._lock:
            if key in self._finished:  # a late start notice
                return
            self._running.add(key)
            self._refresh()

    def lost(self, key: str) -> None:
        """A job's worker died under it: it is no longer running (it may start again)."""
        with self._lock:
            self._running.discard(key)
            self._refresh()

    def retrying(self, key: str) -> None:
        with self._lock:
            self.retried += 1
            self._refresh()

    def finished(self, key: str, ok: bool, error: str = "") -> None:
        with self._lock:
            self._running.discard(key)
            self._finished.add(key)
            self.done += 1
            if not ok:
                self.failed += 1
                last = ((error or "failed").strip().splitlines() or ["failed"])[-1]
                if self.mode == "plain":
                    self.log(f"{key}: FAILED: {last}")
                elif self._bar is not None:
                    self._bar.console.print(f"{key}: FAILED: {last}", markup=False, highlight=False)
            self._refresh()

    def summary(self) -> str:
        return (f"{self.done}/{self.total} {self.label} done in {_duration(time.monotonic() - self._t0)}: "
                f"{self.failed} failed, {self.retried} retried" + (f", {self.skipped} skipped" if self.skipped else ""))

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._refresh()
                self._bar.stop()
                self._bar = None
            if self.mode == "plain":
                self.log(self.summary())

    def tick(self) -> None:
        """Redraw (the ETA moves even when nothing finishes)."""
        with self._lock:
            self._refresh()

    def _refresh(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, running=self.running, retried=self.retried,
                             failed=self.failed)
        elif self.mode == "plain" and self.total:
            now = time.monotonic()
            decile = self.done * 10 // self.total
            if (decile > self._last_decile and self.done < self.total) or now - self._last_line >= 30:
                self._last_decile, self._last_line = decile, now
                eta = self.eta_s()
                self.log(f"{self.done}/{self.total} {self.label} done, {self.running} running, {self.retried} retried, "
                         f"{self.failed} failed, ETA {_duration(eta) if eta is not None else 'unknown'}")
