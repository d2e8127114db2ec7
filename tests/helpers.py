"""Test helpers: a local HTTP file server on 127.0.0.1, tiny dataset files, and a question run with a student's
functions that fails steps the way the sandbox does."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import struct
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np


class _Handler(http.server.SimpleHTTPRequestHandler):
    truncate: dict[str, int] = {}

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        name = self.path.lstrip("/").split("?")[0]
        path = Path(self.directory) / name
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        # A truncated response announces the full length but stops early.
        self.wfile.write(data[: self.truncate.get(name, len(data))])


@contextmanager
def serve(folder: Path, truncate: dict[str, int] | None = None):
    """Serve ``folder`` on 127.0.0.1 (a free port); yields the base URL."""
    handler = type("H", (_Handler,), {"truncate": dict(truncate or {})})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write an unsigned-byte idx file, gzipped (the MNIST/Fashion-MNIST format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())
    return path


def write_keras_npz(path: Path, n_train: int = 20, n_test: int = 10, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x_train=rng.integers(0, 255, (n_train, 28, 28), dtype=np.uint8), y_train=rng.integers(0, 10, n_train, dtype=np.uint8),
             x_test=rng.integers(0, 255, (n_test, 28, 28), dtype=np.uint8), y_test=rng.integers(0, 10, n_test, dtype=np.uint8))
    return path


def run_like_sandbox(question, ctx, fns):
    """Run every step of ``question`` in this process with ``fns`` as the student functions, an exception of theirs
    failing its step (and only the steps that need it) as the sandbox executor does. Returns the step report."""
    from dlgrade.kit.runner import StepFailed, in_process, run_steps

    inner = in_process(question, ctx, fns)

    def sandbox_like(step, inputs):
        try:
            return inner(step, inputs)
        except Exception as e:  # noqa: BLE001 - a student's exception is the step's failure
            raise StepFailed(step.name, "error", f"{type(e).__name__}: {e}") from None

    return run_steps(question, ctx, sandbox_like, keep_going=True)
