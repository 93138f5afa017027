"""A strict, bounded check of a request's protobuf bytes, before anything decodes them.

betterproto's decoder is lenient where the control plane must not be: it accepts a
string field that is not UTF-8, an enum sent with the wrong wire type (the record is
stored, then breaks `flowctl list`), or random bytes, and it spends 0.2-0.4 ms per map
entry whatever their number. This module walks the wire format once, stops at the first
problem or the first limit passed, and never builds anything: what it accepts is then
decoded by betterproto in bounded time.

It knows the requests of the contract (ServiceInfo, ServiceHeartbeat, Empty). Fields it
has no name for are accepted (proto3 says so, and the contract relies on it), within a
count; so are enum numbers without a name, as long as they are int32.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

from grpclib.const import Status

from .limits import Limits

# Wire types (protobuf encoding).
VARINT, FIXED64, LENGTH_DELIMITED, START_GROUP, END_GROUP, FIXED32 = range(6)
_WIRE_NAMES = {
    VARINT: "varint",
    FIXED64: "64-bit",
    LENGTH_DELIMITED: "length-delimited",
    FIXED32: "32-bit",
}
_MAX_FIELD_NUMBER = (1 << 29) - 1
_MAX_SINGULAR_REPEATS = 4

# google.protobuf.Timestamp's valid range: 0001-01-01 to 9999-12-31 (what a datetime holds).
_MIN_SECONDS = -62_135_596_800
_MAX_SECONDS = 253_402_300_799


class RequestRejected(Exception):
    """A request the control plane will not take: the gRPC status and a message naming
    the field and the rule or limit it broke (never the offending value itself)."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _invalid(message: str) -> RequestRejected:
    return RequestRejected(Status.INVALID_ARGUMENT, message)


class Kind(enum.Enum):
    STRING = "string"
    ENUM = "enum"
    INT32 = "int32"
    BOOL = "bool"
    TIMESTAMP = "google.protobuf.Timestamp"
    STRING_MAP = "map<string, string>"
    DOUBLE_MAP = "map<string, double>"


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    repeated: bool = False


Schema = dict[int, Field]

SERVICE_INFO: Schema = {
    1: Field("service_id", Kind.STRING),
    2: Field("service_type", Kind.ENUM),
    3: Field("input_event_types", Kind.STRING, repeated=True),
    4: Field("output_event_types", Kind.STRING, repeated=True),
    5: Field("health_endpoint", Kind.STRING),
    6: Field("max_inflight", Kind.INT32),
    7: Field("metadata", Kind.STRING_MAP, repeated=True),
}
SERVICE_HEARTBEAT: Schema = {
    1: Field("service_id", Kind.STRING),
    2: Field("timestamp", Kind.TIMESTAMP),
    3: Field("metrics", Kind.DOUBLE_MAP, repeated=True),
}
EMPTY: Schema = {}

_EXPECTED_WIRE = {
    Kind.STRING: LENGTH_DELIMITED,
    Kind.ENUM: VARINT,
    Kind.INT32: VARINT,
    Kind.BOOL: VARINT,
    Kind.TIMESTAMP: LENGTH_DELIMITED,
    Kind.STRING_MAP: LENGTH_DELIMITED,
    Kind.DOUBLE_MAP: LENGTH_DELIMITED,
}


def check_request(data: bytes, schema: Schema, limits: Limits) -> None:
    """Raise RequestRejected unless `data` is a well-formed message of `schema` within
    `limits`. Work is bounded by the limits, not by the size of `data`."""
    counts: dict[int, int] = {}
    unknown = 0
    metadata_bytes = 0
    for number, wire_type, value in _fields(data):
        field = schema.get(number)
        if field is None:
            unknown += 1
            if unknown > limits.max_unknown_fields:
                raise _invalid(f"more than {limits.max_unknown_fields} unknown fields (the limit)")
            continue
        if wire_type != _EXPECTED_WIRE[field.kind]:
            expected = _WIRE_NAMES[_EXPECTED_WIRE[field.kind]]
            raise _invalid(
                f"{field.name}: a {field.kind.value} is sent as {expected}, "
                f"not as {_WIRE_NAMES.get(wire_type, f'wire type {wire_type}')}"
            )
        count = counts[number] = counts.get(number, 0) + 1
        _check_count(field, count, limits)
        if field.kind is Kind.STRING:
            assert isinstance(value, memoryview)
            _check_string(field.name, value, _string_limit(field, limits))
        elif field.kind in (Kind.ENUM, Kind.INT32):
            assert isinstance(value, int)
            _check_int32(field.name, value)
        elif field.kind is Kind.TIMESTAMP:
            assert isinstance(value, memoryview)
            _check_timestamp(field.name, value, limits)
        else:  # a map entry
            assert isinstance(value, memoryview)
            metadata_bytes += _check_map_entry(field, value, limits)
            if metadata_bytes > limits.max_metadata_bytes:
                raise _invalid(
                    f"{field.name}: more than {limits.max_metadata_bytes} bytes of keys "
                    "and values (the limit)"
                )


def _string_limit(field: Field, limits: Limits) -> int:
    return limits.max_id_bytes if field.name == "service_id" else limits.max_name_bytes


