"""What an interrupted ``grade --batch`` already finished, so that starting it again grades only the rest.

Each finished student x question is stored as ``OUT/.dlgrade-done/<student folder>/<question>.json`` with its
fingerprint (the submission's bytes, the question's code and rubric, the options, the reference run, dlgrade's
version: :func:`dlgrade.autograde.batch.fingerprint`) and its grade record; a student whose files were written
gets ``.student.json`` with the fingerprint of all their questions. A record is reused only when its
fingerprint is the one the batch computes now; anything unreadable is graded again. Every file is written
through a temporary file and ``os.replace``, so a client killed mid-write leaves the old file or none.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from dlgrade.results import write_json_atomic

DONE_DIR = ".dlgrade-done"
_STUDENT = ".student.json"


def _safe(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,160}", name) or name.startswith("."):
        raise ValueError(f"resume store: unexpected name {name!r} (expected a cleaned folder or question name)")
    return name


class DoneStore:
    """The resume store of one batch's output folder.

    Args:
        out: the batch's output folder.
    """

    def __init__(self, out: Path):
        self.root = Path(out) / DONE_DIR

    def _read(self, path: Path) -> dict | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def load(self, student: str, question: str, fingerprint: str) -> dict | None:
        """The stored record of ``student`` x ``question`` if it was made with ``fingerprint``, else ``None``."""
        data = self._read(self.root / _safe(student) / f"{_safe(question)}.json")
        if data is None or data.get("fingerprint") != fingerprint or not isinstance(data.get("record"), dict):
            return None
        return {**data["record"], "resumed": True}

    def save(self, student: str, question: str, fingerprint: str, record: dict) -> None:
        write_json_atomic(self.root / _safe(student) / f"{_safe(question)}.json",
                          {"fingerprint": fingerprint, "record": record})

    def student_done(self, student: str, fingerprint: str) -> bool:
        """Whether ``student``'s files were written for exactly these question fingerprints."""
        data = self._read(self.root / _safe(student) / _STUDENT)
        return data is not None and data.get("fingerprint") == fingerprint

    def mark_student(self, student: str, fingerprint: str) -> None:
        write_json_atomic(self.root / _safe(student) / _STUDENT, {"fingerprint": fingerprint})
