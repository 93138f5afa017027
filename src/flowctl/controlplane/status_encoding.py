"""Lists of services answered from bytes encoded once per change of a record.

Encoding a ServiceStatus with betterproto costs 0.3-0.5 ms, so a list of 10,000 services
held the event loop for seconds, and 200 lists at 1,000 services starved heartbeats. Here
each record is encoded by hand (ServiceStatus and ServiceAttachment are a few plain
fields), once, when a list first sees it; records are immutable, so a cached encoding
stays right until the record is replaced. A list is then a join of cached bytes.

The encodings are the ones betterproto produces (tests compare them), so clients see no
difference.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from .records import ServiceRecord

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _varint(value: int) -> bytes:
    if value < 0:  # int32/int64 negatives travel as 64-bit two's complement
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _length_delimited(tag: int, payload: bytes) -> bytes:
    return bytes((tag,)) + _varint(len(payload)) + payload


def encode_status(record: ServiceRecord) -> bytes:
    """flowctl.ServiceStatus for `record`, as protobuf bytes (proto3: defaults omitted)."""
    parts: list[bytes] = []
    if record.service_id:
        parts.append(_length_delimited(0x0A, record.service_id.encode()))
    service_type = int(record.info.service_type)
    if service_type:
        parts.append(b"\x10" + _varint(service_type))
    if record.healthy:
        parts.append(b"\x18\x01")
    parts.append(_length_delimited(0x22, _timestamp(record.last_heartbeat)))
    for key, value in record.metrics.items():
        # Inside a map entry too, defaults are left out (as betterproto's codec does; -0.0
        # counts as 0.0 there): both forms decode the same.
        entry = _length_delimited(0x0A, key.encode()) if key else b""
        if value != 0.0:
            entry += b"\x11" + struct.pack("<d", value)
        parts.append(_length_delimited(0x2A, entry))
    return b"".join(parts)


def encode_attachment(record: ServiceRecord) -> bytes:
    """flowctl.inspect.ServiceAttachment for `record`, as protobuf bytes."""
    attachment = record.attachment
    note = record.run_note
    texts = (
        record.service_id,
        attachment.component_id if attachment else "",
        attachment.how if attachment else "",
        record.unattached_reason or "",
        note.state if note else "",
    )
    parts = [
        _length_delimited(0x0A + 8 * index, text.encode())
        for index, text in enumerate(texts)
        if text
    ]
    if note is not None:
        # Fields 6-8 (int32, int32, int64): varints, left out when 0 as proto3 says.
        numbers = (note.restart_attempt, note.max_restarts, note.next_start_unix_ms)
        parts.extend(
            bytes((0x30 + 8 * index,)) + _varint(number)
            for index, number in enumerate(numbers)
            if number
        )
    return b"".join(parts)


def _timestamp(moment: datetime) -> bytes:
    """google.protobuf.Timestamp, computed as betterproto does (whole microseconds)."""
    offset = moment - _EPOCH
    micros = (offset.days * 86_400 + offset.seconds) * 1_000_000 + offset.microseconds
    seconds, micros = divmod(micros, 1_000_000)
    out = b""
    if seconds:
        out += b"\x08" + _varint(seconds)
    if micros:
        out += b"\x10" + _varint(micros * 1000)
    return out


class EncodedListCache:
    """A list message (its field 1 repeated) of the records it is given, re-encoding
    only records that changed since they were last encoded."""

    def __init__(self, encode_record: Callable[[ServiceRecord], bytes]) -> None:
        self._encode_record = encode_record
        self._entries: dict[str, tuple[ServiceRecord, bytes]] = {}

    def refresh(self, records: Iterable[ServiceRecord]) -> None:
        """Encode those of `records` that changed (to spread the work of a cold list)."""
        for record in records:
            cached = self._entries.get(record.service_id)
            if cached is None or cached[0] is not record:
                self._entries[record.service_id] = (record, self._entry(record))

    def encode(self, records: Iterable[ServiceRecord]) -> bytes:
        previous, current = self._entries, {}
        for record in records:
            cached = previous.get(record.service_id)
            if cached is None or cached[0] is not record:
                cached = (record, self._entry(record))
            current[record.service_id] = cached
        self._entries = current  # forgets records that are gone
        return b"".join(entry for _, entry in current.values())

    def _entry(self, record: ServiceRecord) -> bytes:
        return _length_delimited(0x0A, self._encode_record(record))


# Records encoded between two yields to the event loop (about 5-15 ms of work).
_BATCH = 500


async def encode_in_batches(cache: EncodedListCache, records: list[ServiceRecord]) -> bytes:
    """`cache.encode(records)`, yielding to the event loop between batches: a cold list
    of 10,000 services would otherwise hold it for 0.1-0.5 s. The records are those of
    the moment the call came: a consistent snapshot."""
    for start in range(0, len(records), _BATCH):
        cache.refresh(records[start : start + _BATCH])
        await asyncio.sleep(0)  # let heartbeats in
    return cache.encode(records)
