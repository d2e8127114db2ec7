"""The trusted side of the sandbox: start a throwaway sandbox, talk data to it, tear it down.

Student code runs only inside a :class:`Session`: a bubblewrap sandbox (own pid, mount, network,
IPC and UTS namespaces, its own ``/proc``, size-capped private tmpfs at ``/tmp``, ``/dev/shm`` and
``/work``), run under a uid that no other sandbox on the machine holds, inside its own cgroup
(memory counted over every process and every tmpfs page, a pids cap, a CPU quota). What it sees:
``/usr``, ``/etc``, the Python installation, the runtime bundle at ``/runtime``, the submission at
``/submission`` and the inbox at ``/inbox`` (all read-only) -- never the dlgrade package, datasets,
reference code, rubrics, other students or output folders. The process inside
(:mod:`dlgrade.autograde.runtime.server`) answers with data only (:mod:`~dlgrade.autograde.protocol`);
every verdict is computed by the caller. On every exit, normal included, everything in the cgroup is
killed, the cgroup removed, the staging folder deleted and the uid released.

Where the machine lacks a layer (no root, no bubblewrap, no writable cgroup) the session still works
with what is there (rlimits, an RSS watchdog, the network audit hook) and :func:`protections` says
exactly what is missing. Example::

    with Session(submission={"hw.py": data}, limits=Limits(memory_mb=1024)) as s:
        s.load("hw.py")
        out = s.call("layer_norm", (x,))       # data only: arrays, numbers, lists, Opaque(...)

A :class:`Session` is not thread-safe, and it must be created by a thread that outlives it (the
sandbox is killed when the thread that started it exits: ``--die-with-parent``).
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import re
import resource
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from dlgrade.autograde.host import (
    CGROUP_PREFIX,
    UID_BASE,
    UID_COUNT,
    UID_LOCK_DIR,
    Cgroup,
    HostError,
    UidLease,
    descendants,
    detect_cgroups,
    kill_all,
    memory_bytes,
    pids_of_uid,
    pids_with_token,
    process_table,
    sweep_stale_cgroups,
    tasks_of_uid,
)
from dlgrade.autograde.protocol import (
    Caps,
    Opaque,
    ProtocolError,
    TruncatedMessage,
    decode,
    encode,
    frame_bytes,
    printable,
    read_message,
)

__all__ = ["Limits", "Protection", "Protections", "Session", "StudentError", "SandboxDied",
           "SandboxUnavailable", "Opaque", "protections"]

_HERE = Path(__file__).resolve().parent
_PACKAGE_DIR = _HERE.parent  # the dlgrade package of the trusted side: never visible inside
_CORE_RUNTIME = {
    "dlgrade/__init__.py": b'"""dlgrade runtime bundle (inside the sandbox)."""\n',
    "dlgrade/autograde/__init__.py": b'"""dlgrade runtime bundle (inside the sandbox)."""\n',
    "dlgrade/autograde/runtime/__init__.py": b"",
}
_CORE_SOURCES = {
    "dlgrade/autograde/protocol.py": _HERE / "protocol.py",
    "dlgrade/autograde/runtime/server.py": _HERE / "runtime" / "server.py",
}
_REQUEST_CAPS = Caps(json_bytes=256 << 20, depth=128, string_chars=64 << 20, arrays=4096,
                     array_bytes=4 << 30, total_bytes=8 << 30)  # what we send; the server accepts this much
_TAIL_BYTES = 64 << 10
_MAX_NOTES = 100
_TICK_S = 0.25
CAUSES = ("timeout", "memory", "cpu", "crash", "exit", "protocol")


# --------------------------------------------------------------------------------------- public API

@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox.

    Attributes:
        memory_mb: memory of ALL its processes and its tmpfs files together (cgroup; without one,
            an RSS watchdog and ``RLIMIT_DATA`` per process).
        processes: processes and threads (cgroup ``pids.max``; ``RLIMIT_NPROC`` as well when the
            sandbox has its own uid).
        cpus: CPU quota in cores (cgroup ``cpu.max`` / ``cfs_quota_us``).
        cpu_s: CPU seconds per process (``RLIMIT_CPU``).
        tmp_mb: size of each private tmpfs (``/tmp``, ``/dev/shm``, ``/work``).
        file_mb: largest file a process may write (``RLIMIT_FSIZE``).
        threads: threads for OpenMP/OpenBLAS/MKL/TensorFlow (environment variables).
        timeout_s: default wall-clock limit of one ``load``/``call``/``run``.
    """

    memory_mb: int = 2048
    processes: int = 256
    cpus: float = 1.0
    cpu_s: int = 600
    tmp_mb: int = 256
    file_mb: int = 256
    threads: int = 1
    timeout_s: float = 120.0

    def __post_init__(self):
        for name in ("memory_mb", "processes", "cpu_s", "tmp_mb", "file_mb", "threads"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive integer, got {value!r}")
        for name in ("cpus", "timeout_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise ValueError(f"Limits.{name} must be a positive number, got {value!r}")


class StudentError(Exception):
    """The student's code raised (while loading, in a call, or in a harness run).

    Attributes:
        type: the exception's type name (``ZeroDivisionError``, ``SystemExit``, ``...NetworkRefused``).
        message: its message (cut to 2000 characters, control characters removed).
        where: the deepest ``file:line`` in the student's files, or ``""``.
        frames: the student's frames (``file``, ``line``, ``function``), innermost last.
        phase: ``load``, ``call`` or ``run``.
    """

    def __init__(self, type: str, message: str, where: str = "", frames: list | None = None, phase: str = ""):
        self.type, self.message, self.where, self.frames, self.phase = type, message, where, frames or [], phase
        super().__init__(f"{type}: {message}" + (f" (at {where})" if where else ""))


class SandboxDied(Exception):
    """The sandbox ended or was ended without a proper answer; it has been torn down.

    Attributes:
        cause: ``timeout``, ``memory`` (cgroup OOM kill or the RSS watchdog), ``cpu`` (RLIMIT_CPU),
            ``crash`` (killed by a signal), ``exit`` (exited without answering: ``os._exit``, a runtime
            that could not start) or ``protocol`` (a malformed or oversized frame, or a value over the caps).
        detail: a sentence for a human (control characters removed).

    Call :meth:`Session.restart` for a fresh sandbox.
    """

    def __init__(self, cause: str, detail: str):
        assert cause in CAUSES, cause
        self.cause, self.detail = cause, printable(detail, 3000)
        super().__init__(f"{cause}: {self.detail}")


class SandboxUnavailable(RuntimeError):
    """The sandbox could not be started (a layer that the probe found working failed now)."""


@dataclass(frozen=True)
class Protection:
    """One protection layer: whether it is active on this machine, and how or why not."""

    name: str
    active: bool
    detail: str


@dataclass(frozen=True)
class Protections:
    """What isolation this machine gives a sandbox (probed once by :func:`protections`).

    Attributes:
        root: the grader runs as root.
        mode: ``bwrap-root`` (bubblewrap as root, then ``setpriv`` to the sandbox uid),
            ``bwrap-userns`` (unprivileged bubblewrap in a user namespace) or ``plain`` (a plain
            subprocess: rlimits, RSS watchdog and audit hook only).
        bwrap: path of bubblewrap, or ``None``; ``bwrap_version`` its version.
        own_uid: each sandbox runs under its own uid.
        namespaces: namespaces a probe saw isolated (``pid``, ``mnt``, ``net``, ``ipc``, ``uts``, ``cgroup``).
        own_proc: ``/proc`` inside shows only the sandbox's processes.
        tmpfs_size: ``/tmp``, ``/dev/shm`` and ``/work`` are private size-capped tmpfs.
        cgroup_version: 1, 2 or ``None``; ``cgroup_controllers`` the usable ones.
        rss_watchdog: the RSS watchdog is used (no memory cgroup).
        items: one :class:`Protection` per layer (for :meth:`describe`).

    ``mode`` is ``none`` when nothing safe works (as root, with neither bubblewrap nor a uid that can
    run Python): a :class:`Session` then refuses to start rather than run student code as root.
    """

    root: bool
    mode: str
    bwrap: str | None
    bwrap_version: str
    own_uid: bool
    namespaces: tuple[str, ...]
    own_proc: bool
    tmpfs_size: bool
    cgroup_version: int | None
    cgroup_controllers: tuple[str, ...]
    rss_watchdog: bool
    items: tuple[Protection, ...] = ()
    cgroup_dirs: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    hidden: tuple[str, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict:
        return {"root": self.root, "mode": self.mode, "bwrap": self.bwrap, "bwrap_version": self.bwrap_version,
                "own_uid": self.own_uid, "namespaces": list(self.namespaces), "own_proc": self.own_proc,
                "tmpfs_size": self.tmpfs_size, "cgroup_version": self.cgroup_version,
                "cgroup_controllers": list(self.cgroup_controllers), "rss_watchdog": self.rss_watchdog,
                "protections": [{"name": p.name, "active": p.active, "detail": p.detail} for p in self.items]}

    def describe(self) -> str:
        """One line per protection: active, or NOT available and why."""
        width = max((len(p.name) for p in self.items), default=0)
        return "\n".join(f"{p.name:<{width}}  {'active' if p.active else 'NOT available'}: {p.detail}"
                         for p in self.items)


# ---------------------------------------------------------------------------------------- helpers

def _note_list_add(notes: list, text: str) -> None:
    if len(notes) < _MAX_NOTES:
        notes.append(printable(text, 300))
    elif len(notes) == _MAX_NOTES:
        notes.append("… further notes dropped")


def _safe_relpath(rel: str, what: str) -> PurePosixPath:
    if not isinstance(rel, str) or not rel or "\x00" in rel or "\\" in rel:
        raise ValueError(f"{what}: bad file name {rel!r}; expected a relative path like 'hw.py'")
    p = PurePosixPath(rel)
    if p.is_absolute() or any(part in ("", ".", "..") for part in p.parts) or len(rel) > 400:
        raise ValueError(f"{what}: {rel!r} must be a relative path without '..' (e.g. 'hw.py' or 'data/x.csv')")
    return p


def _write_files(base: Path, files: dict, what: str) -> None:
    """Writes ``files`` (relative path -> bytes) under ``base`` without following any link."""
    for rel, data in files.items():
        p = _safe_relpath(rel, what)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"{what}: {rel!r} must map to bytes, got {type(data).__name__}")
        folder = base
        for part in p.parts[:-1]:
            folder = folder / part
            try:
                os.mkdir(folder, 0o755)
                os.chmod(folder, 0o755)
            except FileExistsError:
                if not folder.is_dir() or folder.is_symlink():
                    raise ValueError(f"{what}: {rel!r} clashes with a file of the same name") from None
        fd = os.open(folder / p.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            os.fchmod(fd, 0o644)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)


def _runtime_bundle(extra: dict | None) -> dict[str, bytes]:
    bundle = dict(_CORE_RUNTIME)
    for rel, src in _CORE_SOURCES.items():
        bundle[rel] = src.read_bytes()
    for rel, data in (extra or {}).items():
        _safe_relpath(rel, "runtime_files")
        if rel in bundle:
            raise ValueError(f"runtime_files: {rel!r} is part of the core runtime and cannot be replaced")
        bundle[rel] = bytes(data)
    for rel in list(bundle):  # every folder holding Python code is a regular package
        parts = PurePosixPath(rel).parts
        if rel.endswith(".py"):
            for i in range(1, len(parts)):
                bundle.setdefault("/".join(parts[:i] + ("__init__.py",)), b"")
    return bundle


# ------------------------------------------------------------------------------------ the sandbox

class _Tail(threading.Thread):
    """Drains one output pipe, keeping only the last ``_TAIL_BYTES``."""

    def __init__(self, fd: int):
        super().__init__(daemon=True, name="dlgrade-sandbox-tail")
        self.fd, self.buf, self.dropped, self.lock = fd, bytearray(), 0, threading.Lock()

    def run(self) -> None:
        try:
            while True:
                try:
                    chunk = os.read(self.fd, 65536)
                except InterruptedError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                with self.lock:
                    self.buf += chunk
                    if len(self.buf) > _TAIL_BYTES:
                        drop = len(self.buf) - _TAIL_BYTES
                        del self.buf[:drop]
                        self.dropped += drop
        finally:
            os.close(self.fd)

    def raw(self) -> str:
        with self.lock:
            return bytes(self.buf).decode("utf-8", "replace")


class _Deadline(Exception):
    pass


class _Watchdog(Exception):
    def __init__(self, cause: str, detail: str):
        self.cause, self.detail = cause, detail


class _Reader:
    """``read(n)`` on the reply pipe that waits at most until ``deadline`` and runs ``tick`` often."""

    def __init__(self, fd: int):
        self.fd, self.deadline, self.tick = fd, 0.0, None

    def read(self, n: int) -> bytes:
        while True:
            now = time.monotonic()
            if now >= self.deadline:
                raise _Deadline()
            ready, _, _ = select.select([self.fd], [], [], min(_TICK_S, self.deadline - now))
            if self.tick:
                self.tick()
            if ready:
                try:
                    return os.read(self.fd, min(n, 1 << 20))
                except InterruptedError:
                    continue
                except OSError:
                    return b""


_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_CHILD_SUBREAPER = 36


def _preexec(procs_files: list[bytes], rlimits: list, drop_uid: int | None, subreaper: bool):
    """Runs in the child between fork and exec: join the cgroup (race-free: before bwrap starts
    anything), set rlimits, and in plain mode become a subreaper and drop to the sandbox uid."""

    def fn():
        pid = str(os.getpid()).encode()
        for path in procs_files:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)
        for res, lim in rlimits:
            resource.setrlimit(res, lim)
        if subreaper:
            _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        if drop_uid is not None:
            os.setgroups([])
            os.setgid(drop_uid)
            os.setuid(drop_uid)

    return fn


def _ro_binds() -> list[str]:
    """The Python installation folders to bind read-only (besides /usr and /etc)."""
    paths = []
    for p in (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, os.path.dirname(sys.executable)):
        for q in (os.path.abspath(p), os.path.realpath(p)):
            if q not in paths:
                paths.append(q)
    exe_dir = os.path.dirname(os.path.realpath(sys.executable))
    if exe_dir not in paths:
        paths.append(exe_dir)
    keep = []
    for p in sorted(paths, key=len):
        if p in ("/", "") or p == "/usr" or p.startswith(("/usr/", "/etc/")) or p == "/etc":
            continue
        if any(p == k or p.startswith(k.rstrip("/") + "/") for k in keep):
            continue
        keep.append(p)
    return keep


def ro_bind_args(paths: list[str], made: set[str]) -> list[str]:
    """bubblewrap arguments binding each of ``paths`` read-only at the same place, after creating (0755) every parent
    folder not yet in ``made`` (which it extends): the sandbox's root is an empty tmpfs."""
    argv: list[str] = []
    for p in paths:
        parts = PurePosixPath(p).parts
        for i in range(2, len(parts)):
            d = "/".join(parts[:i]).replace("//", "/")
            if d not in made:
                argv += ["--perms", "0755", "--dir", d]
                made.add(d)
        argv += ["--ro-bind", p, p]
    return argv


def _hidden_paths(bound: list[str]) -> list[str]:
    """Folders inside bound trees that the sandbox must not see: an installed (non-editable)
    dlgrade package, system dataset folders, dlgrade's data and cache folders."""
    candidates = [str(_PACKAGE_DIR), "/usr/share/datasets"]
    for var in ("DLGRADE_DATA",):
        candidates += [p for p in os.environ.get(var, "").split(":") if p]
    if os.environ.get("DLGRADE_CACHE"):
        candidates.append(os.environ["DLGRADE_CACHE"])
    roots = bound + ["/usr", "/etc"]
    out = []
    for c in candidates:
        c = os.path.realpath(c)
        if os.path.isdir(c) and any(c == r or c.startswith(r.rstrip("/") + "/") for r in roots) and c not in out:
            out.append(c)
    return out


def _bwrap_argv(bwrap: str, mode: str, staging: Path, limits: Limits, inbox_binds: list[tuple[str, str]],
                hidden: list[str]) -> list[str]:
    argv = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "sandbox"]
    if mode == "bwrap-userns":
        argv += ["--unshare-user", "--disable-userns"]
    argv += ["--proc", "/proc", "--dev", "/dev", "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        p = f"/{name}"
        if os.path.islink(p):
            argv += ["--symlink", os.readlink(p), p]
        elif os.path.isdir(p):
            argv += ["--ro-bind", p, p]
    size = str(limits.tmp_mb << 20)
    for p in ("/tmp", "/dev/shm", "/work"):
        argv += ["--perms", "01777", "--size", size, "--tmpfs", p]
    argv += ro_bind_args(_ro_binds(), {"/", "/tmp", "/dev", "/dev/shm", "/work", "/usr", "/etc"})
    for h in hidden:
        argv += ["--perms", "0755", "--size", "4096", "--tmpfs", h]
    for sub in ("runtime", "submission", "inbox"):
        argv += ["--ro-bind", str(staging / sub), f"/{sub}"]
    for src, name in inbox_binds:
        argv += ["--ro-bind", src, f"/inbox/{name}"]
    # The root and /dev tmpfs too: in a user namespace they belong to the sandbox uid (device nodes stay usable).
    argv += ["--remount-ro", "/", "--remount-ro", "/dev", "--chdir", "/work"]
    return argv


def _sandbox_env(limits: Limits, paths: dict[str, str], token: str) -> dict[str, str]:
    n = str(limits.threads)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": paths["work"], "TMPDIR": paths["tmp"],
        "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONPATH": paths["runtime"], "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": paths["work"] + "/.config/matplotlib", "KERAS_HOME": paths["work"] + "/.keras",
        "OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n, "NUMEXPR_NUM_THREADS": n,
        "TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": n, "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "", "DLGRADE_SANDBOX_TOKEN": token,
    }
    for var in ("KERAS_BACKEND", "TF_ENABLE_ONEDNN_OPTS"):
        if var in os.environ:
            env[var] = os.environ[var]
    return env


