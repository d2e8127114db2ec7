"""Data-only messages between the trusted grader and the sandbox (stdlib + NumPy; runs on both sides).

A message is one JSON header plus zero or more NumPy arrays, framed on a byte stream as::

    b"DLG1" | u32 JSON length | JSON (UTF-8) | u32 array count | per array: u64 length | .npy bytes

(integers little-endian). Arrays travel as ``.npy`` bytes written by ``np.save(..., allow_pickle=False)``
and are read back by parsing the ``.npy`` header here (never ``pickle``, never an object dtype), so no
byte from the sandbox can run code on the trusted side. Every length is checked against :class:`Caps`
*before* the bytes are read, so a hostile stream cannot make the reader allocate more than the caps.

Python values become a JSON-safe tree with :func:`encode` and come back with :func:`decode`. Markers
(one-key objects) carry what JSON cannot:

- ``{"__nd__": i}``: the i-th array of the message (NumPy arrays, and objects with ``__array__``
  such as tensors);
- ``{"__tuple__": [...]}``, ``{"__bytes__": i}`` (a uint8 array), ``{"__float__": "nan" | "inf" | "-inf"}``
  (a student's NaN output must reach the grader as a value, not as a protocol error);
- ``{"__object__": {"type": ..., "repr": ...}}`` for anything else (a ``keras.Model``, a generator,
  a dict with non-string keys): decoded as :class:`Opaque`, so the grader can say what it got;
- ``{"__dict__": {...}}`` wraps a plain dict whose only key happens to be a marker name.

NumPy scalars become Python scalars.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

MAGIC = b"DLG1"
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_MARKERS = frozenset({"__nd__", "__tuple__", "__float__", "__object__", "__dict__", "__bytes__"})
_ARRAY_KINDS = frozenset("biufcUSMm")  # bool, ints, floats, complex, text, bytes, datetimes; never objects
_OPAQUE_CHARS = 200
_MAX_INT_BITS = 1024
_NPY_HEADER_BYTES = 10_000


class ProtocolError(Exception):
    """A frame or value broke the protocol: malformed, over a cap, or not transferable."""


class TruncatedMessage(ProtocolError):
    """The stream ended inside a message (the writer died or closed it mid-frame)."""


class JsonError(ValueError):
    """Hostile or malformed JSON, with what was wrong and where (line, column, JSON path)."""


@dataclass(frozen=True)
class Caps:
    """Limits on one message (what the reading side accepts; the sending side checks them too).

    Attributes:
        json_bytes: size of the JSON header.
        depth: nesting depth of the JSON header (markers count: a tuple is two levels).
        string_chars: length of any one string (keys included).
        arrays: number of arrays.
        array_bytes: size of one array's ``.npy`` bytes.
        total_bytes: size of the whole message (header and arrays).
    """

    json_bytes: int = 8 << 20
    depth: int = 64
    string_chars: int = 1 << 20
    arrays: int = 1024
    array_bytes: int = 64 << 20
    total_bytes: int = 128 << 20

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Caps":
        fields = cls.__dataclass_fields__
        unknown = set(data) - set(fields)
        if unknown:
            raise ValueError(f"unknown caps {sorted(unknown)}; expected some of {sorted(fields)}")
        return cls(**{k: int(v) for k, v in data.items()})


@dataclass(frozen=True)
class Opaque:
    """A value that cannot travel as data (a model, a generator, ...): its type and a short repr."""

    type: str
    repr: str

    def __str__(self) -> str:
        return f"<{self.type}: {self.repr}>"


class Message(NamedTuple):
    header: dict
    arrays: list


# ----------------------------------------------------------------------------------------- values

def encode(value: Any, caps: Caps | None = None, depth: int = 0) -> tuple[Any, list[np.ndarray]]:
    """Turns a Python value into a JSON-safe tree and a list of arrays.

    Args:
        value: any Python value; what cannot travel as data becomes an ``__object__`` marker.
        caps: limits to respect (default :class:`Caps`); checked while encoding, so a huge or
            10^6-deep value fails fast instead of exhausting memory.
        depth: JSON depth of the object that will hold the tree (1 for a field of the header);
            the tree's own containers are deeper.

    Returns:
        ``(tree, arrays)``; the tree references arrays by index.

    Raises:
        ProtocolError: the value is over a cap (depth, string length, array size, total size).
    """
    caps = caps or Caps()
    arrays: list[np.ndarray] = []
    state = {"json": 0, "array_bytes": 0}
    node_budget = max(caps.json_bytes // 2, 1)

    def charge(n_json: int) -> None:
        state["json"] += n_json
        if state["json"] > caps.json_bytes:
            raise ProtocolError(f"the value needs more than {caps.json_bytes} bytes of JSON "
                                "(too many items or too much text); return arrays or less data")

    def add_array(arr: np.ndarray) -> dict:
        if len(arrays) >= caps.arrays:
            raise ProtocolError(f"the value holds more than {caps.arrays} arrays")
        nbytes = arr.nbytes + 128
        if nbytes > caps.array_bytes:
            raise ProtocolError(f"an array of shape {arr.shape} and dtype {arr.dtype} is {arr.nbytes} bytes, "
                                f"more than the limit of {caps.array_bytes} bytes per array")
        state["array_bytes"] += nbytes
        if state["array_bytes"] + state["json"] > caps.total_bytes:
            raise ProtocolError(f"the value is more than {caps.total_bytes} bytes in all")
        arrays.append(arr)
        charge(16)
        return {"__nd__": len(arrays) - 1}

    def opaque(v: Any, type_name: str | None = None) -> dict:
        charge(2 * _OPAQUE_CHARS + 40)
        return {"__object__": {"type": type_name or _type_name(v), "repr": _short_repr(v)}}

    def nest(d: int) -> None:
        if d > caps.depth:
            raise ProtocolError(f"the value is nested deeper than the limit of {caps.depth} levels")

    def enc(v: Any, d: int) -> Any:
        """``d``: the JSON depth a container made for ``v`` would have."""
        nonlocal node_budget
        node_budget -= 1
        if node_budget < 0:
            raise ProtocolError("the value has too many items to send; return arrays or less data")
        if v is None or v is True or v is False:
            charge(5)
            return v
        if isinstance(v, Opaque):
            nest(d + 1)
            charge(len(v.type) + len(v.repr) + 40)
            return {"__object__": {"type": str(v.type)[:_OPAQUE_CHARS], "repr": str(v.repr)[:_OPAQUE_CHARS]}}
        if isinstance(v, np.generic):
            item = v.item()
            if isinstance(item, np.generic) or not isinstance(item, (bool, int, float, complex, str, bytes)):
                nest(d + 1)
                return opaque(v)
            if isinstance(item, complex):
                nest(d)
                return add_array(np.asarray(v))
            return enc(item, d)
        if isinstance(v, bool):
            charge(5)
            return bool(v)
        if isinstance(v, int):
            v = int(v)
            if v.bit_length() > _MAX_INT_BITS:
                nest(d + 1)
                charge(2 * _OPAQUE_CHARS)
                return {"__object__": {"type": "int", "repr": f"<an int of {v.bit_length()} bits>"}}
            charge(len(str(v)) if v.bit_length() < 64 else v.bit_length() // 3 + 2)
            return v
        if isinstance(v, float):
            v = float(v)
            charge(24)
            if math.isfinite(v):
                return v
            nest(d)
            return {"__float__": "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
        if isinstance(v, str):
            v = str.__str__(v)
            if len(v) > caps.string_chars:
                raise ProtocolError(f"a string of {len(v)} characters is longer than the limit of {caps.string_chars}")
            charge(len(v) + 2)
            return v
        if isinstance(v, (bytes, bytearray, memoryview)):
            nest(d)
            return {"__bytes__": add_array(np.frombuffer(bytes(v), dtype=np.uint8))["__nd__"]}
        if isinstance(v, tuple):
            nest(d + 1)
            charge(16)
            return {"__tuple__": [enc(x, d + 2) for x in v]}
        if isinstance(v, list):
            nest(d)
            charge(2)
            return [enc(x, d + 1) for x in v]
        if isinstance(v, dict):
            if not all(isinstance(k, str) for k in v):
                nest(d + 1)
                return opaque(v)
            wrap = len(v) == 1 and next(iter(v)) in _MARKERS
            inner = d + 2 if wrap else d + 1
            nest(inner - 1)
            charge(2)
            out = {}
            for k, x in v.items():
                k = str.__str__(k)
                if len(k) > caps.string_chars:
                    raise ProtocolError(f"a dict key of {len(k)} characters is longer than the limit of {caps.string_chars}")
                charge(len(k) + 3)
                out[k] = enc(x, inner)
            return {"__dict__": out} if wrap else out
        if isinstance(v, np.ndarray) or hasattr(type(v), "__array__"):
            try:
                arr = np.asarray(v)
            except Exception:  # noqa: BLE001 - a hostile __array__ is just not data
                nest(d + 1)
                return opaque(v)
            if arr.dtype.hasobject or arr.dtype.kind not in _ARRAY_KINDS or arr.dtype.fields:
                nest(d + 1)
                return opaque(v, f"{_type_name(v)} of dtype {arr.dtype}"[:_OPAQUE_CHARS])
            nest(d)
            return add_array(arr)
        nest(d + 1)
        return opaque(v)

    return enc(value, depth + 1), arrays


def decode(tree: Any, arrays: list[np.ndarray] | tuple = ()) -> Any:
    """Turns a tree from :func:`encode` (and its arrays) back into a Python value.

    Raises:
        ProtocolError: a marker is malformed or references a missing array.
    """

    def bad(what: str, got: Any) -> ProtocolError:
        return ProtocolError(f"malformed {what} marker: got {_short_repr(got)}")

    def array_at(i: Any, what: str) -> np.ndarray:
        if type(i) is not int or not 0 <= i < len(arrays):
            raise bad(what, i)
        return arrays[i]

    def dec(t: Any, d: int) -> Any:
        if d > 10_000:
            raise ProtocolError("the value is nested too deeply to decode")
        if isinstance(t, list):
            return [dec(x, d + 1) for x in t]
        if isinstance(t, dict):
            if len(t) == 1:
                ((k, v),) = t.items()
                if k == "__nd__":
                    return array_at(v, k)
                if k == "__bytes__":
                    arr = array_at(v, k)
                    if arr.dtype != np.uint8 or arr.ndim != 1:
                        raise bad(k, f"array {arr.dtype}{arr.shape}")
                    return arr.tobytes()
                if k == "__tuple__":
                    if not isinstance(v, list):
                        raise bad(k, v)
                    return tuple(dec(x, d + 1) for x in v)
                if k == "__float__":
                    if v not in ("nan", "inf", "-inf"):
                        raise bad(k, v)
                    return float(v)
                if k == "__object__":
                    if not (isinstance(v, dict) and isinstance(v.get("type"), str) and isinstance(v.get("repr"), str)):
                        raise bad(k, v)
                    return Opaque(v["type"][:_OPAQUE_CHARS], v["repr"][:_OPAQUE_CHARS])
                if k == "__dict__":
                    if not isinstance(v, dict):
                        raise bad(k, v)
                    return {kk: dec(x, d + 1) for kk, x in v.items()}
            return {k: dec(x, d + 1) for k, x in t.items()}
        return t

    return dec(tree, 0)


def _type_name(v: Any) -> str:
    t = type(v)
    try:
        module = t.__module__ if isinstance(t.__module__, str) else "?"
        name = t.__qualname__ if isinstance(t.__qualname__, str) else t.__name__
    except Exception:  # noqa: BLE001
        return "?"
    return (name if module == "builtins" else f"{module}.{name}")[:_OPAQUE_CHARS]


def _short_repr(v: Any) -> str:
    try:
        r = repr(v)
        if not isinstance(r, str):
            raise TypeError
    except Exception as e:  # noqa: BLE001 - a student's __repr__ may raise anything
        return f"<repr failed: {type(e).__name__}>"
    return r[:_OPAQUE_CHARS]


# ------------------------------------------------------------------------------------------ frames

def write_message(stream, header: dict, arrays: list[np.ndarray] | tuple = ()) -> int:
    """Writes one framed message (``stream`` is a binary file object); returns the bytes written."""
    body = json.dumps(header, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")
    parts = [MAGIC, _U32.pack(len(body)), body, _U32.pack(len(arrays))]
    for arr in arrays:
        buf = io.BytesIO()
        np.save(buf, np.asarray(arr), allow_pickle=False)
        data = buf.getbuffer()
        parts += [_U64.pack(len(data)), data]
    total = 0
    for part in parts:
        stream.write(part)
        total += len(part)
    stream.flush()
    return total


def frame_bytes(header: dict, arrays: list[np.ndarray] | tuple = ()) -> bytes:
    """The bytes :func:`write_message` would write (for non-blocking writers)."""
    out = io.BytesIO()
    write_message(out, header, arrays)
    return out.getvalue()


def read_message(stream, caps: Caps | None = None) -> Message | None:
    """Reads one framed message, checking every length against ``caps`` before reading it.

    Args:
        stream: an object with ``read(n)`` returning up to ``n`` bytes (``b""`` at end of stream).
        caps: limits (default :class:`Caps`).

    Returns:
        the :class:`Message`, or ``None`` at a clean end of stream (before a message starts).

    Raises:
        ProtocolError: bad magic, a length over a cap, malformed JSON or ``.npy``, an object dtype,
            or the stream ending inside a message.
    """
    caps = caps or Caps()
    magic = _read_exact(stream, 4, "the message start", allow_eof=True)
    if magic is None:
        return None
    if magic != MAGIC:
        raise ProtocolError(f"bad frame start {bytes(magic)!r}, expected {MAGIC!r} (stray output on the protocol stream?)")
    (n_json,) = _U32.unpack(_read_exact(stream, 4, "the header length"))
    if n_json > caps.json_bytes:
        raise ProtocolError(f"header of {n_json} bytes is over the limit of {caps.json_bytes} bytes")
    total = 8 + n_json
    raw = _read_exact(stream, n_json, "the header")
    try:
        header = loads_json_strict(bytes(raw), caps.json_bytes, caps.depth, max_string=caps.string_chars)
    except JsonError as e:
        raise ProtocolError(f"bad header: {e}") from None
    if not isinstance(header, dict):
        raise ProtocolError(f"the header must be a JSON object, got {type(header).__name__}")
    (count,) = _U32.unpack(_read_exact(stream, 4, "the array count"))
    if count > caps.arrays:
        raise ProtocolError(f"{count} arrays is over the limit of {caps.arrays}")
    arrays = []
    for i in range(count):
        (n,) = _U64.unpack(_read_exact(stream, 8, f"the length of array {i}"))
        if n > caps.array_bytes:
            raise ProtocolError(f"array {i} of {n} bytes is over the limit of {caps.array_bytes} bytes per array")
        total += 12 + n
        if total > caps.total_bytes:
            raise ProtocolError(f"the message is over the limit of {caps.total_bytes} bytes in all")
        arrays.append(npy_to_array(_read_exact(stream, n, f"array {i}"), f"array {i}"))
    return Message(header, arrays)


def npy_to_array(buf: bytearray, what: str = "array") -> np.ndarray:
    """Parses ``.npy`` bytes without pickle; the data must match the header's shape exactly."""
    head = io.BytesIO(bytes(buf[: _NPY_HEADER_BYTES + 16]))
    try:
        version = np.lib.format.read_magic(head)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(head, max_header_size=_NPY_HEADER_BYTES)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(head, max_header_size=_NPY_HEADER_BYTES)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except Exception as e:  # noqa: BLE001 - any malformed header is a protocol error
        raise ProtocolError(f"{what}: not a valid .npy header ({type(e).__name__}: {str(e)[:200]})") from None
    if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.fields:
        raise ProtocolError(f"{what}: dtype {dtype} is not allowed (object and structured arrays need pickle)")
    if len(shape) > 32 or any(type(s) is not int or s < 0 for s in shape):
        raise ProtocolError(f"{what}: bad shape {shape!r}")
    count = math.prod(shape)
    offset = head.tell()
    expected = count * dtype.itemsize
    if len(buf) - offset != expected:
        raise ProtocolError(f"{what}: header says shape {shape} of {dtype} ({expected} bytes) "
                            f"but {len(buf) - offset} bytes follow")
    if not isinstance(buf, bytearray):
        buf = bytearray(buf)
    arr = np.frombuffer(buf, dtype=dtype, count=count, offset=offset)
    return arr.reshape(shape, order="F" if fortran else "C")


