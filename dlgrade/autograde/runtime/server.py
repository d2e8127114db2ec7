"""The process that runs INSIDE the sandbox: loads the student's module and answers requests.

``python -m dlgrade.autograde.runtime.server --fd-in N --fd-out M [--caps JSON] [--unix-sockets]``

It imports only the standard library, NumPy and :mod:`dlgrade.autograde.protocol`. Requests and
replies are protocol frames on the dedicated file descriptors ``N`` and ``M``; file descriptor 1 is
pointed at 2, so whatever the student prints lands on stderr and can never corrupt a frame.

Requests (JSON header field ``type``; every reply echoes the request's ``id``):

- ``load`` {path, name}: import the student's file as module ``name`` (its folder goes on
  ``sys.path``); replies ``{"module", "functions", "imported"}`` (callables defined in the file and
  callables it imported).
- ``call`` {function, args, kwargs}: call a function of the loaded module; replies its return value.
- ``run`` {target "package.module:function", kwargs}: call a harness function from the runtime
  bundle as ``fn(student_module, **kwargs)``; the harness may call :func:`progress` (or take a
  ``progress`` parameter) to send progress lines before the result.
- ``ping``; ``exit`` (or end of stream): leave with ``os._exit`` (atexit handlers of the student's
  code never run).

Replies: ``{"type": "result", "value": ...}``, ``{"type": "error", "error": {type, message, where,
frames}}`` (only frames in the student's folder), ``{"type": "unsendable", "message"}`` when a value
is over the caps, ``{"type": "progress", "text"}``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import os
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from dlgrade.autograde.protocol import Caps, ProtocolError, decode, encode, read_message, write_message

MESSAGE_CHARS = 2000  # an exception message is cut here (a 200 KB message once made 400-page PDFs)
_SERVER_CAPS = Caps(json_bytes=256 << 20, depth=128, string_chars=64 << 20, arrays=4096,
                    array_bytes=4 << 30, total_bytes=8 << 30)  # requests come from the trusted side


class NetworkRefused(PermissionError):
    """Raised when code in the sandbox tries to use the network."""


class _State:
    out = None  # the protocol writer
    lock = threading.Lock()
    caps = Caps()
    request_id: Any = None
    student = None
    student_dir: str | None = None


def progress(text: Any) -> None:
    """Sends a progress line for the request being served (for harness code; thread-safe)."""
    if _State.out is None:
        return
    text = str(text)[:MESSAGE_CHARS]
    with _State.lock:
        write_message(_State.out, {"type": "progress", "id": _State.request_id, "text": text})


def install_network_guard(allow_unix: bool) -> None:
    """An audit hook refusing network use (the network namespace is the real barrier)."""
    import socket

    unix = getattr(socket, "AF_UNIX", None)
    events = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
              "socket.gethostbyname", "socket.gethostbyaddr"}

    def hook(event: str, args: tuple) -> None:
        if event not in events:
            return
        if allow_unix and event != "socket.getaddrinfo" and args and getattr(args[0], "family", None) == unix:
            return
        target = args[:2] if event.startswith("socket.get") else (args[1] if len(args) > 1 else "")
        raise NetworkRefused(f"network access is not allowed while grading ({event} {str(target)[:100]})")

    sys.addaudithook(hook)


# ------------------------------------------------------------------------------------ describing

def _student_frames(tb) -> list[dict]:
    if _State.student_dir is None:
        return []
    root = _State.student_dir.rstrip("/") + "/"
    frames = []
    for f in traceback.extract_tb(tb):
        if f.filename.startswith(root):
            frames.append({"file": f.filename[len(root):], "line": f.lineno, "function": f.name})
    return frames[-20:]


def describe_exception(e: BaseException) -> dict:
    """Type, message (cut), where (the deepest student file:line) and the student's frames."""
    t = type(e)
    name = t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
    try:
        message = str(e)
    except BaseException:  # noqa: BLE001 - a hostile __str__
        message = "<the message could not be shown>"
    if isinstance(e, SystemExit):
        message = f"the code called sys.exit({e.code!r})"[:MESSAGE_CHARS]
    if len(message) > MESSAGE_CHARS:
        message = message[:MESSAGE_CHARS] + f"… [{len(message) - MESSAGE_CHARS} more characters]"
    frames = _student_frames(e.__traceback__)
    where = f"{frames[-1]['file']}:{frames[-1]['line']}" if frames else ""
    if isinstance(e, SyntaxError) and e.filename and _State.student_dir and \
            str(e.filename).startswith(_State.student_dir.rstrip("/") + "/"):
        where = f"{str(e.filename)[len(_State.student_dir.rstrip('/')) + 1:]}:{e.lineno}"
    return {"type": name[:200], "message": message, "where": where, "frames": frames}


# -------------------------------------------------------------------------------------- requests

def _load(req: dict) -> dict:
    path = Path(req["path"])
    name = req["name"]
    folder = str(path.parent)
    _State.student_dir = folder
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, str(path))
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path.name}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    _State.student = module
    defined, imported = [], []
    for key, value in list(vars(module).items()):
        if key.startswith("__") or not callable(value):
            continue
        (defined if getattr(value, "__module__", None) == name else imported).append(key)
    return {"module": name, "functions": sorted(defined), "imported": sorted(imported)}


