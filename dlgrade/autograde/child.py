"""The sandboxed side of grading: ``python -m dlgrade.autograde.child JOB.json``.

Two kinds of job:

- ``checks``: import the student's module and run hidden checks one by one, appending one JSON
  line per event to ``events.jsonl`` (``start`` before a check, ``result`` after it) so the parent
  knows which check was running if the process dies or hangs.
- ``run``: run the task (``profile``, ``seed``) with the student's functions swapped in and write
  its ``results.json`` into the outbox.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import time
import traceback
from pathlib import Path


class NetworkRefused(PermissionError):
    """Raised when student code tries to use the network."""


def _install_network_guard() -> None:
    def hook(event, args):
        if event in ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo"):
            target = args[:2] if event == "socket.getaddrinfo" else (args[1] if len(args) > 1 else args)
            raise NetworkRefused(f"network access is not allowed while grading ({event} {target!r})")

    sys.addaudithook(hook)


def load_student(path: str, task_id: str):
    name = "student_" + task_id.replace(".", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def describe_exception(e: BaseException) -> tuple[str, str]:
    """(verdict code, short detail) for an exception raised by student code or a check."""
    from dlgrade.kit.hidden import CheckFailed

    if isinstance(e, CheckFailed):
        return e.verdict, str(e)
    if isinstance(e, AssertionError):
        return "wrong", str(e) or "assertion failed"
    if isinstance(e, NotImplementedError):
        return "not_implemented", "the function still raises NotImplementedError"
    if isinstance(e, NetworkRefused):
        return "network", str(e)
    if isinstance(e, MemoryError):
        return "memory", f"ran out of memory ({type(e).__name__}: {e})"
    if isinstance(e, SystemExit):
        return "sys_exit", f"the code called sys.exit({e.code!r})"
    if isinstance(e, OSError) and getattr(e, "errno", None) in (101, 99, 97):
        return "network", f"tried to use the network: {e}"
    tb = traceback.extract_tb(e.__traceback__)
    where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb) if "student" in f.filename or "submission" in f.filename), "")
    return "error", f"raised {type(e).__name__}: {e}" + (f" (at {where})" if where else "")


class Events:
    def __init__(self, path: Path):
        self.f = open(path, "a", encoding="utf-8")

    def write(self, **event) -> None:
        self.f.write(json.dumps(event, default=str) + "\n")
        self.f.flush()
        os.fsync(self.f.fileno())


def run_checks(job: dict, events: Events) -> None:
    from dlgrade.autograde.submission import Namespace, load_checks
    from dlgrade.questions import get_question

    task = get_question(job["task"])
    checks = {c.id: c for c in load_checks(task)}
    try:
        student = load_student(job["module"], task.id)
    except BaseException as e:  # noqa: BLE001 - SystemExit included: report, never crash
        verdict, detail = describe_exception(e)
        events.write(event="import_error", verdict="import_error" if verdict in ("error", "wrong") else verdict,
                     detail=f"importing your module failed: {detail}")
        return
    ref = task.module("reference")
    ns = Namespace(student, task.student_functions)
    for cid in job["checks"]:
        check = checks[cid]
        events.write(event="start", id=cid, t=time.time())
        try:
            fraction = check.fn(ns, ref)
            fraction = 1.0 if fraction is None or fraction is True else float(fraction)
            fraction = min(max(fraction, 0.0), 1.0)
            events.write(event="result", id=cid, fraction=fraction, verdict="passed" if fraction == 1.0 else "partial",
                         detail="" if fraction == 1.0 else f"partly right ({fraction:.0%})")
        except BaseException as e:  # noqa: BLE001
            verdict, detail = describe_exception(e)
            events.write(event="result", id=cid, fraction=0.0, verdict=verdict, detail=detail)


def run_task_job(job: dict, events: Events) -> None:
    import types

    from dlgrade.progress import Progress
    from dlgrade.questions import get_question
    from dlgrade.runstore import run_question

    task = get_question(job["task"])
    try:
        student = load_student(job["module"], task.id)
    except BaseException as e:  # noqa: BLE001
        verdict, detail = describe_exception(e)
        events.write(event="run_error", verdict="import_error" if verdict in ("error", "wrong") else verdict,
                     detail=f"importing your module failed: {detail}")
        return
    overrides = {}
    for name in task.student_functions:
        fn = getattr(student, name, None)
        if not callable(fn):
            events.write(event="run_error", verdict="missing", detail=f"your module does not define {name}()")
            return
        overrides[name] = fn
    digest = hashlib.sha256(Path(job["module"]).read_bytes()).hexdigest()
    events.write(event="start", id="run", t=time.time())
    try:
        ref = task.module("reference")
        fns = types.SimpleNamespace(**{**{k: getattr(ref, k) for k in dir(ref) if not k.startswith("__")}, **overrides})
        outcome = run_question(task, job["profile"], job["seed"], out=Path(job["outbox"]), force=True,
                               progress=Progress(task.id, plain=True), fns=fns, overrides_digest=digest,
                               run_dir=Path(job["outbox"]) / "run", keep_going=True)
        events.write(event="run_done", run_dir=str(outcome.run_dir))
    except BaseException as e:  # noqa: BLE001
        verdict, detail = describe_exception(e)
        events.write(event="run_error", verdict=verdict, detail=f"the task run with your functions failed: {detail}",
                     trace=traceback.format_exc()[-2000:])


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    events = Events(Path(job["events"]))
    _install_network_guard()
    sys.path.insert(0, str(Path(job["module"]).parent))
    if job["kind"] == "checks":
        run_checks(job, events)
    else:
        run_task_job(job, events)
    events.write(event="done")
    events.f.close()
    os._exit(0)  # skip atexit handlers student code may have registered


import importlib  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
