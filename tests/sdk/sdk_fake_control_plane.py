"""A small real control plane for the SDK tests: records what clients send, on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from betterproto.lib.google.protobuf import Empty
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.protocol import H2Protocol
from grpclib.server import Server

from flowctl._proto import flowctl as pb

HANG_GUARD = 10.0


class RecordingControlPlane(pb.ControlPlaneBase):
    """Acks every registration with a fresh id (`<requested or type>#<n>`), so tests can tell
    which registration a heartbeat belongs to. `forget_everyone()` plays a restart."""

    def __init__(self, unknown_id_status: Status = Status.NOT_FOUND, first_ack: int = 1) -> None:
        self.first_ack = first_ack
        self.registrations: list[pb.ServiceInfo] = []
        self.acks: list[pb.RegistrationAck] = []
        self.heartbeats: list[pb.ServiceHeartbeat] = []
        self.unknown_id_status = unknown_id_status
        self.reject_with: Status | None = None
        # A busy control plane: each registration is recorded at once, answered this late.
        self.answer_delay = 0.0
        self._known: set[str] = set()
        self._changed = asyncio.Condition()

    async def register(self, service_info: pb.ServiceInfo) -> pb.RegistrationAck:
        if self.reject_with is not None:
            raise GRPCError(self.reject_with, "registration refused by the test")
        name = service_info.service_id or service_info.service_type.name.lower()
        ack = pb.RegistrationAck(
            service_id=f"{name}#{self.first_ack + len(self.registrations)}",
            topic_names=[f"{t}.v1" for t in service_info.output_event_types],
        )
        self._known.add(ack.service_id)
        self.registrations.append(service_info)
        self.acks.append(ack)
        await self._notify()
        await asyncio.sleep(self.answer_delay)
        return ack

    async def heartbeat(self, service_heartbeat: pb.ServiceHeartbeat) -> Empty:
        if service_heartbeat.service_id not in self._known:
            raise GRPCError(
                self.unknown_id_status, f"service {service_heartbeat.service_id} not found"
            )
        self.heartbeats.append(service_heartbeat)
        await self._notify()
        return Empty()

    def forget_everyone(self) -> None:
        self._known.clear()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(HANG_GUARD), self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


def unlistened_socket(port: int = 0) -> socket.socket:
    """A bound loopback socket that does not listen yet: connecting to it is refused until
    a server starts on it, and no one else can take its port meanwhile. Pass the port of a
    closed server to start the next one where the clients expect it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


class _DroppingServer(Server):
    """grpclib's Server.close() leaves idle client connections open and serving; a real
    restart drops them, so this one closes them too (through grpclib internals: test only)."""

    def __init__(self, handlers: list[pb.ControlPlaneBase]) -> None:
        super().__init__(handlers)
        self._protocols: list[H2Protocol] = []

    def _protocol_factory(self) -> H2Protocol:
        protocol = super()._protocol_factory()
        self._protocols.append(protocol)
        return protocol

    def close(self) -> None:
        super().close()
        for protocol in self._protocols:
            if hasattr(protocol, "connection"):
                protocol.connection.close()


@asynccontextmanager
async def serving(
    control_plane: RecordingControlPlane, sock: socket.socket | None = None
) -> AsyncIterator[int]:
    """Serve `control_plane` on `sock` (default: a free loopback port); yields the port."""
    sock = sock or unlistened_socket()
    server = _DroppingServer([control_plane])
    await server.start(sock=sock)
    try:
        yield sock.getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
