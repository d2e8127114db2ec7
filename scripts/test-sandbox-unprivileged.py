#!/usr/bin/env python3
"""Runs the sandbox tests as uid 65534 (nobody), to see the non-root fallbacks at work.

Needs root and bubblewrap: it builds a world where Python and this repository are readable by
everyone (read-only binds on a tmpfs root, the host's /proc, a read-only /sys/fs/cgroup, fresh
1777 tmpfs at /tmp and /dev/shm), then drops to uid 65534 and runs pytest there. With
``DLGRADE_BWRAP=`` the sandbox under test falls back to a plain subprocess.

Usage: .venv/bin/python scripts/test-sandbox-unprivileged.py [pytest args, e.g. -m "not slow"]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dlgrade.autograde.sandbox import _ro_binds, ro_bind_args  # noqa: E402


def main() -> int:
    if os.geteuid() != 0:
        print("run this as root (it drops to uid 65534 itself)", file=sys.stderr)
        return 2
    argv = ["bwrap", "--die-with-parent", "--bind", "/proc", "/proc", "--dev", "/dev",
            "--perms", "01777", "--tmpfs", "/dev/shm", "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
            "--perms", "01777", "--tmpfs", "/tmp", "--tmpfs", "/run", "--perms", "0755", "--dir", "/sys",
            "--perms", "0755", "--dir", "/sys/fs", "--ro-bind", "/sys/fs/cgroup", "/sys/fs/cgroup"]
    for name in ("bin", "sbin", "lib", "lib64"):
        if os.path.islink(f"/{name}"):
            argv += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
    argv += ro_bind_args(_ro_binds() + [str(REPO)], {"/", "/tmp", "/usr", "/etc", "/sys"})
    argv += ["--chdir", str(REPO), "--", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             "--inh-caps=-all", "--bounding-set=-all", "--", sys.executable, "-m", "pytest", "-q",
             "-p", "no:cacheprovider", "-rs", "tests/autograde"] + sys.argv[1:]
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    if "DLGRADE_BWRAP" in os.environ:
        env["DLGRADE_BWRAP"] = os.environ["DLGRADE_BWRAP"]
    return subprocess.run(argv, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
