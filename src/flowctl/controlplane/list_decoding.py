"""ServiceList and flowctl.inspect's AttachmentList decoded by hand, without betterproto.

For `flowctl list`'s quick path (grpc_unary.py): importing the generated messages costs
more than the rest of the command. The objects have the attribute names and values of
the generated ones (`tests/controlplane/test_cp_hand_decoding.py` compares them with
betterproto's decoding), so the table and the JSON are written from either. Anything
this does not expect (a wrong wire type, bad UTF-8, a time out of range) raises
`DecodeError`; the caller then uses the full client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .wire_reading import (
    DecodeError,
    fields,
    int32,
    int64,
    length_delimited,
    string_double_entry,
    text,
    varint_value,
)

__all__ = [
    "DecodeError",
    "ListedAttachment",
    "ListedService",
    "ServiceListing",
    "decode_attachment_list",
    "decode_service_list",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
    for number, wire, value in fields(data):
        if number == 1:
            listing.services.append(_service(length_delimited(wire, value)))
    return listing


def decode_attachment_list(data: bytes) -> list[ListedAttachment]:
    return [
        _attachment(length_delimited(wire, value))
        for number, wire, value in fields(data)
        if number == 1
    ]


def _service(data: bytes) -> ListedService:
    service = ListedService()
    for number, wire, value in fields(data):
        if number == 1:
            service.service_id = text(wire, value)
        elif number == 2:
            service.service_type = int32(wire, value)
        elif number == 3:
            service.is_healthy = varint_value(wire, value) != 0
        elif number == 4:
            service.last_heartbeat = _timestamp(length_delimited(wire, value))
        elif number == 5:
            key, metric = string_double_entry(length_delimited(wire, value))
            service.metrics[key] = metric  # a repeated key: the last one counts
    return service


# flowctl.inspect.ServiceAttachment: field number -> (attribute, how its value is read).
_ATTACHMENT_FIELDS: dict[int, tuple[str, Callable[[int, int | bytes], object]]] = {
    1: ("service_id", text),
    2: ("component_id", text),
    3: ("attached_by", text),
    4: ("unattached_reason", text),
    5: ("run_state", text),
    6: ("restart_attempt", int32),
    7: ("max_restarts", int32),
    8: ("next_start_unix_ms", int64),
}


def _attachment(data: bytes) -> ListedAttachment:
    attachment = ListedAttachment()
    for number, wire, value in fields(data):
        known = _ATTACHMENT_FIELDS.get(number)
        if known is not None:
            name, read = known
            setattr(attachment, name, read(wire, value))
    return attachment


def _timestamp(data: bytes) -> datetime:
    seconds = nanos = 0
    for number, wire, value in fields(data):
        if number == 1:
            seconds = int64(wire, value)
        elif number == 2:
            nanos = int32(wire, value)
    try:  # as betterproto converts it: whole microseconds after the epoch
        return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
    except OverflowError:
        raise DecodeError(f"a time out of range ({seconds} s)") from None
