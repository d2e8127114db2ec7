"""Downloads with checksum checks, written atomically into the cache."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Sequence

from dlgrade.data.registry import Digest
from dlgrade.errors import DatasetError

CHUNK = 1 << 20


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def matching_digest(path: Path, accepted: Sequence[Digest], digest: Callable[[Path, str], str] = file_digest) -> Digest | None:
    """The accepted digest the file matches, or None (``digest(path, algorithm)`` computes one)."""
    return next((d for d in accepted if digest(path, d.algorithm) == d.value.lower()), None)


def describe_mismatch(path: Path, accepted: Sequence[Digest], digest: Callable[[Path, str], str] = file_digest) -> str:
    got = {d.algorithm: digest(path, d.algorithm) for d in accepted}
    want = "; ".join(f"{d.algorithm} {d.value} ({d.origin})" for d in accepted)
    have = "; ".join(f"{a} {v}" for a, v in got.items())
    return f"{path}: checksum mismatch: expected {want}, got {have}"


def download(url: str, dest: Path, accepted: Sequence[Digest], timeout: float = 30.0,
             report: Callable[[str], None] | None = None) -> Path:
    """Download ``url`` to ``dest``, verifying size and checksum before the file appears.

    The bytes go to a temporary file beside ``dest`` and are renamed into place
    only when complete and matching one of ``accepted``; a failed download leaves
    nothing behind.

    Raises:
        DatasetError: network failure, truncated body, or checksum mismatch.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, os.fdopen(fd, "wb") as out:
                expected = resp.headers.get("Content-Length")
                total, last_mb = 0, -1
                while chunk := resp.read(CHUNK):
                    out.write(chunk)
                    total += len(chunk)
                    if report and total // (8 * CHUNK) != last_mb:
                        last_mb = total // (8 * CHUNK)
                        report(f"downloading {dest.name}: {total / CHUNK:.0f} MiB" + (f" of {int(expected) / CHUNK:.0f} MiB" if expected else ""))
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise DatasetError(f"download of {url} failed: {getattr(e, 'reason', e)}") from None
        if expected is not None and total != int(expected):
            raise DatasetError(f"download of {url} is truncated: got {total} of {expected} bytes")
        if accepted and matching_digest(tmp, accepted) is None:
            raise DatasetError(f"download of {url} refused: {describe_mismatch(tmp, accepted)}")
        os.replace(tmp, dest)
        return dest
    finally:
        tmp.unlink(missing_ok=True)


def import_file(src: Path, dest: Path, accepted: Sequence[Digest]) -> Path:
    """Copy a file obtained elsewhere into the cache after checking its checksum."""
    src = Path(src)
    if not src.is_file():
        raise DatasetError(f"{src}: no such file to import")
    if accepted and matching_digest(src, accepted) is None:
        raise DatasetError(f"import refused: {describe_mismatch(src, accepted)}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    os.close(fd)
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
    return dest