def _check_count(field: Field, count: int, limits: Limits) -> None:
    if not field.repeated:
        # proto3 lets a singular field come more than once (the last one wins), as when
        # two encoded messages are concatenated; more than a few is no client's doing.
        if count > _MAX_SINGULAR_REPEATS:
            raise _invalid(f"{field.name}: sent more than {_MAX_SINGULAR_REPEATS} times")
        return
    limit = {
        Kind.STRING: limits.max_event_types,
        Kind.STRING_MAP: limits.max_metadata_entries,
        Kind.DOUBLE_MAP: limits.max_metrics,
    }[field.kind]
    if count > limit:
        what = "entries" if field.kind in (Kind.STRING_MAP, Kind.DOUBLE_MAP) else "items"
        raise _invalid(f"{field.name}: more than {limit} {what} (the limit)")


def _check_string(name: str, value: memoryview, limit: int) -> None:
    if len(value) > limit:
        raise _invalid(f"{name}: {len(value)} bytes, over the limit of {limit}")
    try:
        str(value, "utf-8")
    except UnicodeDecodeError as error:
        raise _invalid(f"{name}: not valid UTF-8 (byte {error.start})") from None


def _check_int32(name: str, value: int) -> None:
    # Negative int32 values travel as 10-byte varints (64-bit two's complement).
    if value >= 1 << 31 and value < (1 << 64) - (1 << 31):
        raise _invalid(f"{name}: {value} is not an int32")


def _check_timestamp(name: str, data: memoryview, limits: Limits) -> None:
    seconds = nanos = 0
    unknown = 0
    for number, wire_type, value in _fields(data):
        if number in (1, 2) and wire_type != VARINT:
            raise _invalid(f"{name}: wire type {wire_type} in a Timestamp")
        if number == 1:
            assert isinstance(value, int)
            seconds = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 2:
            assert isinstance(value, int)
            nanos = value - (1 << 64) if value >= 1 << 63 else value
        else:
            unknown += 1
            if unknown > limits.max_unknown_fields:
                raise _invalid(f"{name}: more than {limits.max_unknown_fields} unknown fields")
    if not _MIN_SECONDS <= seconds <= _MAX_SECONDS or not 0 <= nanos < 1_000_000_000:
        raise _invalid(f"{name}: out of the range of a Timestamp (years 1 to 9999)")


def _check_map_entry(field: Field, data: memoryview, limits: Limits) -> int:
    """Check one map entry; return its key and value size (counted for metadata)."""
    size = 0
    unknown = 0
    for number, wire_type, value in _fields(data):
        if number == 1:  # the key: a string in both maps
            if wire_type != LENGTH_DELIMITED:
                raise _invalid(f"{field.name}: a key that is not a string")
            assert isinstance(value, memoryview)
            _check_string(f"{field.name} key", value, limits.max_name_bytes)
            size += len(value)
        elif number == 2 and field.kind is Kind.STRING_MAP:
            if wire_type != LENGTH_DELIMITED:
                raise _invalid(f"{field.name}: a value that is not a string")
            assert isinstance(value, memoryview)
            _check_string(f"{field.name} value", value, limits.max_metadata_bytes)
            size += len(value)
        elif number == 2:  # a double
            if wire_type != FIXED64:
                raise _invalid(f"{field.name}: a value that is not a double")
        else:
            unknown += 1
            if unknown > limits.max_unknown_fields:
                limit = limits.max_unknown_fields
                raise _invalid(f"{field.name}: an entry with over {limit} unknown fields")
    return size if field.kind is Kind.STRING_MAP else 0


def _fields(data: bytes | memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) for each field: an int for varints and fixed
    values, a view of the bytes for length-delimited ones. Raises on anything malformed."""
    view = memoryview(data)
    end = len(view)
    position = 0
    while position < end:
        key, position = _varint(view, position)
        number, wire_type = key >> 3, key & 7
        if not 1 <= number <= _MAX_FIELD_NUMBER:
            raise _invalid(f"field number {number} is not valid")
        if wire_type == VARINT:
            value, position = _varint(view, position)
            yield number, wire_type, value
        elif wire_type in (FIXED64, FIXED32):
            width = 8 if wire_type == FIXED64 else 4
            if position + width > end:
                raise _invalid(f"field {number}: truncated")
            yield number, wire_type, int.from_bytes(view[position : position + width], "little")
            position += width
        elif wire_type == LENGTH_DELIMITED:
            length, position = _varint(view, position)
            if position + length > end:
                raise _invalid(f"field {number}: length {length} runs past the message")
            yield number, wire_type, view[position : position + length]
            position += length
        elif wire_type in (START_GROUP, END_GROUP):
            raise _invalid(f"field {number}: groups (wire types 3 and 4) are not accepted")
        else:
            raise _invalid(f"field {number}: wire type {wire_type} does not exist")


def _varint(view: memoryview, position: int) -> tuple[int, int]:
    result = 0
    for shift in range(0, 70, 7):
        if position >= len(view):
            raise _invalid("message truncated inside a number")
        byte = view[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if result >= 1 << 64:
                raise _invalid("a number longer than 64 bits")
            return result, position
    raise _invalid("a number longer than 10 bytes")