def _read_exact(stream, n: int, what: str, allow_eof: bool = False) -> bytearray | None:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        chunk = stream.read(min(n - got, 1 << 20))
        if not chunk:
            if got == 0 and allow_eof:
                return None
            raise TruncatedMessage(f"the stream ended inside {what} ({got} of {n} bytes)")
        if len(chunk) > n - got:
            raise ProtocolError(f"the reader returned more bytes than asked for while reading {what}")
        view[got: got + len(chunk)] = chunk
        got += len(chunk)
    return buf


# -------------------------------------------------------------------------------------- strict JSON

class _Reject(Exception):
    def __init__(self, message: str):
        self.message = message


def _reject_constant(word: str):
    raise _Reject(f"{word} is not allowed in JSON; write null or a number")


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Reject(f"the number {text[:40]} is out of range")
    return value


def _parse_int(text: str) -> int:
    if len(text) > 4000:
        raise _Reject(f"an integer of {len(text)} digits is too long")
    return int(text)


def _no_duplicates(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen = set()
        for k, _ in pairs:
            if k in seen:
                raise _Reject(f"duplicate key {k[:80]!r}")
            seen.add(k)
    return out


def loads_json_strict(data: bytes | str, max_bytes: int, max_depth: int, max_string: int | None = None) -> Any:
    """Parses JSON from an untrusted source.

    Stricter than :func:`json.loads`: refuses input over ``max_bytes``, nesting deeper than
    ``max_depth`` (no ``RecursionError`` escapes), ``NaN``/``Infinity`` literals and numbers that
    overflow to infinity, duplicate keys, and (with ``max_string``) over-long strings.

    Args:
        data: UTF-8 bytes or text.
        max_bytes: largest accepted size in bytes.
        max_depth: deepest accepted nesting of arrays and objects (the top level is depth 1).
        max_string: longest accepted string or key, in characters (no limit when ``None``).

    Returns:
        the parsed value.

    Raises:
        JsonError: saying what was wrong and where (line, column and JSON path).
    """
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > max_bytes:
        raise JsonError(f"the JSON is {size} bytes, more than the limit of {max_bytes} bytes")
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as e:
            raise JsonError(f"the JSON is not valid UTF-8 (byte {e.start})") from None
    else:
        text = data
    if text.startswith("\ufeff"):
        raise JsonError("the JSON starts with a byte-order mark; save it as UTF-8 without BOM")
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_parse_float,
                           parse_int=_parse_int, object_pairs_hook=_no_duplicates)
    except _Reject as e:
        raise JsonError(_locate(text, max_depth, e.message)) from None
    except RecursionError:
        raise JsonError(_locate(text, max_depth, f"nested deeper than the limit of {max_depth} levels")) from None
    except json.JSONDecodeError as e:
        raise JsonError(f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except ValueError as e:  # e.g. int() digit limits
        raise JsonError(f"invalid JSON: {str(e)[:200]}") from None
    problem = _check_tree(value, max_depth, max_string)
    if problem:
        raise JsonError(_locate(text, max_depth, problem, max_string))
    return value


def _check_tree(value: Any, max_depth: int, max_string: int | None) -> str | None:
    """Iterative walk: the first depth or string-length problem, or None."""
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (list, dict)):
            if d > max_depth:
                return f"nested deeper than the limit of {max_depth} levels"
            items = v.values() if isinstance(v, dict) else v
            if max_string is not None and isinstance(v, dict):
                for k in v:
                    if len(k) > max_string:
                        return f"a key of {len(k)} characters is longer than the limit of {max_string}"
            stack.extend((x, d + 1) for x in items)
        elif max_string is not None and isinstance(v, str) and len(v) > max_string:
            return f"a string of {len(v)} characters is longer than the limit of {max_string}"
    return None


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_JSON_WORD = re.compile(r"true|false|null|NaN|-?Infinity")