def _call(req: dict, arrays: list) -> Any:
    if _State.student is None:
        raise RuntimeError("no student module is loaded (send `load` first)")
    fn = getattr(_State.student, req["function"], None)
    if fn is None:
        raise AttributeError(f"the module does not define {req['function']}()")
    if not callable(fn):
        raise TypeError(f"{req['function']} is a {type(fn).__name__}, not a function")
    args = decode(req.get("args", []), arrays)
    kwargs = decode(req.get("kwargs", {}), arrays)
    return fn(*args, **kwargs)


def _run(req: dict, arrays: list) -> Any:
    module_name, _, fn_name = str(req["target"]).partition(":")
    fn = getattr(importlib.import_module(module_name), fn_name)
    kwargs = decode(req.get("kwargs", {}), arrays)
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {}
    if "progress" in params and "progress" not in kwargs:
        kwargs["progress"] = progress
    return fn(_State.student, **kwargs)


def _reply(header: dict, arrays: list = ()) -> None:
    with _State.lock:
        write_message(_State.out, header, arrays)


def as_data(value: Any, depth: int = 0) -> Any:
    """Tensors (TensorFlow, Keras, anything with ``numpy()`` or ``__array__`` giving numbers) as NumPy arrays,
    inside lists, tuples and dicts too; everything else as it is (the protocol makes it data or Opaque)."""
    import numpy as np

    if depth > 20 or value is None or isinstance(value, (bool, int, float, str, bytes, np.ndarray, np.generic)):
        return value
    if isinstance(value, (list, tuple)):
        items = [as_data(v, depth + 1) for v in value[:100_000]]
        return type(value)(items) if isinstance(value, tuple) and type(value) is tuple else items
    if isinstance(value, dict):
        return {k: as_data(v, depth + 1) for k, v in list(value.items())[:100_000]}
    for convert in (lambda v: v.numpy(), lambda v: np.asarray(v)):
        if not (hasattr(value, "numpy") or hasattr(value, "__array__")):
            break
        try:
            arr = np.asarray(convert(value))
        except Exception:  # noqa: BLE001 - not convertible: it travels as Opaque
            continue
        if arr.dtype.kind in "biufc":
            return arr
    return value


def _reply_value(rid: Any, value: Any) -> None:
    try:
        try:
            value = as_data(value)
        except Exception:  # noqa: BLE001 - a hostile object: send it as it is (Opaque)
            pass
        tree, arrays = encode(value, _State.caps, depth=1)
    except ProtocolError as e:
        _reply({"type": "unsendable", "id": rid, "message": str(e)[:MESSAGE_CHARS]})
        return
    except RecursionError:
        _reply({"type": "unsendable", "id": rid, "message": "the value is nested too deeply to send"})
        return
    _reply({"type": "result", "id": rid, "value": tree}, arrays)


def serve(fd_in: int, fd_out: int, caps: Caps) -> None:
    """Answers requests until ``exit`` or end of stream, then leaves with ``os._exit``."""
    _State.caps = caps
    reader = os.fdopen(fd_in, "rb", buffering=0)
    _State.out = os.fdopen(fd_out, "wb", buffering=1 << 16)
    handlers = {"load": lambda r, a: _load(r), "call": _call, "run": _run}
    while True:
        try:
            msg = read_message(reader, _SERVER_CAPS)
        except ProtocolError as e:
            print(f"dlgrade runtime: bad request: {e}", file=sys.stderr)
            break
        if msg is None:
            break
        req, arrays = msg.header, msg.arrays
        rid = req.get("id")
        _State.request_id = rid
        kind = req.get("type")
        if kind == "exit":
            break
        if kind == "ping":
            _reply({"type": "result", "id": rid, "value": {"pid": os.getpid(), "uid": os.getuid()}})
            continue
        handler = handlers.get(kind)
        if handler is None:
            _reply({"type": "error", "id": rid, "error": {"type": "ProtocolError", "where": "", "frames": [],
                                                          "message": f"unknown request type {str(kind)[:50]!r}"}})
            continue
        try:
            value = handler(req, arrays)
        except BaseException as e:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included: report, never die
            try:
                _reply({"type": "error", "id": rid, "phase": kind, "error": describe_exception(e)})
            except BaseException as e2:  # noqa: BLE001
                _reply({"type": "error", "id": rid, "phase": kind, "error": {
                    "type": "Exception", "message": f"the error could not be described ({type(e2).__name__})",
                    "where": "", "frames": []}})
            continue
        _reply_value(rid, value)
    try:
        _State.out.flush()
    finally:
        os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dlgrade.autograde.runtime.server")
    parser.add_argument("--fd-in", type=int, required=True)
    parser.add_argument("--fd-out", type=int, required=True)
    parser.add_argument("--caps", default="{}", help="JSON object of protocol caps for replies")
    parser.add_argument("--unix-sockets", action="store_true", help="allow AF_UNIX sockets (own network namespace)")
    args = parser.parse_args(argv)
    import json

    caps = Caps.from_dict(json.loads(args.caps))
    # A harness doing `from dlgrade.autograde.runtime.server import progress` must get THIS module.
    sys.modules.setdefault("dlgrade.autograde.runtime.server", sys.modules[__name__])
    os.set_inheritable(args.fd_in, False)
    os.set_inheritable(args.fd_out, False)
    sys.stdout.flush()
    os.dup2(2, 1)  # student prints go to stderr, never into a frame
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    install_network_guard(args.unix_sockets)
    serve(args.fd_in, args.fd_out, caps)


if __name__ == "__main__":
    main()
