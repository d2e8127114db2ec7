"""Run untrusted student code in a child process with limits.

What a sandboxed child gets (each layer is used where the OS allows it; :func:`capabilities`
says which are active on this machine):

- a **wall-clock limit** (the parent kills the whole process group when it is exceeded);
- a **CPU-time limit** (``RLIMIT_CPU``: the kernel sends SIGXCPU, then SIGKILL);
- a **memory limit**: ``RLIMIT_DATA`` (heap and anonymous mappings; unlike ``RLIMIT_AS`` it does not
  count the huge address-space reservations TensorFlow makes) plus a resident-set watchdog in the
  parent that kills the child when its RSS passes the limit;
- **no network**: a fresh network namespace (only a downed loopback) when running as root or
  where unprivileged user namespaces are allowed; in every case an audit hook in the child also
  refuses ``socket.connect``/``bind``/``sendto``, so an attempt gets a clear verdict;
- a **private temporary working directory** (``HOME``, ``TMPDIR`` and the cwd point into it);
- **no write access to the instructor's files**: as root the child drops to ``nobody`` (uid 65534)
  after entering a private mount namespace in which home folders that hide the Python
  interpreter (e.g. ``/root`` holding pyenv) are replaced by a read-only view of just that tree.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

NOBODY = 65534
CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWUSER = 0x00020000, 0x40000000, 0x10000000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18


@dataclass(frozen=True)
class Limits:
    """Limits for one sandboxed child.

    Attributes:
        wall_s: wall-clock seconds for the whole child (a task run) or per check (unit checks).
        startup_s: wall-clock seconds to start Python and import the student's module.
        cpu_s: CPU seconds (``RLIMIT_CPU``) for the whole child.
        memory_mb: memory limit (``RLIMIT_DATA`` and the RSS watchdog).
        threads: BLAS/TensorFlow threads per child (1 lets a batch run one child per core).
        file_mb: largest file a child may write (``RLIMIT_FSIZE``).
        processes: processes and threads the unprivileged uid may hold (``RLIMIT_NPROC``; stops fork
            bombs; TensorFlow's thread pools need a few dozen).
    """

    wall_s: float = 20.0
    startup_s: float = 120.0
    cpu_s: int = 300
    memory_mb: int = 3072
    threads: int = 1
    file_mb: int = 512
    processes: int = 256
    run_wall_s: float | None = None  # wall-clock limit of a task run (default per profile)


@dataclass
class ChildEnd:
    """How a child process ended."""

    returncode: int | None
    cause: str  # "ok", "exit", "signal", "timeout", "memory", "cpu"
    detail: str
    stderr_tail: str = ""
    elapsed_s: float = 0.0


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _closed_ancestors(path: Path) -> list[tuple[Path, Path]]:
    """(dir, child) pairs on ``path`` where ``dir`` is not searchable by others (e.g. /root/.pyenv/...)."""
    out = []
    parts = Path(path).resolve().parts
    for i in range(1, len(parts) - 1):
        d = Path(*parts[: i + 1])
        try:
            if not os.stat(d).st_mode & 0o001:
                out.append((d, Path(*parts[: i + 2])))
        except OSError:
            pass
    return out


def _interpreter_paths() -> list[Path]:
    return [Path(sys.executable).resolve(), Path(sys.base_prefix).resolve() / "lib", Path(sys.prefix).resolve()]


def _setup_child(netns: bool, drop: bool, userns: bool, limits: Limits, stage: str | None, exposes: list[tuple[str, str]]):
    """The pre-exec function: namespaces, mounts, limits, then the unprivileged uid."""

    def pre():
        os.setsid()
        libc = _libc()
        if drop:  # root: network + mount namespace, expose the interpreter, then become nobody
            flags = CLONE_NEWNS | (CLONE_NEWNET if netns else 0)
            if libc.unshare(flags) != 0:
                os._exit(97)
            if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
                os._exit(97)
            for i, (closed, keep) in enumerate(exposes):
                st = f"{stage}/{i}".encode()
                if libc.mount(keep.encode(), st, None, MS_BIND | MS_REC, None) != 0:
                    os._exit(97)
                if libc.mount(b"tmpfs", closed.encode(), b"tmpfs", 0, b"mode=755,size=1m") != 0:
                    os._exit(97)
                os.makedirs(keep, exist_ok=True)
                if libc.mount(st, keep.encode(), None, MS_BIND | MS_REC, None) != 0:
                    os._exit(97)
                libc.mount(None, keep.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_REC, None)
        elif userns:  # unprivileged: a user namespace lets us take a private network namespace
            if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
                os._exit(97)
        mem = limits.memory_mb << 20
        resource.setrlimit(resource.RLIMIT_DATA, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb << 20, limits.file_mb << 20))
        os.nice(5)
        if drop:
            # Counted per uid and only enforced once we are no longer root.
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)

    return pre


@lru_cache(maxsize=1)
def capabilities() -> dict[str, Any]:
    """Which isolation layers work on this machine (probed once by starting a tiny child)."""
    caps = {"root": os.geteuid() == 0, "netns": False, "drop_uid": False, "userns": False,
            "rlimit_data": True, "rlimit_cpu": True, "rss_watchdog": True, "audit_hook": True}
    probe = "import socket,os;print(os.getuid());s=socket.socket();s.settimeout(1)\ntry:\n s.connect(('1.1.1.1',53));print('net')\nexcept OSError as e:print('nonet',e.errno)"
    attempts = [("root", dict(netns=True, drop=True, userns=False))] if caps["root"] else []
    attempts.append(("userns", dict(netns=False, drop=False, userns=True)))
    for name, opts in attempts:
        work = Path(tempfile.mkdtemp(prefix="dlgrade-probe-"))
        try:
            os.chmod(work, 0o777)
            p = subprocess.run([sys.executable, "-c", probe], cwd=work, capture_output=True, text=True, timeout=60,
                               preexec_fn=_setup_child(limits=Limits(), stage=str(work), exposes=_exposes(work) if opts["drop"] else [], **opts))
            out = p.stdout.split()
            if p.returncode == 0 and out:
                caps["netns"] = "nonet" in out
                caps["drop_uid"] = out[0] == str(NOBODY)
                caps["userns"] = name == "userns"
                caps["mode"] = name
                break
        except (OSError, subprocess.SubprocessError):
            continue
        finally:
            _rmtree(work)
    caps.setdefault("mode", "plain")
    return caps


def _exposes(stage: Path) -> list[tuple[str, str]]:
    pairs = []
    for p in _interpreter_paths():
        for closed, keep in _closed_ancestors(p):
            if (str(closed), str(keep)) not in pairs:
                pairs.append((str(closed), str(keep)))
    for i in range(len(pairs)):
        (Path(stage) / str(i)).mkdir(parents=True, exist_ok=True)
    return pairs


def describe() -> str:
    """One line per isolation layer: enforced or not on this machine."""
    c = capabilities()
    yes = lambda b: "enforced" if b else "NOT available"  # noqa: E731
    return "\n".join([
        f"wall-clock limit: enforced (parent kills the process group)",
        f"CPU-time limit: enforced (RLIMIT_CPU)",
        f"memory limit: enforced (RLIMIT_DATA + RSS watchdog)",
        f"process/thread limit (fork bombs): {yes(c['drop_uid'])} (RLIMIT_NPROC for the unprivileged uid)",
        f"network: namespace {yes(c['netns'])}; socket audit hook enforced",
        f"private temporary working directory: enforced",
        f"instructor files read-only: {yes(c['drop_uid'])} (child runs as uid {NOBODY if c['drop_uid'] else os.getuid()})",
    ])


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


class Workdir:
    """A private temporary folder for one child (owned by the child's uid); removed on exit."""

    def __init__(self, prefix: str = "dlgrade-sbx-"):
        self.path = Path(tempfile.mkdtemp(prefix=prefix))
        (self.path / "home").mkdir()
        (self.path / "stage").mkdir()
        self.stage = self.path / "stage"
        os.chmod(self.path, 0o755)
        if capabilities()["drop_uid"]:
            for p in (self.path / "home",):
                os.chown(p, NOBODY, NOBODY)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _rmtree(self.path)


def child_env(work: Path, limits: Limits) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "DLGRADE_DATA", "DLGRADE_OFFLINE", "TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    home = str(work / "home")
    t = str(limits.threads)
    env.update({"HOME": home, "TMPDIR": home, "MPLCONFIGDIR": home, "KERAS_HOME": home + "/.keras",
                "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "DLGRADE_OFFLINE": "1",
                "TF_CPP_MIN_LOG_LEVEL": env.get("TF_CPP_MIN_LOG_LEVEL", "2"), "MPLBACKEND": "Agg",
                "OMP_NUM_THREADS": t, "OPENBLAS_NUM_THREADS": t, "MKL_NUM_THREADS": t,
                "TF_NUM_INTRAOP_THREADS": t, "TF_NUM_INTEROP_THREADS": t, "DLGRADE_SANDBOXED": "1"})
    return env


def _rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants (MiB)."""
    total = 0.0
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * resource.getpagesize() / 2**20
        except (OSError, ValueError, IndexError):
            pass
    return total


_LIVE: set[subprocess.Popen] = set()


def kill_all() -> None:
    """Kill every sandboxed child still running (on SIGTERM/Ctrl-C of the grader)."""
    for proc in list(_LIVE):
        kill(proc)


def start(args: list[str], work: Path, limits: Limits) -> subprocess.Popen:
    """Start ``python args...`` sandboxed in ``work`` (stdout/stderr to files there)."""
    c = capabilities()
    drop = c["drop_uid"]
    exposes = _exposes(work / "stage") if drop else []
    out = open(work / "stdout.txt", "wb")
    err = open(work / "stderr.txt", "wb")
    try:
        proc = subprocess.Popen([sys.executable, *args], cwd=str(work / "home"), env=child_env(work, limits),
                                stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                preexec_fn=_setup_child(netns=c["netns"] and drop, drop=drop, userns=c["userns"], limits=limits,
                                                        stage=str(work / "stage"), exposes=exposes))
        _LIVE.add(proc)
        return proc
    finally:
        out.close()
        err.close()


def kill(proc: subprocess.Popen) -> None:
    """Kill ``proc`` and its process group, and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except ProcessLookupError:
        pass
    proc.wait()


def classify(proc: subprocess.Popen, work: Path, reason: str | None, limits: Limits, elapsed: float) -> ChildEnd:
    """Turn how ``proc`` ended into a cause and a human-readable detail."""
    rc = proc.returncode
    tail = ""
    try:
        tail = (work / "stderr.txt").read_bytes()[-3000:].decode("utf-8", "replace")
    except OSError:
        pass
    if reason == "timeout":
        return ChildEnd(rc, "timeout", f"no result within the {limits.wall_s:g} s wall-clock limit (an infinite loop or far too slow)", tail, elapsed)
    if reason == "memory":
        return ChildEnd(rc, "memory", f"used more than the {limits.memory_mb} MiB memory limit and was stopped", tail, elapsed)
    if rc == 0:
        return ChildEnd(rc, "ok", "finished", tail, elapsed)
    if rc is not None and rc < 0:
        sig = -rc
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and elapsed >= limits.cpu_s * 0.9):
            return ChildEnd(rc, "cpu", f"used more than the {limits.cpu_s} s CPU-time limit", tail, elapsed)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        what = {"SIGSEGV": "segmentation fault", "SIGABRT": "aborted", "SIGBUS": "bus error", "SIGFPE": "arithmetic fault",
                "SIGKILL": "killed"}.get(name, "killed by a signal")
        return ChildEnd(rc, "signal", f"the process crashed: {what} ({name})", tail, elapsed)
    if rc == 97:
        return ChildEnd(rc, "exit", "the sandbox could not be set up (namespaces/mounts refused)", tail, elapsed)
    if "MemoryError" in tail[-600:]:
        return ChildEnd(rc, "memory", f"ran out of memory (limit {limits.memory_mb} MiB)", tail, elapsed)
    return ChildEnd(rc, "exit", f"the process exited with code {rc} without reporting a result (os._exit or a fatal error)", tail, elapsed)


def watch(proc: subprocess.Popen, limits: Limits, deadline_fn, poll=None) -> str | None:
    """Wait for ``proc``; kill it at the deadline or when its RSS passes the limit.

    ``deadline_fn()`` returns the current absolute deadline (it may move, e.g. per check);
    ``poll()`` is called on every tick. Returns ``None``, ``"timeout"`` or ``"memory"``.
    """
    try:
        while True:
            if poll:
                poll()
            if proc.poll() is not None:
                if poll:
                    poll()
                return None
            if time.monotonic() > deadline_fn():
                kill(proc)
                return "timeout"
            if _rss_mb(proc.pid) > limits.memory_mb:
                kill(proc)
                return "memory"
            time.sleep(0.05)
    except BaseException:
        kill(proc)
        raise
    finally:
        _LIVE.discard(proc)


def write_job(work: Path, job: dict[str, Any]) -> Path:
    path = work / "job.json"
    path.write_text(json.dumps(job), encoding="utf-8")
    os.chmod(path, 0o644)
    return path


def prepare_outbox(work: Path, name: str) -> Path:
    """A folder the child may write into (owned by the child's uid)."""
    d = work / name
    d.mkdir(exist_ok=True)
    if capabilities()["drop_uid"]:
        os.chown(d, NOBODY, NOBODY)
    return d
