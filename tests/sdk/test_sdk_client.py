"""ControlPlaneClient against a real grpclib server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from grpclib.const import Status
from sdk_fake_control_plane import RecordingControlPlane, serving, unlistened_socket

from flowctl._proto import flowctl as pb
from flowctl.errors import ControlPlaneUnavailable
from flowctl.sdk import ComponentSettings, ControlPlaneClient, RegistrationRejected
from flowctl.sdk import ServiceDescription as Service

SINK = Service("sink", input_event_types=["token_transfer.TokenTransferEvent"])


def settings_for(port: int, **overrides: Any) -> ComponentSettings:
    values: dict[str, Any] = {
        "enabled": True,
        "host": "127.0.0.1",
        "port": port,
        "heartbeat_interval": 0.05,
        "service_id": "consumer-app",
        "component_id": "consumer-app",
        "registration_timeout": 10.0,
    }
    return ComponentSettings(**(values | overrides))


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


async def cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_register_sends_the_service_id_and_the_component_id() -> None:
    control_plane = RecordingControlPlane()

    async def scenario() -> None:
        async with serving(control_plane) as port:
            settings = settings_for(port, service_id="sink-7", component_id="consumer-app")
            async with ControlPlaneClient(settings, SINK) as client:
                ack = await client.register()
                assert client.service_id == ack.service_id == "sink-7#1"

    run(scenario)

    [info] = control_plane.registrations
    assert info.service_id == "sink-7"
    assert info.metadata == {"component_id": "consumer-app"}
    assert info.service_type == pb.ServiceType.SINK
    assert info.input_event_types == ["token_transfer.TokenTransferEvent"]


def test_register_without_ids_sends_none_and_keeps_the_assigned_one() -> None:
    control_plane = RecordingControlPlane()
    source = Service("SERVICE_TYPE_SOURCE", output_event_types=["raw.Chunk"])

    async def scenario() -> None:
        async with serving(control_plane) as port:
            settings = settings_for(port, service_id="", component_id="")
            async with ControlPlaneClient(settings, source) as client:
                ack = await client.register()
                assert ack.topic_names == ["raw.Chunk.v1"]
                await client.send_heartbeat({})

    run(scenario)

    [info] = control_plane.registrations
    assert (info.service_id, info.metadata, info.service_type) == ("", {}, pb.ServiceType.SOURCE)
    assert control_plane.heartbeats[0].service_id == "source#1"


def test_heartbeats_use_the_acked_id_and_carry_the_current_metrics() -> None:
    control_plane = RecordingControlPlane()
    counter = itertools.count(1)

    async def scenario() -> None:
        async with (
            serving(control_plane) as port,
            ControlPlaneClient(settings_for(port), SINK) as client,
        ):
            await client.register()
            beating = asyncio.create_task(
                client.heartbeat_forever(
                    lambda: {"total_events_received": next(counter), "error_count": 0}
                )
            )
            await control_plane.wait_for(lambda: len(control_plane.heartbeats) >= 3)
            await cancelled(beating)

    run(scenario)

    beats = control_plane.heartbeats
    assert {beat.service_id for beat in beats} == {"consumer-app#1"}
    received = [beat.metrics["total_events_received"] for beat in beats]
    assert received == sorted(received) and len(set(received)) == len(received)
    assert all(beat.metrics["error_count"] == 0.0 for beat in beats)
    assert all(beat.timestamp is not None for beat in beats)


def test_a_failing_metrics_callable_still_heartbeats(caplog: pytest.LogCaptureFixture) -> None:
    control_plane = RecordingControlPlane()

    def broken_metrics() -> dict[str, float]:
        raise RuntimeError("sensor unplugged")

    async def scenario() -> None:
        async with (
            serving(control_plane) as port,
            ControlPlaneClient(settings_for(port), SINK) as client,
        ):
            await client.register()
            beating = asyncio.create_task(client.heartbeat_forever(broken_metrics))
            await control_plane.wait_for(lambda: len(control_plane.heartbeats) >= 1)
            await cancelled(beating)

    run(scenario)

    assert control_plane.heartbeats[0].metrics == {}
    assert "the metrics callable failed" in caplog.text


def test_register_retries_until_the_control_plane_is_up(caplog: pytest.LogCaptureFixture) -> None:
    control_plane = RecordingControlPlane()
    sock = unlistened_socket()
    port = sock.getsockname()[1]

    async def scenario() -> None:
        async with ControlPlaneClient(settings_for(port), SINK) as client:
            registering = asyncio.create_task(client.register())
            async with asyncio.timeout(10):
                while "not reachable yet" not in caplog.text:
                    await asyncio.sleep(0.01)
            assert not registering.done()
            async with serving(control_plane, sock):
                ack = await registering
                assert ack.service_id == "consumer-app#1"

    with caplog.at_level(logging.INFO, logger="flowctl.sdk"):
        run(scenario)

    assert len(control_plane.registrations) == 1
    assert f"control plane at 127.0.0.1:{port} not reachable yet" in caplog.text
    assert "registered with the control plane" in caplog.text


def test_register_gives_up_after_the_registration_timeout() -> None:
    sock = unlistened_socket()
    port = sock.getsockname()[1]

    async def scenario() -> None:
        # Nothing ever answers on this port: the short timeout cannot race anything.
        settings = settings_for(port, registration_timeout=0.3)
        async with ControlPlaneClient(settings, SINK) as client:
            await client.register()

    with pytest.raises(ControlPlaneUnavailable) as caught:
        run(scenario)

    message = str(caught.value)
    assert f"no control plane answered at 127.0.0.1:{port}" in message
    assert "gave up registering" in message
    sock.close()


def test_a_rejected_registration_is_not_retried() -> None:
    control_plane = RecordingControlPlane()
    control_plane.reject_with = Status.PERMISSION_DENIED

    async def scenario() -> None:
        async with (
            serving(control_plane) as port,
            ControlPlaneClient(settings_for(port), SINK) as client,
        ):
            await client.register()

    with pytest.raises(RegistrationRejected, match="PERMISSION_DENIED"):
        run(scenario)


@pytest.mark.parametrize(
    "forgotten_status",
    [Status.NOT_FOUND, Status.UNKNOWN],  # flowctl's answer, and the original Go server's
)
def test_a_forgotten_service_registers_again(forgotten_status: Status) -> None:
    control_plane = RecordingControlPlane(unknown_id_status=forgotten_status)

    async def scenario() -> None:
        async with (
            serving(control_plane) as port,
            ControlPlaneClient(settings_for(port), SINK) as client,
        ):
            await client.register()
            await client.send_heartbeat({"success_count": 1})
            control_plane.forget_everyone()  # as after a restart
            await client.send_heartbeat({"success_count": 2})
            assert client.service_id == "consumer-app#2"

    run(scenario)

    assert [info.service_id for info in control_plane.registrations] == ["consumer-app"] * 2
    assert [
        (beat.service_id, beat.metrics["success_count"]) for beat in control_plane.heartbeats
    ] == [
        ("consumer-app#1", 1.0),
        ("consumer-app#2", 2.0),
    ]


def test_heartbeats_survive_a_control_plane_restart(caplog: pytest.LogCaptureFixture) -> None:
    before, after = RecordingControlPlane(), RecordingControlPlane(first_ack=100)
    sock = unlistened_socket()
    port = sock.getsockname()[1]

    async def scenario() -> None:
        async with ControlPlaneClient(settings_for(port), SINK) as client:
            async with serving(before, sock):
                await client.register()
            # The control plane is gone: beats fail, and the loop keeps going.
            beating = asyncio.create_task(client.heartbeat_forever(lambda: {"uptime_ms": 1}))
            async with asyncio.timeout(10):
                while "heartbeat to" not in caplog.text:
                    await asyncio.sleep(0.01)
            async with serving(after, unlistened_socket(port)):
                await after.wait_for(lambda: len(after.heartbeats) >= 1)
                await cancelled(beating)

    with caplog.at_level(logging.INFO, logger="flowctl.sdk"):
        run(scenario)

    # The restarted control plane never heard of the old id, so the client registered again.
    assert [ack.service_id for ack in after.acks] == ["consumer-app#100"]
    assert after.heartbeats[0].service_id == "consumer-app#100"
    assert after.registrations[0].metadata == {"component_id": "consumer-app"}
    assert caplog.text.count(f"heartbeat to 127.0.0.1:{port} failed") == 1
    assert "does not know 'consumer-app#1'" in caplog.text


def test_the_first_heartbeat_goes_right_after_registration() -> None:
    # With the default 10 s interval, metrics would otherwise stay empty in `flowctl list`
    # and the status view for the first 10 s of every run.
    control_plane = RecordingControlPlane()

    async def scenario() -> None:
        async with serving(control_plane) as port:
            settings = settings_for(port, heartbeat_interval=3600.0)
            async with ControlPlaneClient(settings, SINK) as client:
                await client.register()
                beating = asyncio.create_task(client.heartbeat_forever(lambda: {"total": 1.0}))
                async with asyncio.timeout(10):  # hang guard: an hour without the fix
                    await control_plane.wait_for(lambda: bool(control_plane.heartbeats))
                await cancelled(beating)

    run(scenario)
    assert control_plane.heartbeats[0].metrics == {"total": 1.0}
