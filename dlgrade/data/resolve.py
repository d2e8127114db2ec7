"""Finding, checking, downloading and loading datasets.

Search order: every folder in ``$DLGRADE_DATA`` (colon-separated), then
``~/.cache/dlgrade/datasets`` (``$DLGRADE_CACHE/datasets``), then ``/usr/share/datasets``
(Debian's ``dataset-*`` packages), then installed Python packages that ship data.
When nothing is found and downloads are allowed (``DLGRADE_OFFLINE`` unset), the
dataset is downloaded into the cache with checksum checks.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from dlgrade.data import fetch as fetch_mod
from dlgrade.data.formats import CACHED_READERS, READERS, FormatError
from dlgrade.data.registry import DATASETS, Dataset, Form
from dlgrade.errors import DatasetError
from dlgrade.progress import Progress

SYSTEM_DIR = Path("/usr/share/datasets")  # Debian's dataset packages; ``$DLGRADE_SYSTEM_DATA`` overrides it


def system_dir() -> Path:
    return Path(os.environ.get("DLGRADE_SYSTEM_DATA") or SYSTEM_DIR)


def cache_root() -> Path:
    """``$DLGRADE_CACHE`` or ``~/.cache/dlgrade``."""
    return Path(os.environ.get("DLGRADE_CACHE") or "~/.cache/dlgrade").expanduser()


def offline() -> bool:
    return os.environ.get("DLGRADE_OFFLINE", "").lower() in ("1", "true", "yes")


def search_dirs() -> list[tuple[Path, str]]:
    """The folders searched, in order, each with where it came from."""
    dirs = [(Path(d).expanduser(), "$DLGRADE_DATA") for d in os.environ.get("DLGRADE_DATA", "").split(os.pathsep) if d]
    dirs.append((cache_root() / "datasets", "cache"))
    dirs.append((system_dir(), "Debian dataset packages"))
    return dirs


@dataclass
class Located:
    """A dataset form whose files were all found (and matched a known checksum)."""

    dataset: Dataset
    form: Form
    paths: list[Path]
    where: str
    digests: dict[str, dict[str, str]]


@dataclass
class Loaded:
    """Decoded arrays plus where they came from."""

    dataset: Dataset
    form: Form
    arrays: dict[str, np.ndarray]
    provenance: dict[str, Any]

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]


class _ChecksumMemo:
    """sha256 and md5 of files, remembered by (path, size, mtime) in the cache."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.memo = json.loads(path.read_text())
        except (OSError, ValueError):
            self.memo = {}

    def digest(self, file: Path, algorithm: str) -> str:
        st = file.stat()
        key = f"{file.resolve()}|{st.st_size}|{st.st_mtime_ns}|{algorithm}"
        if key not in self.memo:
            self.memo[key] = fetch_mod.file_digest(file, algorithm)
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
                with os.fdopen(fd, "w") as f:
                    json.dump(self.memo, f)
                os.replace(tmp, self.path)
            except OSError:
                pass  # a read-only cache only costs speed
        return self.memo[key]


