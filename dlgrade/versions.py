"""Library versions of this process, read from package metadata (cheap: nothing is imported)."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Iterable


def library_versions(libraries: Iterable[str]) -> dict[str, str]:
    """Versions of Python, dlgrade and each of ``libraries`` ("not installed" for one that is absent)."""
    from dlgrade import __version__

    versions = {"python": platform.python_version(), "dlgrade": __version__}
    for lib in libraries:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = "not installed"
    return versions
