"""Progress output for long work: a live line on a terminal, plain log lines in CI or a pipe."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO


def _plain_wanted(stream: TextIO) -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes") or not stream.isatty()


class Progress:
    """Prints what a task is doing, prefixed with the task id and elapsed time.

    Args:
        prefix: shown before every line, usually the task id.
        stream: where to write (standard error by default).
        plain: force plain lines (default: plain when ``CI=true`` or not a TTY).
        quiet: print nothing (tests).
    """

    def __init__(self, prefix: str = "", stream: TextIO | None = None, plain: bool | None = None, quiet: bool = False):
        self.prefix = prefix
        self.stream = stream or sys.stderr
        self.plain = _plain_wanted(self.stream) if plain is None else plain
        self.quiet = quiet
        self.started = time.perf_counter()
        self._live = False

    def child(self, prefix: str) -> "Progress":
        """A reporter for a sub-step that shares this one's stream and mode."""
        p = Progress(prefix, self.stream, self.plain, self.quiet)
        p.started = self.started
        return p

    def _stamp(self) -> str:
        s = int(time.perf_counter() - self.started)
        return f"[{s // 60:02d}:{s % 60:02d}] {self.prefix}: " if self.prefix else f"[{s // 60:02d}:{s % 60:02d}] "

    def log(self, message: str) -> None:
        """A line that stays."""
        if self.quiet:
            return
        if self._live:
            self.stream.write("\n")
            self._live = False
        self.stream.write(self._stamp() + message + "\n")
        self.stream.flush()

    def update(self, message: str) -> None:
        """A line that is replaced by the next update on a terminal (kept as a log line otherwise)."""
        if self.quiet:
            return
        if self.plain:
            self.log(message)
            return
        self.stream.write("\r\033[K" + self._stamp() + message)
        self.stream.flush()
        self._live = True

    def keras_callback(self, label: str, epochs: int):
        """A Keras callback that reports each epoch's metrics under ``label``."""
        import keras

        progress = self

        class _EpochLogger(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                shown = " ".join(f"{k}={v:.4f}" for k, v in sorted(logs.items()) if isinstance(v, (int, float)))
                progress.update(f"{label} epoch {epoch + 1}/{epochs} {shown}")

            def on_train_end(self, logs=None):
                if progress._live:
                    progress.stream.write("\n")
                    progress.stream.flush()
                    progress._live = False

        return _EpochLogger()
