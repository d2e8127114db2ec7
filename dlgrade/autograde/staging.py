"""Reading what a student handed in without trusting it: regular files only, never through a link, with size
caps, and a list of everything that was skipped and why.

The grader runs as root; a submission folder may hold symlinks to root-only files or to ``/dev/zero``, FIFOs,
device nodes, folders named ``zz.py``, huge files. Each is skipped with a reason the instructor sees.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILE_BYTES = 20 << 20      # a source file, notebook or results.json
MAX_TOTAL_BYTES = 100 << 20    # the whole folder
MAX_FILES = 200
SUFFIXES = (".py", ".ipynb", ".json")


@dataclass
class Staged:
    """The files read from a submission folder (name -> bytes) and what was skipped (name -> reason)."""

    files: dict[str, bytes] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def notes(self) -> list[str]:
        return [f"{name} was not read: {why}" for name, why in sorted(self.skipped.items())]


def read_regular(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path`` if it is a regular file reached without following a link and at most ``limit``
    bytes long; OSError/ValueError otherwise. The file is opened with O_NOFOLLOW and checked on the descriptor,
    so it cannot be swapped for a link between the check and the read."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file")
        if st.st_nlink > 1:
            raise ValueError("a hard link to another file")
        if st.st_size > limit:
            raise ValueError(f"{st.st_size:,} bytes, more than the {limit:,}-byte limit")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise ValueError(f"more than the {limit:,}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def stage(folder: Path, suffixes: tuple[str, ...] = SUFFIXES, file_limit: int = MAX_FILE_BYTES,
          total_limit: int = MAX_TOTAL_BYTES, max_files: int = MAX_FILES) -> Staged:
    """Read the top-level files of a submission folder whose names end in ``suffixes``."""
    out = Staged()
    folder = Path(folder)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        out.skipped["."] = f"the folder could not be listed ({e.strerror})"
        return out
    total = 0
    for entry in entries:
        name = entry.name
        if not name.endswith(suffixes):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as e:
            out.skipped[name] = f"could not be examined ({e.strerror})"
            continue
        if stat.S_ISLNK(st.st_mode):
            out.skipped[name] = "a symbolic link (hand in the file itself)"
            continue
        if stat.S_ISDIR(st.st_mode):
            out.skipped[name] = "a folder, not a file"
            continue
        if not stat.S_ISREG(st.st_mode):
            out.skipped[name] = "not a regular file (a device, pipe or socket)"
            continue
        if st.st_nlink > 1:
            out.skipped[name] = "a hard link to another file (hand in a copy of the file itself)"
            continue
        if len(out.files) >= max_files:
            out.skipped[name] = f"more than {max_files} files in the submission"
            continue
        try:
            data = read_regular(folder / name, min(file_limit, total_limit - total))
        except (OSError, ValueError) as e:
            out.skipped[name] = str(e) if isinstance(e, ValueError) else f"could not be read ({e.strerror})"
            continue
        total += len(data)
        out.files[name] = data
    return out
