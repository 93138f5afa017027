"""ServiceList and flowctl.inspect's AttachmentList decoded by hand, without betterproto.

For `flowctl list`'s quick path (grpc_unary.py): importing the generated messages costs
more than the rest of the command. The objects have the attribute names and values of
the generated ones (`tests/controlplane/test_cp_list_decoding.py` compares them with
betterproto's decoding), so the table and the JSON are written from either. Anything
this does not expect (a wrong wire type, bad UTF-8, a time out of range) raises
`DecodeError`; the caller then uses the full client.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_VARINT, _FIXED64, _LENGTH_DELIMITED, _FIXED32 = 0, 1, 2, 5


class DecodeError(ValueError):
    """Bytes that are not the message this module decodes."""


@dataclass(slots=True)
class ListedService:
    """flowctl.ServiceStatus's fields."""

    service_id: str = ""
    service_type: int = 0
    is_healthy: bool = False
    last_heartbeat: datetime = _EPOCH
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class ServiceListing:
    """flowctl.ServiceList's field."""

    services: list[ListedService] = field(default_factory=list)


@dataclass(slots=True)
class ListedAttachment:
    """flowctl.inspect.ServiceAttachment's fields."""

    service_id: str = ""
    component_id: str = ""
    attached_by: str = ""
    unattached_reason: str = ""
    run_state: str = ""
    restart_attempt: int = 0
    max_restarts: int = 0
    next_start_unix_ms: int = 0


def decode_service_list(data: bytes) -> ServiceListing:
    listing = ServiceListing()
    for number, wire, value in _fields(data):
        if number == 1:
            listing.services.append(_service(_bytes(wire, value)))
    return listing


def decode_attachment_list(data: bytes) -> list[ListedAttachment]:
    return [
        _attachment(_bytes(wire, value)) for number, wire, value in _fields(data) if number == 1
    ]


def _service(data: bytes) -> ListedService:
    service = ListedService()
    for number, wire, value in _fields(data):
        if number == 1:
            service.service_id = _text(wire, value)
        elif number == 2:
            service.service_type = _int32(wire, value)
        elif number == 3:
            service.is_healthy = _number(wire, value) != 0
        elif number == 4:
            service.last_heartbeat = _timestamp(_bytes(wire, value))
        elif number == 5:
            key, metric = _metric(_bytes(wire, value))
            service.metrics[key] = metric  # a repeated key: the last one counts
    return service


def _attachment(data: bytes) -> ListedAttachment:
    attachment = ListedAttachment()
    for number, wire, value in _fields(data):
        if number == 1:
            attachment.service_id = _text(wire, value)
        elif number == 2:
            attachment.component_id = _text(wire, value)
        elif number == 3:
            attachment.attached_by = _text(wire, value)
        elif number == 4:
            attachment.unattached_reason = _text(wire, value)
        elif number == 5:
            attachment.run_state = _text(wire, value)
        elif number == 6:
            attachment.restart_attempt = _int32(wire, value)
        elif number == 7:
            attachment.max_restarts = _int32(wire, value)
        elif number == 8:
            attachment.next_start_unix_ms = _int64(wire, value)
    return attachment


def _metric(data: bytes) -> tuple[str, float]:
    key, metric = "", 0.0
    for number, wire, value in _fields(data):
        if number == 1:
            key = _text(wire, value)
        elif number == 2:
            if wire != _FIXED64:
                raise DecodeError("a metric's value is not a double")
            assert isinstance(value, bytes)
            metric = struct.unpack("<d", value)[0]
    return key, metric


def _timestamp(data: bytes) -> datetime:
    seconds = nanos = 0
    for number, wire, value in _fields(data):
        if number == 1:
            seconds = _int64(wire, value)
        elif number == 2:
            nanos = _int32(wire, value)
    try:  # as betterproto converts it: whole microseconds after the epoch
        return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
    except OverflowError:
        raise DecodeError(f"a time out of range ({seconds} s)") from None


# -- the wire format -----------------------------------------------------------------------


def _fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) in order; unknown fields are skipped by the caller."""
    position, end = 0, len(data)
    while position < end:
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise DecodeError("field number 0")
        value: int | bytes
        if wire == _VARINT:
            value, position = _varint(data, position)
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
            value, position = data[position : position + size], position + size
        elif wire == _LENGTH_DELIMITED:
            size, position = _varint(data, position)
            value, position = data[position : position + size], position + size
        else:
            raise DecodeError(f"wire type {wire}")
        if position > end:
            raise DecodeError("a field runs past the end of its message")
        yield number, wire, value


def _varint(data: bytes, position: int) -> tuple[int, int]:
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


def _number(wire: int, value: int | bytes) -> int:
    if wire != _VARINT or not isinstance(value, int):
        raise DecodeError("a number is not a varint")
    return value


def _int64(wire: int, value: int | bytes) -> int:
    number = _number(wire, value)
    return number - (1 << 64) if number >= 1 << 63 else number


def _int32(wire: int, value: int | bytes) -> int:
    number = _number(wire, value) & 0xFFFFFFFF
    return number - (1 << 32) if number >= 1 << 31 else number


def _bytes(wire: int, value: int | bytes) -> bytes:
    if wire != _LENGTH_DELIMITED or not isinstance(value, bytes):
        raise DecodeError("a message or text is not length-delimited")
    return value


def _text(wire: int, value: int | bytes) -> str:
    try:
        return _bytes(wire, value).decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("text that is not UTF-8") from None