def _locate(text: str, max_depth: int, problem: str, max_string: int | None = None) -> str:
    """Finds where ``problem`` occurs (a slow scan, used on error paths only) and says so."""
    stack: list[list] = []  # [is_object, keys seen, current key or index, expecting a key]
    i, n = 0, len(text)
    found = None
    while i < n and found is None:
        c = text[i]
        if c in " \t\r\n":
            i += 1
        elif c in "[{":
            if len(stack) >= max_depth:
                found = i
                break
            stack.append([c == "{", set(), None if c == "{" else 0, c == "{"])
            i += 1
        elif c in "]}":
            if stack:
                stack.pop()
            i += 1
        elif c == ",":
            if stack:
                if stack[-1][0]:
                    stack[-1][3] = True
                else:
                    stack[-1][2] += 1
            i += 1
        elif c == ":":
            if stack:
                stack[-1][3] = False
            i += 1
        elif c == '"':
            m = _JSON_STRING.match(text, i)
            if not m:
                break
            try:
                s = json.loads(m.group())
            except ValueError:
                s = m.group()[1:-1]
            if max_string is not None and len(s) > max_string:
                found = i
            elif stack and stack[-1][0] and stack[-1][3]:
                if s in stack[-1][1]:
                    found = i
                stack[-1][1].add(s)
                stack[-1][2] = s
            i = m.end()
        else:
            m = _JSON_WORD.match(text, i) or _JSON_NUMBER.match(text, i)
            if not m:
                i += 1
                continue
            word = m.group()
            if word in ("NaN", "Infinity", "-Infinity"):
                found = i
            elif word[0] in "-0123456789":
                if len(word) > 4000:
                    found = i
                elif any(ch in word for ch in ".eE") and not math.isfinite(float(word)):
                    found = i
            i = m.end()
    if found is None:
        return problem
    line = text.count("\n", 0, found) + 1
    column = found - (text.rfind("\n", 0, found) + 1) + 1
    path = "$"
    for is_object, _, key, _ in stack:
        if key is None:
            break
        path += f"[{key}]" if not is_object else (f".{key}" if re.fullmatch(r"[A-Za-z_][\w]*", str(key)) else f"[{key!r}]")
    return f"{problem} (at line {line}, column {column}, in {path[:200]})"


# ------------------------------------------------------------------------------------------- text

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[@-Z\\-_]?|\x9b[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: Any, limit: int = 2000) -> str:
    """Text safe to show on a terminal or in a PDF: no ANSI escapes, control or bidi-override
    characters or lone surrogates, at most ``limit`` characters (the rest is counted, not shown)."""
    s = text if isinstance(text, str) else str(text)
    original = len(s)
    s = _CONTROL.sub("\ufffd", _ANSI.sub("", s[: 2 * limit + 1024].replace("\r\n", "\n")))
    if len(s) > limit or original > 2 * limit + 1024:
        return s[:limit] + f"… [{original - limit} more characters]"
    return s