class _Box:
    """One running sandbox and everything to tear down (no student-facing logic)."""

    def __init__(self, prot: Protections, limits: Limits, runtime: dict, submission: dict, inbox: dict,
                 command: list[str] | None = None, avoid_uids: set | None = None):
        self.prot, self.limits = prot, limits
        self.proc = None
        self.lease = self.cgroup = None
        self.req_w = self.reader = None
        self.tails: list[_Tail] = []
        self.watchdog_kill: tuple[str, str] | None = None
        self.token = secrets.token_hex(16)
        self._last_tick = 0.0
        self._closed = False
        self.staging = Path(tempfile.mkdtemp(prefix="dlgrade-sandbox-"))
        try:
            self._start(runtime, submission, inbox, command, avoid_uids)
        except BaseException:
            self.destroy()
            raise

    @property
    def uid(self) -> int | None:
        return self.lease.uid if self.lease else None

    def _start(self, runtime, submission, inbox, command, avoid_uids) -> None:
        prot, limits = self.prot, self.limits
        plain = prot.mode == "plain"
        for sub in ("runtime", "submission", "inbox") + (("work", "tmp") if plain else ()):
            os.mkdir(self.staging / sub, 0o755)
            os.chmod(self.staging / sub, 0o755)  # whatever the process umask is
        _write_files(self.staging / "runtime", runtime, "runtime_files")
        _write_files(self.staging / "submission", submission, "submission")
        inbox_binds = []
        for name, value in inbox.items():
            _safe_relpath(name, "inbox")
            if "/" in name:
                raise ValueError(f"inbox: {name!r} must be a plain file name")
            if isinstance(value, (bytes, bytearray, memoryview)):
                _write_files(self.staging / "inbox", {name: value}, "inbox")
                continue
            src = Path(value)
            if not src.is_file():
                raise ValueError(f"inbox: {name!r} -> {src} is not a file")
            st = src.stat()
            if not plain and st.st_mode & 0o004:  # world-readable: bind it, no copy
                _write_files(self.staging / "inbox", {name: b""}, "inbox")
                inbox_binds.append((str(src.resolve()), name))
            else:
                shutil.copyfile(src, self.staging / "inbox" / name, follow_symlinks=True)
                os.chmod(self.staging / "inbox" / name, 0o644)
        if prot.own_uid:
            try:
                self.lease = UidLease.acquire(avoid_uids)
            except (HostError, OSError) as e:
                raise SandboxUnavailable(f"cannot claim a sandbox uid ({e})") from None
        uid = self.uid
        if plain:
            paths = {k: str(self.staging / k) for k in ("runtime", "submission", "inbox", "work", "tmp")}
            if uid is not None:
                for sub in ("work", "tmp"):
                    os.chown(self.staging / sub, uid, uid)
                os.chown(self.staging, 0, uid)
                os.chmod(self.staging, 0o750)
        else:
            paths = {"runtime": "/runtime", "submission": "/submission", "inbox": "/inbox", "work": "/work",
                     "tmp": "/tmp"}
        self.paths = paths
        if prot.cgroup_version:
            name = f"{CGROUP_PREFIX}{uid if uid is not None else self.token[:12]}"
            try:
                self.cgroup = Cgroup(prot.cgroup_version, dict(prot.cgroup_dirs), name, limits.memory_mb,
                                     limits.processes, limits.cpus)
            except OSError as e:
                raise SandboxUnavailable(f"cannot create the sandbox cgroup ({e})") from None
        req_r, self.req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        for fd in (req_r, resp_w):
            try:
                fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ: fewer wake-ups for big arrays
            except OSError:
                pass
        os.set_blocking(self.req_w, False)
        mem = limits.memory_mb << 20
        rlimits = [(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 2)),
                   (resource.RLIMIT_FSIZE, (limits.file_mb << 20, limits.file_mb << 20)),
                   (resource.RLIMIT_CORE, (0, 0))]
        if "memory" not in prot.cgroup_controllers:
            rlimits.append((resource.RLIMIT_DATA, (mem, mem)))
        if uid is not None:
            rlimits.append((resource.RLIMIT_NPROC, (limits.processes, limits.processes)))
        elif "pids" not in prot.cgroup_controllers:
            n = tasks_of_uid(os.getuid()) + limits.processes
            rlimits.append((resource.RLIMIT_NPROC, (n, n)))
        if command is None:
            caps_json = json.dumps(Caps().to_dict())
            command = [sys.executable, "-P", "-s", "-m", "dlgrade.autograde.runtime.server", "--fd-in", str(req_r),
                       "--fd-out", str(resp_w), "--caps", caps_json]
            if prot.mode != "plain":
                command.append("--unix-sockets")
        if prot.mode == "bwrap-root":
            setpriv = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin") or "/usr/bin/setpriv"
            argv = _bwrap_argv(prot.bwrap, prot.mode, self.staging, limits, inbox_binds, list(prot.hidden))
            argv += ["--", setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                     "--bounding-set=-all", "--no-new-privs", "--"] + command
        elif prot.mode == "bwrap-userns":
            argv = _bwrap_argv(prot.bwrap, prot.mode, self.staging, limits, inbox_binds, list(prot.hidden))
            argv += ["--"] + command
        else:
            argv = command
        env = _sandbox_env(limits, paths, self.token)
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out_w, stderr=err_w, pass_fds=(req_r, resp_w), env=env,
                cwd=paths["work"] if plain else "/", start_new_session=True,
                preexec_fn=_preexec(self.cgroup.procs_files if self.cgroup else [], rlimits,
                                    uid if plain else None, subreaper=plain))
        except (OSError, subprocess.SubprocessError) as e:
            for fd in (req_r, resp_r, resp_w, out_r, out_w, err_r, err_w):
                os.close(fd)
            raise SandboxUnavailable(f"cannot start the sandbox ({type(e).__name__}: {e})") from None
        for fd in (req_r, resp_w, out_w, err_w):
            os.close(fd)
        self.reader = _Reader(resp_r)
        self.tails = [_Tail(out_r), _Tail(err_r)]
        for t in self.tails:
            t.start()

    # -- watching ---------------------------------------------------------------------------------

    def tick(self, force: bool = False) -> None:
        """Watchdogs: cgroup OOM kills (any process of the sandbox) and, without a memory cgroup, RSS."""
        now = time.monotonic()
        if not force and now - self._last_tick < _TICK_S:
            return
        self._last_tick = now
        if self.cgroup is not None and self.cgroup.oom_kills() > 0:
            raise _Watchdog("memory", f"a process of the sandbox was killed for using more than the memory limit "
                                      f"of {self.limits.memory_mb} MB (all processes and /tmp, /dev/shm, /work files count)")
        if "memory" not in self.prot.cgroup_controllers and self.proc is not None:
            rss = sum(self._rss().values())
            if rss > self.limits.memory_mb << 20:
                self.kill()
                self.watchdog_kill = ("memory", f"the sandbox's processes used {rss >> 20} MB, more than the limit "
                                                f"of {self.limits.memory_mb} MB (RSS watchdog, proportional set size)")
                raise _Watchdog(*self.watchdog_kill)

    def _rss(self) -> dict[int, int]:
        table = process_table()
        pids = set(descendants(self.proc.pid, table)) | {self.proc.pid}
        if self.uid is not None and self.prot.mode == "plain":
            pids |= set(pids_of_uid(self.uid))
        return {p: memory_bytes(p, table[p][1]) for p in pids if p in table}

    def exit_info(self, wait_s: float = 3.0) -> tuple[str, str]:
        """(cause, detail) for a sandbox whose reply stream ended."""
        try:
            rc = self.proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return "exit", "the sandbox closed its reply stream without exiting (it was killed)"
        if self.cgroup is not None and self.cgroup.oom_kills() > 0:
            return "memory", (f"the sandbox was killed for using more than the memory limit of "
                              f"{self.limits.memory_mb} MB (all processes and /tmp, /dev/shm, /work files count)")
        if self.watchdog_kill:
            return self.watchdog_kill
        sig = (rc - 128 if rc > 128 else None) if self.prot.mode != "plain" else (-rc if rc < 0 else None)
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and self._cpu_near_limit()):
            return "cpu", f"the sandbox used more than the CPU-time limit of {self.limits.cpu_s} s per process"
        if sig:
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            return "crash", f"the sandbox was killed by {name}" + self._stderr_hint()
        return "exit", f"the sandbox exited with status {rc} without answering (os._exit?)" + self._stderr_hint()

    def _cpu_near_limit(self) -> bool:
        used = self.cgroup.cpu_seconds() if self.cgroup is not None else None
        return used is not None and used >= self.limits.cpu_s - 0.5

    def _stderr_hint(self) -> str:
        text = self.tails[1].raw().strip() if len(self.tails) > 1 else ""
        return f"; last output: {printable(text[-600:], 600)}" if text else ""

    def tail(self, limit: int) -> str:
        parts = [t.raw() for t in self.tails]
        text = "\n".join(p for p in parts if p)
        return printable(text[-limit:] if len(text) > limit else text, limit)

    # -- teardown ---------------------------------------------------------------------------------

    def kill(self) -> None:
        """Kills every process of the sandbox: first all but bubblewrap's outer process (so that it
        reaps its child and leaves no zombie to the host's init), then that one."""
        proc = self.proc
        alive = proc is not None and proc.poll() is None
        outer = alive and self.prot.mode != "plain"  # in plain mode, proc is the server itself
        if self.cgroup is not None:
            self.cgroup.kill_all(spare=proc.pid if outer else None)
        elif alive:
            kill_all(descendants(proc.pid, process_table()))
        if outer:
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        if alive:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    proc.kill()
                except ProcessLookupError:
                    pass
        if self.cgroup is not None:
            self.cgroup.kill_all()

    def destroy(self) -> None:
        """Kills every process of the sandbox and removes everything it had. Idempotent."""
        if self._closed:
            return
        self._closed = True
        proc = self.proc
        if proc is not None:
            # Without a cgroup, find the sandbox's processes by ancestry (gathered before its root dies)
            # and by the token in their environment; a dying pid namespace also takes a moment.
            tree = descendants(proc.pid, process_table()) if self.cgroup is None else []
            self.kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            if self.cgroup is None:
                token = f"DLGRADE_SANDBOX_TOKEN={self.token}".encode()
                for _ in range(250):
                    alive = process_table()
                    left = [p for p in tree if p in alive] + pids_with_token(token)
                    if not left:
                        break
                    kill_all(left)
                    time.sleep(0.02)
        if self.uid is not None:  # belt and braces: nothing may run under this uid any more
            for _ in range(250):
                left = pids_of_uid(self.uid)
                if not left:
                    break
                kill_all(left)
                time.sleep(0.02)
        for fd in (self.req_w, self.reader.fd if self.reader else None):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        for t in self.tails:
            t.join(timeout=2)
        if self.cgroup is not None:
            self.cgroup.remove()
        if self.prot.mode == "plain" and self.uid is not None:
            for d in ("/tmp", "/var/tmp", "/dev/shm"):  # no private tmpfs: remove what the uid left
                try:
                    for entry in os.scandir(d):
                        if entry.stat(follow_symlinks=False).st_uid == self.uid:
                            if entry.is_dir(follow_symlinks=False):
                                shutil.rmtree(entry.path, ignore_errors=True)
                            else:
                                os.unlink(entry.path)
                except OSError:
                    pass
        shutil.rmtree(self.staging, ignore_errors=True)
        if self.lease is not None:
            self.lease.release()


