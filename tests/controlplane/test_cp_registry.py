"""ServiceRegistry on its own: the contract's behaviour, the janitor, attachment, waiting."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from cp_helpers import START, MetadataAttacher, SteppedClock, source_info

from flowctl._proto import flowctl as pb
from flowctl.controlplane import InMemoryStorage, ServiceNotFound, ServiceRegistry, topic_names
from flowctl.events import EventBus, HealthChanged, HeartbeatReceived, ServiceRegistered

START_NANOS = 1795687200123456000  # START as unix nanoseconds


def drain(events: trio.MemoryReceiveChannel) -> list[object]:
    received = []
    while True:
        try:
            received.append(events.receive_nowait())
        except trio.WouldBlock:
            return received


def test_register_without_id_assigns_type_and_nanos_like_the_original() -> None:
    registry = ServiceRegistry(clock=SteppedClock())
    first = registry.register(source_info())
    second = registry.register(source_info())  # same instant: still unique
    assert first.service_id == f"SERVICE_TYPE_SOURCE-{START_NANOS}"
    assert second.service_id != first.service_id
    assert second.service_id.startswith("SERVICE_TYPE_SOURCE-")


def test_unnamed_service_type_gets_a_numbered_id_and_is_kept() -> None:
    registry = ServiceRegistry(clock=SteppedClock())
    info = pb.ServiceInfo().parse(bytes([0x10, 0x07]))  # service_type = 7
    record = registry.register(info)
    assert record.service_id == f"SERVICE_TYPE_7-{START_NANOS}"
    assert record.service_type == "7"
    assert int(record.to_status().service_type) == 7


def test_register_stores_healthy_now_and_a_given_id_is_kept() -> None:
    clock = SteppedClock()
    registry = ServiceRegistry(clock=clock)
    record = registry.register(source_info(service_id="src"))
    assert record.service_id == "src"
    assert record.healthy
    assert record.last_heartbeat == START
    assert record.last_heartbeat.tzinfo is not None


def test_registering_the_same_id_again_replaces_the_record() -> None:
    registry = ServiceRegistry(clock=SteppedClock())
    registry.register(source_info(service_id="a"))
    registry.register(source_info(service_id="b"))
    registry.register(pb.ServiceInfo(service_id="a", service_type=pb.ServiceType.SINK))
    listed = registry.list()
    assert [r.service_id for r in listed] == ["a", "b"]
    assert listed[0].service_type == "SERVICE_TYPE_SINK"


@pytest.mark.parametrize(
    ("service_type", "expected"),
    [
        (pb.ServiceType.SOURCE, ["ledger.v1", "trade.v1"]),
        (pb.ServiceType.PROCESSOR, ["ledger.v1", "trade.v1"]),
        (pb.ServiceType.SINK, []),
        (pb.ServiceType.UNSPECIFIED, []),
    ],
)
def test_topic_names_only_for_sources_and_processors(
    service_type: pb.ServiceType, expected: list[str]
) -> None:
    info = pb.ServiceInfo(service_type=service_type, output_event_types=["ledger", "trade"])
    assert topic_names(info) == expected


def test_heartbeat_replaces_metrics_and_refreshes_the_time() -> None:
    clock = SteppedClock()
    registry = ServiceRegistry(clock=clock)
    registry.register(source_info(service_id="src"))
    registry.heartbeat("src", {"success_count": 3.0, "error_count": 1.0})
    clock.advance(5)
    record = registry.heartbeat("src", {"success_count": 4.0})
    assert dict(record.metrics) == {"success_count": 4.0}
    assert record.last_heartbeat == clock.now
    assert registry.get("src").metrics == {"success_count": 4.0}


def test_unknown_ids_are_not_found_with_the_originals_message() -> None:
    registry = ServiceRegistry()
    with pytest.raises(ServiceNotFound, match=r"^service ghost not found$"):
        registry.heartbeat("ghost", {})
    with pytest.raises(ServiceNotFound):
        registry.get("ghost")


def test_janitor_marks_silent_services_unhealthy_and_a_heartbeat_revives_them() -> None:
    clock = SteppedClock()
    bus = EventBus()
    events = bus.subscribe()
    registry = ServiceRegistry(heartbeat_ttl=30, clock=clock, events=bus)
    registry.register(source_info(service_id="quiet"))
    registry.register(source_info(service_id="chatty"))

    clock.advance(20)
    registry.heartbeat("chatty", {})
    clock.advance(15)  # quiet: silent 35 s, chatty: 15 s
    assert [r.service_id for r in registry.mark_silent_unhealthy()] == ["quiet"]
    assert [r.healthy for r in registry.list()] == [False, True]
    assert registry.mark_silent_unhealthy() == []  # reported once, not removed

    clock.advance(1)
    registry.heartbeat("quiet", {"uptime_ms": 1.0})
    assert registry.get("quiet").healthy

    health = [e for e in drain(events) if isinstance(e, HealthChanged)]
    assert health == [
        HealthChanged("quiet", None, healthy=False, silent_for=35.0),
        HealthChanged("quiet", None, healthy=True, silent_for=36.0),
    ]


def test_events_name_the_type_and_the_attachment() -> None:
    bus = EventBus()
    events = bus.subscribe()
    registry = ServiceRegistry(events=bus, attacher=MetadataAttacher({"src"}))
    registry.register(source_info(metadata={"component_id": "src"}))
    registry.register(pb.ServiceInfo().parse(bytes([0x10, 0x09])))
    registry.heartbeat("src", {"total_processed": 2.0})
    received = drain(events)
    assert received[0] == ServiceRegistered("src", "SERVICE_TYPE_SOURCE", "src", "by metadata")
    assert isinstance(received[1], ServiceRegistered)
    assert (received[1].service_type, received[1].component_id) == ("9", None)
    assert received[2] == HeartbeatReceived("src", {"total_processed": 2.0})


def test_an_attached_registration_without_id_gets_the_component_id_while_free() -> None:
    attacher = MetadataAttacher({"src"})
    registry = ServiceRegistry(attacher=attacher, clock=SteppedClock())
    first = registry.register(source_info(metadata={"component_id": "src"}))
    again = registry.register(source_info(metadata={"component_id": "src"}))
    assert first.service_id == "src"
    assert first.component_id == "src"
    assert again.service_id.startswith("SERVICE_TYPE_SOURCE-")  # "src" is taken
    assert again.component_id == "src"
    assert attacher.seen[1][1] == {"src"}  # the attacher is told who is attached
    assert registry.attached_components() == {"src"}


def test_the_original_message_is_kept_with_unknown_fields() -> None:
    registry = ServiceRegistry()
    unknown = bytes([0xA2, 0x06, 0x03]) + b"new"  # field 100, a string
    wire = bytes(pb.ServiceInfo(service_id="x", metadata={"k": ""})) + unknown
    record = registry.register(pb.ServiceInfo().parse(wire))
    assert bytes(record.info).endswith(unknown)
    assert record.info.metadata == {"k": ""}


def test_missing_and_unattached_describe_who_has_not_registered() -> None:
    registry = ServiceRegistry(attacher=MetadataAttacher({"src", "sink"}))
    registry.register(source_info(metadata={"component_id": "src"}))
    registry.register(
        pb.ServiceInfo(
            service_id="stray",
            service_type=pb.ServiceType.PROCESSOR,
            input_event_types=["ledger"],
            output_event_types=["trade"],
            metadata={"team": "x"},
        )
    )
    assert registry.missing(["src", "sink"]) == ["sink"]
    [stray] = registry.unattached(["src", "sink"])
    assert stray.describe() == (
        "stray (SERVICE_TYPE_PROCESSOR; inputs: ledger; outputs: trade; metadata: team='x')"
    )


def test_a_storage_transaction_keeps_nothing_when_it_fails() -> None:
    storage = InMemoryStorage()
    registry = ServiceRegistry(storage=storage)
    registry.register(source_info(service_id="kept"))
    with pytest.raises(RuntimeError), storage.transaction():
        storage.delete("kept")
        raise RuntimeError("boom")
    assert [r.service_id for r in storage.list()] == ["kept"]


async def test_wait_for_returns_when_every_id_has_registered() -> None:
    registry = ServiceRegistry(attacher=MetadataAttacher({"proc"}))
    done = trio.Event()

    async def waiter() -> None:
        await registry.wait_for(["src", "proc"])
        done.set()

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            await trio.testing.wait_all_tasks_blocked()
            registry.register(source_info(service_id="src"))  # stands for "src" by its id
            await trio.testing.wait_all_tasks_blocked()
            assert not done.is_set()
            registry.register(source_info(metadata={"component_id": "proc"}))
    assert done.is_set()
