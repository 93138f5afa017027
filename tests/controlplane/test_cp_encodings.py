"""The hand-written encodings of ServiceStatus and ServiceAttachment are byte for byte
what betterproto produces, for any record, unnamed enum numbers and NaN included."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from flowctl._proto import flowctl as pb
from flowctl._proto.flowctl import inspect as pb_inspect
from flowctl.controlplane import Attachment, ServiceRecord
from flowctl.controlplane.run_note import RunNote
from flowctl.controlplane.status_encoding import (
    EncodedListCache,
    encode_attachment,
    encode_status,
)

texts = st.text(max_size=20)
int32s = st.integers(-(2**31), 2**31 - 1)
moments = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)
run_notes = st.none() | st.builds(
    RunNote,
    state=texts,
    restart_attempt=int32s,
    max_restarts=int32s,
    next_start=st.none() | moments,
)
records = st.builds(
    ServiceRecord,
    service_id=texts,
    info=st.builds(pb.ServiceInfo, service_type=int32s),
    healthy=st.booleans(),
    last_heartbeat=moments,
    metrics=st.dictionaries(texts, st.floats(allow_nan=True, allow_infinity=True), max_size=5),
    attachment=st.none() | st.builds(Attachment, component_id=texts, how=texts),
    unattached_reason=st.none() | texts,
    run_note=run_notes,
)


@given(records)
def test_a_status_is_encoded_as_betterproto_does(record: ServiceRecord) -> None:
    assert encode_status(record) == bytes(record.to_status())


@given(records)
def test_an_attachment_is_encoded_as_betterproto_does(record: ServiceRecord) -> None:
    attachment, note = record.attachment, record.run_note
    expected = pb_inspect.ServiceAttachment(
        service_id=record.service_id,
        component_id=attachment.component_id if attachment else "",
        attached_by=attachment.how if attachment else "",
        unattached_reason=record.unattached_reason or "",
        run_state=note.state if note else "",
        restart_attempt=note.restart_attempt if note else 0,
        max_restarts=note.max_restarts if note else 0,
        next_start_unix_ms=note.next_start_unix_ms if note else 0,
    )
    assert encode_attachment(record) == bytes(expected)


@given(moments)
def test_a_next_start_travels_as_whole_unix_milliseconds(moment: datetime) -> None:
    sent = RunNote("restarting", 2, 5, moment).next_start_unix_ms
    whole = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=sent)
    assert whole <= moment < whole + timedelta(milliseconds=1)  # cut to the millisecond


def test_a_list_re_encodes_only_what_changed_and_forgets_what_is_gone() -> None:
    now = datetime.now(UTC)
    first = ServiceRecord("a", pb.ServiceInfo(service_type=1), True, now)
    second = ServiceRecord("b", pb.ServiceInfo(service_type=4), False, now, {"n": math.nan})
    cache = EncodedListCache(encode_status)
    assert pb.ServiceList().parse(cache.encode([first, second])).services[1].service_id == "b"

    changed = ServiceRecord("a", first.info, False, now + timedelta(seconds=1), {"n": 2.0})
    listed = pb.ServiceList().parse(cache.encode([changed])).services
    assert [(s.service_id, s.is_healthy, s.metrics) for s in listed] == [("a", False, {"n": 2.0})]
