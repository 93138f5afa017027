"""The messages flowctl decodes by hand (`flowctl list`'s replies, list_decoding.py; the
heartbeat, heartbeat_decoding.py) give what betterproto's decoding gives, and what they
cannot read is refused instead of guessed (list's full client then asks again)."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowctl._proto import flowctl as pb
from flowctl._proto.flowctl import inspect as pb_inspect
from flowctl.controlplane.heartbeat_decoding import decode_heartbeat
from flowctl.controlplane.json_format import service_list_to_json
from flowctl.controlplane.list_decoding import (
    DecodeError,
    ListedAttachment,
    decode_attachment_list,
    decode_service_list,
)
from flowctl.controlplane.service_types import SERVICE_TYPE_NAMES

texts = st.text(max_size=12)
int32s = st.integers(-(2**31), 2**31 - 1)
moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
statuses = st.builds(
    pb.ServiceStatus,
    service_id=texts,
    service_type=st.integers(0, 9),  # numbers without a name included
    is_healthy=st.booleans(),
    last_heartbeat=moments,
    metrics=st.dictionaries(texts, st.floats(allow_nan=True), max_size=5),
)
attachments = st.builds(
    pb_inspect.ServiceAttachment,
    service_id=texts,
    component_id=texts,
    attached_by=texts,
    unattached_reason=texts,
    run_state=texts,
    restart_attempt=int32s,
    max_restarts=int32s,
    next_start_unix_ms=st.integers(-(2**63), 2**63 - 1),
)


@given(st.lists(statuses, max_size=4))
def test_a_service_list_decodes_as_betterproto_decodes_it(services: list[pb.ServiceStatus]) -> None:
    data = bytes(pb.ServiceList(services=services))
    expected = pb.ServiceList().parse(data)
    decoded = decode_service_list(data)
    # The JSON `list --output json` prints, and every field the table reads.
    assert service_list_to_json(decoded) == service_list_to_json(expected)
    for mine, theirs in zip(decoded.services, expected.services, strict=True):
        assert mine.service_id == theirs.service_id
        assert mine.service_type == int(theirs.service_type)
        assert mine.is_healthy == theirs.is_healthy
        assert mine.last_heartbeat == theirs.last_heartbeat
        assert mine.metrics.keys() == theirs.metrics.keys()
        for key, value in mine.metrics.items():
            assert value == theirs.metrics[key] or (
                math.isnan(value) and math.isnan(theirs.metrics[key])
            )


@given(st.lists(attachments, max_size=4))
def test_an_attachment_list_decodes_as_betterproto_decodes_it(
    listed: list[pb_inspect.ServiceAttachment],
) -> None:
    data = bytes(pb_inspect.AttachmentList(attachments=listed))
    expected = pb_inspect.AttachmentList().parse(data).attachments
    decoded = decode_attachment_list(data)
    assert [vars_of(a) for a in decoded] == [vars_of(a) for a in expected]


@given(
    st.builds(
        pb.ServiceHeartbeat,
        service_id=texts,
        timestamp=moments,
        metrics=st.dictionaries(texts, st.floats(allow_nan=False), max_size=5),
    )
)
def test_a_heartbeat_decodes_as_betterproto_decodes_it(heartbeat: pb.ServiceHeartbeat) -> None:
    data = bytes(heartbeat)
    expected = pb.ServiceHeartbeat().parse(data)
    assert decode_heartbeat(data) == (expected.service_id, expected.metrics)


def test_a_heartbeat_with_repeated_and_unknown_fields_decodes_as_betterproto_does() -> None:
    first = bytes(pb.ServiceHeartbeat(service_id="a", metrics={"x": 1.0}))
    second = bytes(pb.ServiceHeartbeat(service_id="b", metrics={"x": 2.0, "y": 3.0}))
    unknown = b"\x48\x01" + b"\x52\x02hi"  # fields 9 (varint) and 10 (bytes)
    data = first + unknown + second  # concatenated messages merge: the last value counts
    expected = pb.ServiceHeartbeat().parse(data)
    assert (
        decode_heartbeat(data)
        == (expected.service_id, expected.metrics)
        == (
            "b",
            {"x": 2.0, "y": 3.0},
        )
    )


def vars_of(attachment: object) -> dict[str, object]:
    names = [field.name for field in dataclasses.fields(ListedAttachment)]
    return {name: getattr(attachment, name) for name in names}


def test_unknown_fields_are_skipped() -> None:
    known = bytes(pb.ServiceList(services=[pb.ServiceStatus(service_id="a", is_healthy=True)]))
    # Field 9 as a varint, field 10 as bytes, field 11 as fixed32, field 12 as fixed64.
    unknown = b"\x48\x01" + b"\x52\x02hi" + b"\x5d" + bytes(4) + b"\x61" + bytes(8)
    service = known[2:]  # the ServiceStatus inside its field 1
    data = b"\x0a" + bytes((len(service) + len(unknown),)) + service + unknown + unknown
    decoded = decode_service_list(data)
    assert [(s.service_id, s.is_healthy) for s in decoded.services] == [("a", True)]


def test_a_missing_heartbeat_time_is_the_epoch_as_betterproto_says() -> None:
    data = bytes(pb.ServiceList(services=[pb.ServiceStatus(service_id="a")]))
    decoded = decode_service_list(data).services[0]
    assert decoded.last_heartbeat == pb.ServiceList().parse(data).services[0].last_heartbeat
    assert decoded.last_heartbeat == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(0)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x0a\x05abc", id="a field past the end"),
        pytest.param(b"\x0a\x02\x0a\x80", id="a truncated varint"),
        pytest.param(b"\x0a\x03\x0a\x01\xff", id="text that is not UTF-8"),
        pytest.param(b"\x08\x01", id="a message as a varint"),
        pytest.param(b"\x0b", id="wire type 3 (groups)"),
        pytest.param(b"\x02\x00", id="field number 0"),
        pytest.param(b"\x0a\x03\x2a\x01\x10", id="a metric as a varint"),
        pytest.param(
            # last_heartbeat's seconds = 2**62, far past year 9999
            b"\x0a\x0c\x22\x0a\x08" + b"\x80" * 8 + b"\x40",
            id="a time out of range",
        ),
    ],
)
def test_what_it_cannot_read_it_refuses(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_service_list(data)


def test_the_service_type_names_are_the_proto_ones() -> None:
    assert {member.value: member.name for member in pb.ServiceType} == SERVICE_TYPE_NAMES