@dataclass
class DataResolver:
    """Resolves dataset names to files and loads them.

    Args:
        registry: datasets by name (tests pass their own).
        progress: where download and decode progress goes.
        allow_download: download missing datasets (default: unless ``DLGRADE_OFFLINE`` is set).
    """

    registry: Mapping[str, Dataset] = field(default_factory=lambda: DATASETS)
    progress: Progress = field(default_factory=lambda: Progress("data"))
    allow_download: bool | None = None
    loaded: dict[str, Loaded] = field(default_factory=dict)

    def __post_init__(self):
        if self.allow_download is None:
            self.allow_download = not offline()
        self._memo = _ChecksumMemo(cache_root() / "checksums.json")

    # -- finding -----------------------------------------------------------------
    def dataset(self, name: str) -> Dataset:
        if name not in self.registry:
            raise DatasetError(f"unknown dataset {name!r}; known datasets: {', '.join(self.registry)}")
        return self.registry[name]

    def _places(self, form: Form) -> list[tuple[Path, str]]:
        if form.package:
            spec = importlib.util.find_spec(form.package)
            if spec is None or not spec.submodule_search_locations:
                return [(Path(f"<python package {form.package} not installed>"), "installed packages")]
            return [(Path(list(spec.submodule_search_locations)[0]), "installed packages")]
        return search_dirs()

    def _check(self, form: Form, paths: list[Path]) -> tuple[dict[str, dict[str, str]], str | None]:
        """Digests of the files, and a problem description if one does not match."""
        digests: dict[str, dict[str, str]] = {}
        for rel, path in zip(form.files, paths):
            info = {"sha256": self._memo.digest(path, "sha256"), "size": str(path.stat().st_size)}
            accepted = form.digests.get(rel, ())
            if accepted:
                match = fetch_mod.matching_digest(path, accepted, self._memo.digest)
                if match is None:
                    return digests, fetch_mod.describe_mismatch(path, accepted, self._memo.digest) + " (corrupt or unknown file)"
                info["verified"] = f"{match.algorithm} ({match.origin})"
            digests[rel] = info
        return digests, None

    def search(self, name: str) -> tuple[Located | None, list[str]]:
        """The first complete, verified form found, and a line per place looked at."""
        ds = self.dataset(name)
        looked: list[str] = []
        for form in ds.forms:
            for folder, label in self._places(form):
                paths = [folder / rel for rel in form.files]
                missing = [p for p in paths if not p.is_file()]
                if missing:
                    looked.append(f"{missing[0]} [{label}]: missing")
                    continue
                digests, problem = self._check(form, paths)
                if problem:
                    looked.append(f"{problem} [{label}]")
                    continue
                return Located(ds, form, paths, f"{folder} [{label}]", digests), looked
        return None, looked

    def locate(self, name: str) -> Located:
        """Find ``name``, downloading it when allowed; else raise one DatasetError saying everything."""
        found, looked = self.search(name)
        if found:
            return found
        ds = self.dataset(name)
        download_notes = []
        if any(f.urls for f in ds.forms):
            if self.allow_download:
                try:
                    self.fetch(name)
                    found, _ = self.search(name)
                    if found:
                        return found
                except DatasetError as e:
                    download_notes.append(str(e))
            else:
                download_notes.append("downloads are off (DLGRADE_OFFLINE is set)")
        lines = [f"dataset {name!r} ({ds.title}) was not found or is corrupt.", "Looked in:"]
        lines += [f"  - {line}" for line in looked]
        lines += [f"Download: {note}" for note in download_notes]
        lines.append(f"What to do: {ds.hint}.")
        raise DatasetError("\n".join(lines))

    # -- getting -----------------------------------------------------------------
    def fetch(self, name: str) -> Path:
        """Download the first downloadable form of ``name`` into the cache."""
        ds = self.dataset(name)
        form = next((f for f in ds.forms if f.urls), None)
        if form is None:
            raise DatasetError(f"dataset {name!r} has no download source; {ds.hint}")
        dest_dir = cache_root() / "datasets"
        for rel in form.files:
            dest = dest_dir / rel
            if dest.is_file() and fetch_mod.matching_digest(dest, form.digests.get(rel, ())):
                continue
            self.progress.log(f"downloading {form.urls[rel]}")
            fetch_mod.download(form.urls[rel], dest, form.digests.get(rel, ()), report=self.progress.update)
        return dest_dir

    def import_file(self, name: str, src: Path) -> Path:
        """Check ``src`` against the dataset's checksums and copy it into the cache."""
        ds = self.dataset(name)
        for form in ds.forms:
            if len(form.files) == 1 and not form.package:
                rel = form.files[0]
                return fetch_mod.import_file(src, cache_root() / "datasets" / rel, form.digests.get(rel, ()))
        raise DatasetError(f"dataset {name!r} cannot be imported from a single file; {ds.hint}")

    def load(self, name: str) -> Loaded:
        """Decoded arrays of ``name`` (decoded once, then served from ``~/.cache/dlgrade/decoded``)."""
        if name in self.loaded:
            return self.loaded[name]
        loc = self.locate(name)
        key = next(iter(loc.digests.values()))["sha256"][:16]
        cache_dir = cache_root() / "decoded" / f"{name}-{loc.form.name}-{key}"
        arrays = _read_cached(cache_dir) if loc.form.reader in CACHED_READERS else None
        if arrays is None:
            self.progress.log(f"decoding {name} from {loc.paths[0]}")
            try:
                arrays = READERS[loc.form.reader](loc.paths, loc.dataset.classes)
            except (FormatError, OSError, EOFError, ValueError, KeyError) as e:
                raise DatasetError(f"dataset {name!r}: {loc.paths[0]} could not be read: {e}. "
                                   f"Delete it and try again; {loc.dataset.hint}.") from None
            if loc.form.reader in CACHED_READERS:
                _write_cached(cache_dir, arrays)
        for key_, shape in loc.dataset.shapes.items():
            if key_ in arrays and tuple(arrays[key_].shape) != tuple(shape):
                raise DatasetError(f"dataset {name!r}: array {key_} has shape {arrays[key_].shape}, expected {shape} "
                                   f"({loc.paths[0]}); the file is not the official one")
        prov = {"form": loc.form.name, "where": loc.where, "files": loc.digests}
        if loc.form.lossy:
            prov["note"] = loc.form.lossy
        loaded = Loaded(loc.dataset, loc.form, arrays, prov)
        self.loaded[name] = loaded
        return loaded

    def fingerprint(self, name: str) -> dict[str, Any]:
        """Checksums of the files ``name`` would load, without decoding (for cache keys)."""
        try:
            loc = self.locate(name)
        except DatasetError:
            return {"missing": True}
        return {"form": loc.form.name, "sha256": {k: v["sha256"] for k, v in loc.digests.items()}}


def _read_cached(folder: Path) -> dict[str, np.ndarray] | None:
    if not (folder / "COMPLETE").is_file():
        return None
    try:
        return {p.stem: np.load(p, allow_pickle=False) for p in sorted(folder.glob("*.npy"))}
    except (OSError, ValueError):
        return None


def _write_cached(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
        for k, v in arrays.items():
            np.save(tmp / f"{k}.npy", v, allow_pickle=False)
        (tmp / "COMPLETE").write_text("ok\n")
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    except OSError:
        pass  # caching is an optimisation only
