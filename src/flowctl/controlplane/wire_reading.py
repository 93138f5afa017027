"""Reading protobuf's wire format by hand, for the few messages flowctl decodes without
betterproto: `flowctl list`'s replies (list_decoding.py) and the heartbeat, the control
plane's hottest request (heartbeat_decoding.py).

Strict: anything unexpected (a wrong wire type, bad UTF-8, a truncated field) raises
`DecodeError` rather than guess.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5


class DecodeError(ValueError):
    """Bytes that are not the message being decoded."""


def fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) in order; unknown fields are skipped by the caller."""
    position, end = 0, len(data)
    while position < end:
        key, position = varint(data, position)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise DecodeError("field number 0")
        value: int | bytes
        if wire == VARINT:
            value, position = varint(data, position)
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            value, position = data[position : position + size], position + size
        elif wire == LENGTH_DELIMITED:
            size, position = varint(data, position)
            value, position = data[position : position + size], position + size
        else:
            raise DecodeError(f"wire type {wire}")
        if position > end:
            raise DecodeError("a field runs past the end of its message")
        yield number, wire, value


def varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(data) or shift > 63:
            raise DecodeError("a truncated or overlong varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value & ((1 << 64) - 1), position
        shift += 7


def varint_value(wire: int, value: int | bytes) -> int:
    if wire != VARINT or not isinstance(value, int):
        raise DecodeError("a number is not a varint")
    return value


def int64(wire: int, value: int | bytes) -> int:
    number = varint_value(wire, value)
    return number - (1 << 64) if number >= 1 << 63 else number


def int32(wire: int, value: int | bytes) -> int:
    number = varint_value(wire, value) & 0xFFFFFFFF
    return number - (1 << 32) if number >= 1 << 31 else number


def length_delimited(wire: int, value: int | bytes) -> bytes:
    if wire != LENGTH_DELIMITED or not isinstance(value, bytes):
        raise DecodeError("a message or text is not length-delimited")
    return value


def text(wire: int, value: int | bytes) -> str:
    try:
        return length_delimited(wire, value).decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("text that is not UTF-8") from None


def double(wire: int, value: int | bytes) -> float:
    if wire != FIXED64 or not isinstance(value, bytes):
        raise DecodeError("a double is not 8 bytes")
    return float(struct.unpack("<d", value)[0])


def string_double_entry(data: bytes) -> tuple[str, float]:
    """A `map<string, double>` entry: (key, value), each its default when absent."""
    key, value = "", 0.0
    for number, wire, item in fields(data):
        if number == 1:
            key = text(wire, item)
        elif number == 2:
            value = double(wire, item)
    return key, value
