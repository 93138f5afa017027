"""The embedded control plane over real loopback gRPC (grpclib client)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import trio
import trio_asyncio
from betterproto.lib.google.protobuf import Empty
from cp_helpers import MetadataAttacher, call, source_info
from grpclib import GRPCError
from grpclib.client import Channel
from grpclib.const import Cardinality, Status
from grpclib.exceptions import StreamTerminatedError
from trio_asyncio import aio_as_trio

from flowctl._proto import flowctl as pb
from flowctl.controlplane import (
    EmbeddedControlPlane,
    ServiceRegistry,
    SqliteStorage,
    fetch_services,
    normalize_endpoint,
    open_control_plane,
)
from flowctl.errors import ControlPlaneUnavailable, PortInUse, RegistrationTimeout
from flowctl.events import EventBus, HealthChanged


async def test_port_zero_reports_the_real_port_in_the_ack() -> None:
    with trio.fail_after(30):
        async with trio_asyncio.open_loop(), open_control_plane(port=0) as cp:
            assert cp.port != 0
            assert cp.endpoint == f"127.0.0.1:{cp.port}"
            ack = await call(cp.endpoint, lambda stub: stub.register(source_info()))
    assert ack.connection_info == {"control_plane_endpoint": cp.endpoint}
    assert ack.topic_names == ["ledger.v1"]
    assert ack.service_id.startswith("SERVICE_TYPE_SOURCE-")


async def test_works_without_a_loop_opened_by_the_caller() -> None:
    with trio.fail_after(30):
        async with open_control_plane(port=0) as cp:
            assert await cp.list_services() == []


async def test_a_taken_port_is_port_in_use_naming_the_port() -> None:
    with trio.fail_after(30):
        async with open_control_plane(port=0) as cp:
            with pytest.raises(PortInUse) as caught:
                async with open_control_plane(port=cp.port):
                    pytest.fail("a second control plane started on a taken port")
    assert caught.value.port == cp.port
    assert f"127.0.0.1:{cp.port}: address already in use" in str(caught.value)


async def test_an_address_of_another_machine_is_port_in_use() -> None:
    with trio.fail_after(30), pytest.raises(PortInUse, match=r"192\.0\.2\.1:0: .* not available"):
        async with open_control_plane(host="192.0.2.1", port=0):
            pytest.fail("bound an address this machine does not have")


async def test_a_cancelled_block_stops_and_frees_the_port() -> None:
    with trio.fail_after(30):
        with trio.CancelScope() as scope:
            async with open_control_plane(port=0) as cp:
                await call(cp.endpoint, lambda s: s.register(source_info()))
                scope.cancel()
                await trio.sleep_forever()
        async with open_control_plane(port=cp.port) as again:
            assert again.port == cp.port


async def test_errors_from_the_block_come_out_as_themselves() -> None:
    with trio.fail_after(30), pytest.raises(KeyError):
        async with open_control_plane(port=0):
            raise KeyError("from the body")


async def test_register_heartbeat_get_and_list() -> None:
    with trio.fail_after(30):
        async with trio_asyncio.open_loop(), open_control_plane(port=0) as cp:
            await call(cp.endpoint, lambda s: s.register(source_info(service_id="b")))
            await call(
                cp.endpoint,
                lambda s: s.register(pb.ServiceInfo(service_type=pb.ServiceType.SINK)),
            )
            await call(cp.endpoint, lambda s: s.register(source_info(service_id="a")))
            await call(
                cp.endpoint,
                lambda s: s.heartbeat(
                    pb.ServiceHeartbeat(service_id="a", metrics={"success_count": 0.0})
                ),
            )
            status = await call(
                cp.endpoint, lambda s: s.get_service_status(pb.ServiceInfo(service_id="a"))
            )
            listed = await call(cp.endpoint, lambda s: s.list_services(Empty()))
    assert status.is_healthy
    assert status.metrics == {"success_count": 0.0}
    assert status.service_type == pb.ServiceType.SOURCE
    ids = [s.service_id for s in listed.services]
    assert ids[0] == "b" and ids[2] == "a"  # registration order
    assert ids[1].startswith("SERVICE_TYPE_SINK-")


async def test_unknown_ids_are_not_found() -> None:
    with trio.fail_after(30):
        async with trio_asyncio.open_loop(), open_control_plane(port=0) as cp:
            with pytest.raises(GRPCError) as heartbeat:
                await call(
                    cp.endpoint, lambda s: s.heartbeat(pb.ServiceHeartbeat(service_id="ghost"))
                )
            with pytest.raises(GRPCError) as status:
                await call(
                    cp.endpoint,
                    lambda s: s.get_service_status(pb.ServiceInfo(service_id="ghost")),
                )
    assert heartbeat.value.status == Status.NOT_FOUND
    assert heartbeat.value.message == "service ghost not found"
    assert status.value.status == Status.NOT_FOUND


async def test_the_attacher_sees_the_clients_address() -> None:
    attacher = MetadataAttacher({"src"})
    with trio.fail_after(30):
        async with trio_asyncio.open_loop(), open_control_plane(port=0, attacher=attacher) as cp:
            ack = await call(
                cp.endpoint,
                lambda s: s.register(source_info(metadata={"component_id": "src"})),
            )
            [record] = await cp.list_services()
    [(peer, _)] = attacher.seen
    assert peer is not None and peer.host == "127.0.0.1" and peer.port > 0
    assert record.peer == peer
    assert ack.service_id == "src"
    assert record.component_id == "src"


async def test_janitor_marks_unhealthy_and_a_heartbeat_revives() -> None:
    bus = EventBus()
    events = bus.subscribe()

    async def next_health_change() -> HealthChanged:
        async for event in events:
            if isinstance(event, HealthChanged):
                return event
        raise AssertionError("event bus closed")

    def is_healthy(services: pb.ServiceList) -> bool:
        return services.services[0].is_healthy

    with trio.fail_after(30):
        async with open_control_plane(
            port=0, heartbeat_ttl=0.3, janitor_interval=0.1, events=bus
        ) as cp:
            await call(cp.endpoint, lambda s: s.register(source_info(service_id="src")))
            went_silent = await next_health_change()  # silence only grows: certain to come
            assert not is_healthy(await aio_as_trio(fetch_services)(cp.endpoint))
            # From here on the janitor must not strike again, however slow this machine is
            # between the heartbeat and the listing below.
            cp.registry.heartbeat_ttl = 3600
            await call(cp.endpoint, lambda s: s.heartbeat(pb.ServiceHeartbeat(service_id="src")))
            came_back = await next_health_change()
            assert is_healthy(await aio_as_trio(fetch_services)(cp.endpoint))
    assert (went_silent.service_id, went_silent.healthy) == ("src", False)
    assert went_silent.silent_for > 0.3
    assert (came_back.service_id, came_back.healthy) == ("src", True)


async def test_stopping_closes_idle_client_connections() -> None:
    async with trio_asyncio.open_loop():
        host, port = 0, 0
        channel: Channel | None = None

        async def first_call(endpoint: str) -> None:
            nonlocal channel, host, port
            host, port = normalize_endpoint(endpoint)
            channel = Channel(host, port)
            await pb.ControlPlaneStub(channel).list_services(Empty())

        with trio.fail_after(30):
            async with open_control_plane(port=0) as cp:
                await aio_as_trio(first_call)(cp.endpoint)  # the connection stays open
        assert channel is not None
        # The old connection must not keep answering after the control plane stopped, and
        # must be closed, not left hanging: a call that times out (TimeoutError is an
        # OSError too) would mean the connection was held open without an answer.
        with trio.fail_after(30), pytest.raises((OSError, GRPCError, ConnectionError)) as ended:
            await aio_as_trio(pb.ControlPlaneStub(channel).list_services)(Empty(), timeout=20)
        channel.close()
        assert not isinstance(ended.value, TimeoutError), ended.value


async def test_stopping_ends_an_in_flight_call() -> None:
    ended_by: list[BaseException] = []
    call_open = trio.Event()

    async def hold_a_call_open(endpoint: str) -> None:
        host, port = normalize_endpoint(endpoint)
        channel = Channel(host, port)
        try:
            async with channel.request(
                "/flowctl.ControlPlane/Register",
                Cardinality.UNARY_UNARY,
                pb.ServiceInfo,
                pb.RegistrationAck,
            ) as stream:
                await stream.send_request()  # headers only: the server waits for the message
                # A full call on the same connection proves the server saw the first one.
                await pb.ControlPlaneStub(channel).list_services(Empty())
                call_open.set()
                # Only the end of the call is expected to fail; anything else fails the test.
                try:
                    await stream.recv_message()
                except (StreamTerminatedError, GRPCError) as error:
                    ended_by.append(error)
        finally:
            channel.close()

    with trio.fail_after(30):
        async with (
            trio_asyncio.open_loop(),
            trio.open_nursery() as nursery,  # outlives the control plane: sees the call end
            open_control_plane(port=0) as cp,
        ):
            nursery.start_soon(aio_as_trio(hold_a_call_open), cp.endpoint)
            await call_open.wait()
    assert len(ended_by) == 1  # the client saw its call end instead of hanging


async def test_fetch_services_without_a_server_is_unavailable() -> None:
    with socket.socket() as unused:  # bound, never listening: connections are refused
        unused.bind(("127.0.0.1", 0))
        endpoint = f"127.0.0.1:{unused.getsockname()[1]}"
        with trio.fail_after(30):
            async with trio_asyncio.open_loop():
                with pytest.raises(
                    ControlPlaneUnavailable, match=f"{endpoint}: connection refused"
                ):
                    await aio_as_trio(fetch_services)(endpoint, timeout=5)


async def test_wait_registered_returns_once_everyone_registered() -> None:
    with trio.fail_after(30):
        async with (
            open_control_plane(port=0, attacher=MetadataAttacher({"proc"})) as cp,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(cp.wait_registered, ["src", "proc"], 10)
            await call(cp.endpoint, lambda s: s.register(source_info(service_id="src")))
            await call(
                cp.endpoint, lambda s: s.register(source_info(metadata={"component_id": "proc"}))
            )


async def test_wait_registered_times_out_naming_missing_and_unattached() -> None:
    with trio.fail_after(30):
        async with open_control_plane(port=0, attacher=MetadataAttacher({"src", "sink"})) as cp:
            await call(
                cp.endpoint, lambda s: s.register(source_info(metadata={"component_id": "src"}))
            )
            await call(
                cp.endpoint,
                lambda s: s.register(
                    pb.ServiceInfo(service_id="stray", service_type=pb.ServiceType.SINK)
                ),
            )
            with pytest.raises(RegistrationTimeout) as caught:
                await cp.wait_registered(["src", "sink"], timeout=0.2)
    assert caught.value.missing == ["sink"]
    assert caught.value.unattached == ["stray (SERVICE_TYPE_SINK)"]
    assert "'sink' never registered" in str(caught.value)


def test_an_ipv6_endpoint_is_bracketed() -> None:
    assert EmbeddedControlPlane("::1", 8080, ServiceRegistry()).endpoint == "[::1]:8080"


async def test_a_storage_that_cannot_write_answers_unavailable(tmp_path: Path) -> None:
    with SqliteStorage(tmp_path / "registry.sqlite3") as storage:
        async with open_control_plane(port=0, storage=storage) as cp:
            ack = await call(
                cp.endpoint,
                lambda s: s.register(pb.ServiceInfo(service_type=pb.ServiceType.SINK)),
            )
            storage._connection.execute("PRAGMA query_only = ON")  # as a full disk would
            with pytest.raises(GRPCError) as caught:
                await call(
                    cp.endpoint,
                    lambda s: s.heartbeat(pb.ServiceHeartbeat(service_id=ack.service_id)),
                )
    assert caught.value.status == Status.UNAVAILABLE
    assert "cannot write" in str(caught.value.message)
