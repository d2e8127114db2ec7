"""The data-only protocol: values survive, hostile frames and JSON are refused with clear messages."""

from __future__ import annotations

import io
import json
import struct
import time

import numpy as np
import pytest

from dlgrade.autograde.protocol import (
    Caps,
    JsonError,
    Opaque,
    ProtocolError,
    TruncatedMessage,
    decode,
    encode,
    frame_bytes,
    loads_json_strict,
    printable,
    read_message,
    write_message,
)


def roundtrip(value, caps=None):
    tree, arrays = encode(value, caps)
    stream = io.BytesIO()
    write_message(stream, {"type": "result", "value": tree}, arrays)
    stream.seek(0)
    msg = read_message(stream, caps)
    assert read_message(stream, caps) is None  # clean end of stream
    return decode(msg.header["value"], msg.arrays)


class CountingStream:
    """A stream that fails the test if more than ``allowed`` bytes are read from it."""

    def __init__(self, data: bytes, allowed: int):
        self.inner, self.allowed, self.read_bytes = io.BytesIO(data), allowed, 0

    def read(self, n):
        chunk = self.inner.read(n)
        self.read_bytes += len(chunk)
        assert self.read_bytes <= self.allowed, f"read {self.read_bytes} bytes, more than {self.allowed}"
        return chunk


def raw_frame(header: bytes, arrays: list[bytes] = (), claimed: list[int] | None = None) -> bytes:
    out = b"DLG1" + struct.pack("<I", len(header)) + header + struct.pack("<I", len(arrays))
    for i, a in enumerate(arrays):
        out += struct.pack("<Q", claimed[i] if claimed else len(a)) + a
    return out


def npy(arr, **kw) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, **kw)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ values

def test_plain_values_round_trip_exactly():
    value = {"int": -3, "big": 2**80, "float": 0.1, "str": "سلام \u200c x", "none": None, "bools": [True, False],
             "nested": [[1, [2, [3]]], {"k": "v"}], "empty": {}, "elist": []}
    assert roundtrip(value) == value


def test_non_finite_floats_tuples_and_numpy_scalars_survive():
    out = roundtrip((float("nan"), float("inf"), -float("inf"), np.float32(2.5), np.int64(7), np.bool_(True),
                     (1, (2,))))
    assert isinstance(out, tuple) and np.isnan(out[0]) and out[1] == float("inf") and out[2] == -float("inf")
    assert out[3:] == (2.5, 7, True, (1, (2,)))
    assert type(out[3]) is float and type(out[4]) is int and type(out[5]) is bool


@pytest.mark.parametrize("arr", [
    np.arange(12, dtype=np.float32).reshape(3, 4),
    np.asfortranarray(np.arange(6).reshape(2, 3)),
    np.array(3.5),
    np.zeros((0, 5)),
    np.array([True, False]),
    np.array([1 + 2j]),
    np.array(["ab", "سلام"]),
    np.array([np.nan, np.inf]),
    np.arange(10)[::3],
])
def test_arrays_round_trip(arr):
    out = roundtrip({"a": arr})["a"]
    assert out.dtype == arr.dtype and out.shape == arr.shape
    np.testing.assert_array_equal(out, arr)
    out.flat[:1] = out.flat[:1]  # writable, not a view of frozen bytes


def test_anything_else_becomes_an_opaque_marker_with_type_and_short_repr():
    class Model:
        def __repr__(self):
            return "M" * 10_000

    out = roundtrip([lambda x: x, (i for i in range(3)), Model(), {1: "non-string key"},
                     np.array([object()], dtype=object), 10**400])
    assert all(isinstance(o, Opaque) for o in out)
    assert out[0].type == "function" and out[1].type == "generator"
    assert out[2].type.endswith("Model") and out[2].repr == "M" * 200
    assert out[3].type == "dict" and "non-string key" in out[3].repr
    assert "object" in out[4].type
    assert out[5].type == "int" and "bits" in out[5].repr


def test_a_dict_that_looks_like_a_marker_stays_a_dict():
    value = {"__nd__": 0, "x": 1}, {"__nd__": 5}, {"__object__": "sneaky"}, {"__tuple__": [1]}
    assert roundtrip(value) == value


def test_bytes_travel_as_bytes():
    assert roundtrip(b"\x00\xffdata") == b"\x00\xffdata"


def test_malformed_markers_are_protocol_errors():
    for tree in ({"__nd__": 3}, {"__nd__": "0"}, {"__float__": "NaN!"}, {"__tuple__": 5}, {"__object__": []}):
        with pytest.raises(ProtocolError, match="malformed"):
            decode(tree, [])