# ---------------------------------------------------------------------------------------- Session

class Session:
    """One throwaway sandbox with the runtime server in it; restartable.

    Args:
        runtime_files: relative path -> bytes of harness modules for ``run`` (e.g.
            ``{"dlgrade/questions/hw6_q1/harness.py": ...}``); the core runtime (protocol, server,
            package ``__init__`` files) is always added. Only these files are importable under ``dlgrade.``.
            The student's code can read every one of them: never put reference solutions, expected
            values, hidden checks or rubrics here -- harness code only computes and returns data.
        submission: file name -> bytes of the student's files (already read safely), read-only at
            ``/submission``.
        inbox: file name -> bytes, or a path of a trusted file (bound read-only, or copied), read-only
            at ``/inbox``.
        limits: :class:`Limits`.
        caps: :class:`~dlgrade.autograde.protocol.Caps` for what the sandbox may send back.

    Raises:
        SandboxUnavailable: a layer failed to start.
        ValueError, TypeError: bad file names or contents.
    """

    def __init__(self, runtime_files: dict | None = None, submission: dict | None = None,
                 inbox: dict | None = None, limits: Limits | None = None, caps: Caps | None = None):
        self.limits = limits or Limits()
        self.caps = caps or Caps()
        self.notes: list[str] = []
        self.module: dict | None = None
        self._runtime = _runtime_bundle(runtime_files)
        self._submission = {k: bytes(v) for k, v in (submission or {}).items()}
        for k in self._submission:
            _safe_relpath(k, "submission")
        self._inbox = dict(inbox or {})
        self.protections = protections()
        if self.protections.mode == "none":
            raise SandboxUnavailable("no safe way to run student code on this machine:\n" + self.protections.describe())
        self._loaded: tuple[str, str] | None = None
        self._box: _Box | None = None
        self._finalizer = None
        self._start()

    # -- lifecycle --------------------------------------------------------------------------------

    def _start(self, avoid: set | None = None) -> None:
        self._box = _Box(self.protections, self.limits, self._runtime, self._submission, self._inbox,
                         avoid_uids=avoid)
        self._finalizer = weakref.finalize(self, self._box.destroy)

    def restart(self) -> None:
        """Tears down this sandbox and starts a FRESH one (new uid, cgroup, tmpfs); reloads the module."""
        old_uid = self.uid
        self._destroy()
        self._start(avoid={old_uid} if old_uid is not None else None)
        if self._loaded:
            self.load(*self._loaded)

    def close(self) -> None:
        """Kills everything of the sandbox and removes every trace. Idempotent.

        No polite ``exit`` request first: the student's atexit handlers must not run anyway, and a
        server that exits by itself makes bubblewrap's outer process leave before reaping the
        namespace's init (a zombie for the host's init to reap)."""
        self._destroy()

    def _destroy(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # runs box.destroy once
            self._finalizer = None
        self._box = None

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self._box is not None and self._box.proc is not None and self._box.proc.poll() is None

    @property
    def uid(self) -> int | None:
        """The sandbox's own uid (``None`` where sandboxes cannot have one)."""
        return self._box.uid if self._box else None

    def resources(self) -> dict:
        """What this sandbox holds on the host (for tests and diagnostics)."""
        box = self._box
        if box is None:
            return {}
        return {"uid": box.uid, "pid": box.proc.pid if box.proc else None, "staging": str(box.staging),
                "cgroups": list(box.cgroup.unique_dirs) if box.cgroup else [], "token": box.token}

    def tail(self, limit: int = 4000) -> str:
        """The last output of the sandbox (stdout and stderr), safe to print: no ANSI or control characters."""
        return self._box.tail(limit) if self._box else ""

    # -- requests ---------------------------------------------------------------------------------

    def ping(self, timeout: float | None = None) -> dict:
        """Round trip to the server; returns its ``pid`` and ``uid`` (as seen inside)."""
        return self._request({"type": "ping"}, [], timeout)

    def load(self, filename: str, module_name: str | None = None, timeout: float | None = None) -> dict:
        """Imports the student's file inside the sandbox.

        Returns:
            ``{"module", "functions", "imported"}``: the names of the callables the file defines
            and of those it imported.

        Raises:
            StudentError: importing raised (``SyntaxError``, ``SystemExit``, ...), with the student's file:line.
            SandboxDied: see :class:`SandboxDied`.
        """
        if filename not in self._submission:
            raise ValueError(f"{filename!r} is not in the submission; it has {sorted(self._submission)[:20]}")
        if not filename.endswith(".py"):
            raise ValueError(f"{filename!r} is not a .py file")
        if module_name is None:
            stem = PurePosixPath(filename).stem
            module_name = stem if stem.isidentifier() else "student_module"
        if not all(part.isidentifier() for part in module_name.split(".")) or module_name.split(".")[0] == "dlgrade":
            raise ValueError(f"module_name {module_name!r} must be a dotted identifier outside dlgrade")
        path = f"{self._box.paths['submission'] if self._box else '/submission'}/{filename}"
        info = self._request({"type": "load", "path": path, "name": module_name}, [], timeout)
        self._loaded = (filename, module_name)
        self.module = info
        return info

    def call(self, function: str, args: tuple | list = (), kwargs: dict | None = None,
             timeout: float | None = None) -> Any:
        """Calls ``function(*args, **kwargs)`` of the loaded module; returns its value as data.

        Raises:
            StudentError: the function raised.
            SandboxDied: timeout, memory, cpu, crash, exit or protocol; the sandbox is gone.
        """
        if not isinstance(function, str) or not function.isidentifier():
            raise ValueError(f"function must be an identifier, got {function!r}")
        a_tree, arrays = encode(list(args), _REQUEST_CAPS, depth=1)
        k_tree, k_arrays = encode(dict(kwargs or {}), _REQUEST_CAPS, depth=1)
        k_tree = _shift_arrays(k_tree, len(arrays))
        return self._request({"type": "call", "function": function, "args": a_tree, "kwargs": k_tree},
                             arrays + k_arrays, timeout)

    def run(self, target: str, kwargs: dict | None = None, timeout: float | None = None,
            on_progress: Callable[[str], None] | None = None) -> Any:
        """Runs harness ``"package.module:function"`` from the runtime bundle as ``fn(student_module, **kwargs)``.

        ``on_progress(text)`` receives the harness's progress lines (control characters removed).
        """
        if not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", str(target)):
            raise ValueError(f"target must look like 'package.module:function', got {target!r}")
        module = target.split(":")[0].replace(".", "/")
        if f"{module}.py" not in self._runtime and f"{module}/__init__.py" not in self._runtime:
            raise ValueError(f"{target!r}: module {target.split(':')[0]} is not in the runtime bundle")
        k_tree, arrays = encode(dict(kwargs or {}), _REQUEST_CAPS, depth=1)
        return self._request({"type": "run", "target": target, "kwargs": k_tree}, arrays, timeout, on_progress)

    def _note(self, text: str) -> None:
        _note_list_add(self.notes, text)

    def _request(self, header: dict, arrays: list, timeout: float | None,
                 on_progress: Callable[[str], None] | None = None) -> Any:
        box = self._box
        if box is None:
            raise SandboxDied("exit", "the sandbox is not running (it died or was closed); call restart()")
        timeout = self.limits.timeout_s if timeout is None else float(timeout)
        rid = secrets.token_hex(8)
        data = memoryview(frame_bytes({**header, "id": rid}, arrays))
        deadline = time.monotonic() + timeout
        box.reader.deadline = deadline
        box.reader.tick = box.tick
        ignored = 0
        try:
            while data:  # send (non-blocking, so a stuck server cannot hang us past the deadline)
                now = time.monotonic()
                if now >= deadline:
                    raise _Deadline()
                _, ready, _ = select.select([], [box.req_w], [], min(_TICK_S, deadline - now))
                box.tick()
                if ready:
                    try:
                        data = data[os.write(box.req_w, data[: 1 << 20]):]
                    except BlockingIOError:
                        continue
                    except BrokenPipeError:
                        raise TruncatedMessage("the sandbox stopped reading") from None
            while True:
                msg = read_message(box.reader, self.caps)
                if msg is None:
                    raise TruncatedMessage("end of stream")
                h = msg.header
                kind = h.get("type")
                if h.get("id") != rid:
                    ignored += 1
                    self._note(f"ignored a {str(kind)[:30]!r} frame that does not answer this request")
                    if ignored > 10_000:
                        raise ProtocolError("more than 10000 frames that answer no request")
                    continue
                if kind == "progress":
                    if on_progress is not None:
                        on_progress(printable(h.get("text", ""), 500))
                    continue
                if kind == "result":
                    value = decode(h.get("value"), msg.arrays)
                    box.tick(force=True)
                    return value
                if kind == "error":
                    box.tick(force=True)
                    raise _student_error(h, header["type"])
                if kind == "unsendable":
                    raise ProtocolError(f"the {header['type']} result cannot be sent back: "
                                        f"{printable(h.get('message', ''), 500)}")
                self._note(f"ignored a frame of unknown type {str(kind)[:30]!r}")
        except _Deadline:
            extra = ""
            try:
                box.tick(force=True)
            except _Watchdog:
                extra = " (a process was also killed for memory)"
            self._die("timeout", f"no answer to {header['type']} within {timeout:g} s{extra}")
        except _Watchdog as e:
            self._die(e.cause, e.detail)
        except TruncatedMessage:
            self._die(*box.exit_info())
        except ProtocolError as e:
            self._die("protocol", str(e))

    def _die(self, cause: str, detail: str):
        self._destroy()
        raise SandboxDied(cause, detail) from None


def _student_error(reply: dict, phase: str) -> StudentError:
    """A :class:`StudentError` from an ``error`` reply, every field checked and cleaned (it is data
    from the sandbox, like everything else)."""
    err = reply.get("error") if isinstance(reply.get("error"), dict) else {}
    raw_frames = err.get("frames") if isinstance(err.get("frames"), list) else []
    frames = [{"file": printable(f.get("file", ""), 200),
               "line": f.get("line") if type(f.get("line")) is int else 0,
               "function": printable(f.get("function", ""), 200)}
              for f in raw_frames[:20] if isinstance(f, dict)]
    return StudentError(printable(err.get("type", "Exception"), 200), printable(err.get("message", ""), 2000),
                        printable(err.get("where", ""), 300), frames, printable(reply.get("phase", phase), 20))


def _shift_arrays(tree: Any, offset: int) -> Any:
    """Renumbers ``__nd__``/``__bytes__`` markers (to join two encoded trees into one message)."""
    if offset == 0:
        return tree
    if isinstance(tree, list):
        return [_shift_arrays(x, offset) for x in tree]
    if isinstance(tree, dict):
        if len(tree) == 1 and next(iter(tree)) in ("__nd__", "__bytes__"):
            ((k, v),) = tree.items()
            return {k: v + offset}
        if len(tree) == 1 and next(iter(tree)) == "__object__":
            return tree
        return {k: _shift_arrays(v, offset) for k, v in tree.items()}
    return tree


# ------------------------------------------------------------------------------------- the probe

_PROBE = r"""
import json, os, socket, sys
out = {"uid": os.getuid(), "pid": os.getpid(), "ns": {}}
for n in ("pid", "mnt", "net", "ipc", "uts", "cgroup"):
    try:
        out["ns"][n] = os.readlink("/proc/self/ns/" + n)
    except OSError:
        out["ns"][n] = None
out["proc"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())[:100]
st = os.statvfs(os.environ["TMPDIR"])
out["tmp_bytes"] = st.f_blocks * st.f_frsize
out["package_visible"] = os.path.exists(sys.argv[1])
s = socket.socket()
s.settimeout(2)
try:
    s.connect(("127.0.0.1", 9))
    out["net"] = "connected"
except OSError as e:
    out["net"] = e.errno
print("DLGRADE-PROBE " + json.dumps(out), flush=True)
import time
time.sleep(60)  # killed by the caller (a sandbox that exits by itself leaves bubblewrap's init a zombie)
"""


def _bwrap_path() -> tuple[str | None, str]:
    if "DLGRADE_BWRAP" in os.environ:
        value = os.environ["DLGRADE_BWRAP"]
        if not value:
            return None, "disabled by DLGRADE_BWRAP=''"
        return (value, "") if os.access(value, os.X_OK) else (None, f"DLGRADE_BWRAP={value} is not executable")
    found = shutil.which("bwrap")
    return (found, "") if found else (None, "bubblewrap is not installed (Debian package `bubblewrap`)")


def _try_mode(mode: str, bwrap: str | None, cg_version, cg_dirs: dict, hidden: list) -> tuple[dict | None, str]:
    controllers = tuple(sorted(cg_dirs))
    prot = Protections(root=os.geteuid() == 0, mode=mode, bwrap=bwrap, bwrap_version="",
                       own_uid=mode == "bwrap-root" or (mode == "plain" and os.geteuid() == 0), namespaces=(),
                       own_proc=False, tmpfs_size=False, cgroup_version=cg_version, cgroup_controllers=controllers,
                       rss_watchdog="memory" not in controllers, cgroup_dirs=tuple(sorted(cg_dirs.items())),
                       hidden=tuple(hidden))
    limits = Limits(memory_mb=512, processes=64, tmp_mb=8, cpu_s=30)
    box = None
    try:
        box = _Box(prot, limits, _runtime_bundle(None), {}, {},
                   command=[sys.executable, "-I", "-c", _PROBE, str(_PACKAGE_DIR)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for line in box.tails[0].raw().splitlines():
                if line.startswith("DLGRADE-PROBE ") and line.endswith("}"):
                    result = json.loads(line[len("DLGRADE-PROBE "):])
                    result["sandbox_uid"] = box.uid
                    return result, ""
            rc = box.proc.poll()
            if rc is not None:
                for t in box.tails:
                    t.join(timeout=2)
                if "DLGRADE-PROBE " not in box.tails[0].raw():
                    err = printable(box.tails[1].raw().strip()[-300:], 300)
                    return None, f"the probe exited with status {rc}: {err or 'no output'}"
            time.sleep(0.01)
        return None, "the probe did not answer within 30 s"
    except (SandboxUnavailable, OSError) as e:
        return None, printable(str(e), 300)
    finally:
        if box is not None:
            box.destroy()


@lru_cache(maxsize=1)
def protections() -> Protections:
    """Probes once (cached) which protections work on this machine, by starting a probe sandbox."""
    root = os.geteuid() == 0
    cg_version, cg_dirs, cg_reason = detect_cgroups()
    if cg_version:  # check that a sandbox cgroup can really be created here
        if root:
            sweep_stale_cgroups(cg_dirs)
        try:
            Cgroup(cg_version, cg_dirs, f"dlgrade-probe-{os.getpid()}-{secrets.token_hex(4)}", 64, 16, 1.0).remove()
        except OSError as e:
            cg_version, cg_dirs, cg_reason = None, {}, f"cannot create a cgroup under {sorted(set(cg_dirs.values()))} ({e})"
    bwrap, bwrap_reason = _bwrap_path()
    version = ""
    if bwrap:
        try:
            version = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError) as e:
            bwrap, bwrap_reason = None, f"{bwrap} --version failed ({e})"
    hidden = _hidden_paths(_ro_binds())
    failures = []
    result, mode = None, "plain"
    # As root, never bubblewrap in a user namespace: the sandbox would still be uid 0 on files.
    for candidate in ("bwrap-root" if root else "bwrap-userns", "plain"):
        if candidate != "plain" and not bwrap:
            continue
        result, why = _try_mode(candidate, bwrap if candidate != "plain" else None, cg_version, cg_dirs, hidden)
        if result is not None:
            mode = candidate
            break
        failures.append(f"{candidate}: {why}")
    if result is None:  # as root without a working uid drop: student code must not run as root
        mode, result = "none", {}
    outside = {}
    for n in ("pid", "mnt", "net", "ipc", "uts", "cgroup"):
        try:
            outside[n] = os.readlink(f"/proc/self/ns/{n}")
        except OSError:
            outside[n] = None
    inside = result.get("ns", {})
    namespaces = tuple(n for n in outside if inside.get(n) and outside[n] and inside[n] != outside[n])
    own_proc = "pid" in namespaces and len(result.get("proc", [])) <= 4
    tmpfs = mode != "plain" and abs(result.get("tmp_bytes", 0) - (8 << 20)) <= (1 << 20)
    own_uid = result.get("sandbox_uid") is not None and result.get("uid") == result.get("sandbox_uid") != os.getuid()
    controllers = tuple(sorted(cg_dirs))
    bwrap_label = f"{version or 'bubblewrap'} at {bwrap}" if bwrap else ""

    items = []

    def add(name: str, active: bool, yes: str, no: str) -> None:
        items.append(Protection(name, bool(active), yes if active else no))

    why_bwrap = "; ".join(filter(None, [bwrap_reason] + failures)) or "not usable"
    fallback = ("student code runs as a plain subprocess" if mode == "plain" else
                "NO SANDBOX CAN RUN: student code would run as root (install bubblewrap, or let other users "
                "read the Python installation, or run the grader as a non-root user)")
    add("bubblewrap sandbox", mode.startswith("bwrap"),
        f"{bwrap_label}, {'started as root, then setpriv to the sandbox uid' if mode == 'bwrap-root' else 'unprivileged, in a user namespace'}",
        f"{why_bwrap}; {fallback}")
    add("own uid per sandbox", own_uid,
        f"a uid from {UID_BASE}..{UID_BASE + UID_COUNT - 1}, held with a lock file in {UID_LOCK_DIR}",
        "not root: the sandbox runs under the grader's uid" if not root else "the probe did not run under its own uid")
    if result.get("net") == "connected":
        namespaces = tuple(n for n in namespaces if n != "net")
    labels = {"pid": ("pid namespace", "the sandbox cannot see or signal host processes"),
              "mnt": ("mount namespace", "sees only /usr, /etc, Python, /runtime, /submission, /inbox and its tmpfs"),
              "net": ("network namespace", f"no network (a probe's connect failed with errno {result.get('net')})"),
              "ipc": ("IPC namespace", "own System V IPC and POSIX message queues"),
              "uts": ("UTS namespace", "own hostname"), "cgroup": ("cgroup namespace", "own cgroup root")}
    for n, (label, detail) in labels.items():
        add(label, n in namespaces, detail, "not isolated" + ("" if mode != "plain" else " (no bubblewrap)"))
    add("own /proc", own_proc, "shows only the sandbox's processes", "the host's /proc is visible")
    add("private size-capped tmpfs (/tmp, /dev/shm, /work)", tmpfs, "tmpfs per sandbox, gone with it",
        "the sandbox writes into a staging folder and the host's /tmp and /dev/shm"
        + ("; files its uid leaves there are removed" if mode == "plain" and root else ""))
    add("dlgrade package hidden", mode != "plain" and not result.get("package_visible", True),
        "import dlgrade.* finds only the runtime bundle", "the grader's files are readable by the sandbox")
    cg_label = f"cgroup v{cg_version}" if cg_version else "cgroup"
    add(f"{cg_label} memory limit", "memory" in controllers,
        "counts every process and tmpfs page; OOM kills are detected", cg_reason or "no memory controller")
    add(f"{cg_label} pids limit", "pids" in controllers, "stops fork bombs", cg_reason or "no pids controller")
    add(f"{cg_label} CPU quota", "cpu" in controllers, "cfs quota / cpu.max", cg_reason or "no cpu controller")
    add(f"{cg_label} kill of everything", bool(cg_version) and ("freezer" in controllers or cg_version == 2),
        "freeze, SIGKILL all, thaw, until empty" if cg_version == 1 else "cgroup.kill",
        cg_reason or "no freezer controller (processes are killed one by one)")
    add("rlimits", True, "RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_CORE"
        + (", RLIMIT_NPROC" if own_uid or "pids" not in controllers else "")
        + (", RLIMIT_DATA" if "memory" not in controllers else ""), "")
    add("RSS watchdog", "memory" not in controllers,
        "sums the memory (PSS) of the sandbox's processes 4 times a second during a request "
        "(tmpfs files are not counted)",
        "not needed: the memory cgroup counts everything")
    add("network audit hook", True, "socket connect/bind/sendto/getaddrinfo raise NetworkRefused", "")
    return Protections(root=root, mode=mode, bwrap=bwrap if mode != "plain" else None, bwrap_version=version,
                       own_uid=own_uid, namespaces=namespaces, own_proc=own_proc, tmpfs_size=tmpfs,
                       cgroup_version=cg_version, cgroup_controllers=controllers,
                       rss_watchdog="memory" not in controllers, items=tuple(items),
                       cgroup_dirs=tuple(sorted(cg_dirs.items())), hidden=tuple(hidden))


if __name__ == "__main__":
    print(protections().describe())
