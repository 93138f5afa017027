"""The SDK registers once, however busy the control plane: it waits for a late answer, and
a retry after a broken connection replaces the first registration instead of adding one."""

from __future__ import annotations

import asyncio
from typing import Any

from grpclib.server import Server, Stream
from sdk_fake_control_plane import RecordingControlPlane, serving
from test_sdk_client import SINK, run, settings_for

from flowctl._proto import flowctl as pb
from flowctl.controlplane.registry import ServiceRegistry
from flowctl.controlplane.service import ControlPlaneService
from flowctl.sdk import ControlPlaneClient


def test_a_control_plane_answering_later_than_a_call_timeout_gets_one_registration() -> None:
    control_plane = RecordingControlPlane()
    # Slower than the client's call timeout: a client that gives up on the call and asks
    # again registers twice.
    control_plane.answer_delay = 1.0

    async def scenario() -> None:
        async with serving(control_plane) as port:
            settings = settings_for(port, registration_timeout=60.0)
            async with ControlPlaneClient(settings, SINK, call_timeout=0.1) as client:
                ack = await client.register()
                assert client.service_id == ack.service_id == "consumer-app#1"

    run(scenario)

    assert [info.service_id for info in control_plane.registrations] == ["consumer-app"]


class _DropsFirstAnswer(ControlPlaneService):
    """flowctl's own service, which registers the first request and then breaks the
    connection instead of answering it: the client cannot know that it went through."""

    dropped = False

    async def _rpc_register(self, stream: Stream[pb.ServiceInfo, pb.RegistrationAck]) -> None:
        if self.dropped:
            await super()._rpc_register(stream)
            return
        self.dropped = True
        await self.register(await stream.recv_message() or pb.ServiceInfo())
        stream._stream.connection._transport.close()  # type: ignore[attr-defined]


def test_a_retry_after_a_lost_answer_replaces_the_first_registration() -> None:
    registry = ServiceRegistry()
    service = _DropsFirstAnswer(registry)

    async def scenario() -> None:
        server = Server([service])
        await server.start("127.0.0.1", 0)
        port: Any = server._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            settings = settings_for(port, registration_timeout=60.0)
            async with ControlPlaneClient(settings, SINK) as client:
                ack = await client.register()
        finally:
            server.close()
            await asyncio.wait_for(server.wait_closed(), 30)
        assert ack.service_id == "consumer-app"

    run(scenario)

    assert service.dropped
    assert [record.service_id for record in registry.list()] == ["consumer-app"]