def test_encoding_refuses_values_over_the_caps_fast():
    deep = []
    for _ in range(10**6):
        deep = [deep]
    t = time.monotonic()
    with pytest.raises(ProtocolError, match="nested deeper"):
        encode(deep)
    assert time.monotonic() - t < 1
    with pytest.raises(ProtocolError, match="per array"):
        encode(np.zeros(200_000_000 // 8))  # 200 MB; np.zeros does not touch the pages
    with pytest.raises(ProtocolError, match="longer than the limit"):
        encode("x" * (2 << 20))
    wide = [0] * 1000
    with pytest.raises(ProtocolError, match="too many items|bytes of JSON"):
        encode([[wide] * 1000] * 1000, Caps(json_bytes=1 << 20))  # a billion items by reference
    self_ref = []
    self_ref.append(self_ref)
    with pytest.raises(ProtocolError, match="nested deeper"):
        encode(self_ref)


# ------------------------------------------------------------------------------------------ frames

def test_several_messages_in_one_stream_then_clean_end():
    stream = io.BytesIO(frame_bytes({"n": 1}) + frame_bytes({"n": 2}, [np.arange(3)]))
    assert read_message(stream).header == {"n": 1}
    m = read_message(stream)
    assert m.header == {"n": 2} and m.arrays[0].tolist() == [0, 1, 2]
    assert read_message(stream) is None


def test_truncated_message_is_reported_as_truncated():
    data = frame_bytes({"n": 1}, [np.arange(100)])
    for cut in (2, 10, len(data) - 5):
        with pytest.raises(TruncatedMessage, match="ended inside"):
            read_message(io.BytesIO(data[:cut]))


def test_bad_magic_is_named():
    with pytest.raises(ProtocolError, match="bad frame start"):
        read_message(io.BytesIO(b"hello world, I am student output"))


def test_lengths_are_checked_before_reading():
    caps = Caps(json_bytes=1000, array_bytes=10_000, total_bytes=20_000, arrays=3)
    huge_json = b"DLG1" + struct.pack("<I", 2**32 - 1)
    with pytest.raises(ProtocolError, match="header of 4294967295 bytes is over"):
        read_message(CountingStream(huge_json + b"x" * 100, allowed=8), caps)
    header = b"{}"
    huge_array = raw_frame(header) [:-4] + struct.pack("<I", 1) + struct.pack("<Q", 2**63)
    with pytest.raises(ProtocolError, match="over the limit of 10000 bytes per array"):
        read_message(CountingStream(huge_array + b"x" * 100, allowed=len(huge_array)), caps)
    many = raw_frame(header)[:-4] + struct.pack("<I", 10**9)
    with pytest.raises(ProtocolError, match="arrays is over the limit"):
        read_message(CountingStream(many, allowed=len(many)), caps)
    a = npy(np.zeros(1000))  # 8 KB each: three of them pass per array, not in total
    with pytest.raises(ProtocolError, match="in all"):
        read_message(io.BytesIO(raw_frame(header, [a, a, a])), caps)


def test_object_arrays_and_lying_npy_headers_are_refused():
    obj = npy(np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ProtocolError, match="not allowed"):
        read_message(io.BytesIO(raw_frame(b"{}", [obj])))
    liar = npy(np.zeros(4)).replace(b"(4,)", b"(10000000000000,)")  # claims 80 TB, carries 32 bytes
    with pytest.raises(ProtocolError, match="bytes follow|valid .npy"):
        read_message(io.BytesIO(raw_frame(b"{}", [liar])))
    with pytest.raises(ProtocolError, match="valid .npy"):
        read_message(io.BytesIO(raw_frame(b"{}", [b"\x93NUMPY\x01\x00garbage"])))


def test_hostile_header_json_is_refused_without_recursion_error():
    for body, pattern in ((b"[" * 1_000_000 + b"]" * 1_000_000, "nested deeper"),
                          (b'{"a": NaN}', "NaN is not allowed"),
                          (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
                          (b"[1, 2", "invalid JSON"),
                          (b"[1]", "must be a JSON object")):
        with pytest.raises(ProtocolError, match=pattern):
            read_message(io.BytesIO(raw_frame(body)), Caps(json_bytes=4 << 20))
    long_string = json.dumps({"s": "x" * 2000}).encode()
    with pytest.raises(ProtocolError, match="longer than the limit of 1000"):
        read_message(io.BytesIO(raw_frame(long_string)), Caps(string_chars=1000))


# ------------------------------------------------------------------------------------- strict JSON

@pytest.mark.parametrize("text, message", [
    ('{"metrics": {"acc": 0.9, "acc": 1.0}}', "duplicate key 'acc' (at line 1, column 26, in $.metrics.acc)"),
    ('{"a": [1, 2, NaN]}', "NaN is not allowed in JSON; write null or a number (at line 1, column 14, in $.a[2])"),
    ('{"a":\n  -Infinity}', "-Infinity is not allowed"),
    ('{"a": 1e999}', "the number 1e999 is out of range"),
    ('{"a": 1,}', "invalid JSON at line 1, column 9"),
    ("\ufeff{}", "byte-order mark"),
])
def test_strict_json_says_what_and_where(text, message):
    with pytest.raises(JsonError) as info:
        loads_json_strict(text, 10_000, 20)
    assert message in str(info.value)


def test_strict_json_caps_size_depth_and_encoding():
    with pytest.raises(JsonError, match="12 bytes, more than the limit of 10"):
        loads_json_strict(b'{"a": "xyz"}', 10, 5)
    with pytest.raises(JsonError, match="deeper than the limit of 3 levels"):
        loads_json_strict("[[[[1]]]]", 100, 3)
    assert loads_json_strict("[[[1]]]", 100, 3) == [[[1]]]
    with pytest.raises(JsonError, match="nested deeper"):
        loads_json_strict("[" * 100_000, 10**6, 64)  # the C parser's RecursionError does not escape
    with pytest.raises(JsonError, match="not valid UTF-8"):
        loads_json_strict(b'{"a": "\xff"}', 100, 5)
    assert loads_json_strict(b'{"a": [1, 2.5, "x", null, true]}', 100, 5) == {"a": [1, 2.5, "x", None, True]}


# -------------------------------------------------------------------------------------------- text

def test_printable_removes_escapes_and_cuts():
    text = "\x1b[31mred\x1b[0m \x1b]0;title\x07ok\x07 \u202eevil\r\nnext\x00"
    out = printable(text)
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\x00" not in out
    assert "red" in out and "ok" in out and "next" in out
    long = printable("x" * 200_000, limit=100)
    assert len(long) < 150 and "199900 more characters" in long
