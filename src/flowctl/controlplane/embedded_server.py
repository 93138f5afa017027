"""The control plane served inside a trio program: grpclib on trio through trio-asyncio."""

from __future__ import annotations

import errno
import socket
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio
import trio_asyncio
from trio_asyncio import aio_as_trio

from flowctl.errors import PortInUse, RegistrationTimeout
from flowctl.events import EventBus
from flowctl.exception_groups import lone_exceptions_unwrapped

from .attachment import Attacher
from .grpc_server import TrackingServer
from .inspect_service import InspectService
from .records import ServiceRecord
from .registry import ServiceRegistry
from .service import ControlPlaneService
from .storage import Storage

# Upper bound for in-flight handlers to finish once cancelled; they never block, so this
# only guards against a stuck shutdown.
_SHUTDOWN_GRACE = 5.0


@dataclass(frozen=True)
class EmbeddedControlPlane:
    host: str
    port: int  # the real bound port, also when 0 was asked
    registry: ServiceRegistry

    @property
    def endpoint(self) -> str:
        """`host:port` as gRPC clients dial it (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def list_services(self) -> list[ServiceRecord]:
        return self.registry.list()

    async def wait_registered(self, ids: Collection[str], timeout: float) -> None:
        """Return once every id has registered; RegistrationTimeout after `timeout` s."""
        wanted = list(ids)
        with trio.move_on_after(timeout):
            await self.registry.wait_for(wanted)
            return
        raise RegistrationTimeout(
            timeout,
            missing=self.registry.missing(wanted),
            unattached=[record.describe() for record in self.registry.unattached(wanted)],
        )


@asynccontextmanager
async def open_control_plane(
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    heartbeat_ttl: float = 30.0,
    janitor_interval: float = 10.0,
    attacher: Attacher | None = None,
    events: EventBus | None = None,
    storage: Storage | None = None,
) -> AsyncIterator[EmbeddedControlPlane]:
    """Serve the control plane for the duration of the block (with its janitor).

    Raises PortInUse when the address cannot be bound. Leaving the block closes every
    client connection and cancels in-flight calls.
    """
    with lone_exceptions_unwrapped():
        async with _asyncio_loop():
            registry = ServiceRegistry(
                heartbeat_ttl=heartbeat_ttl, attacher=attacher, events=events, storage=storage
            )
            service = ControlPlaneService(registry)
            # Inspect: flowctl's own questions (attachment), kept out of the wire contract.
            server = TrackingServer([service, InspectService(registry)])
            await _start(server, host, port)
            control_plane = EmbeddedControlPlane(host, server.bound_port(), registry)
            service.endpoint = control_plane.endpoint
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(registry.run_janitor, janitor_interval)
                    yield control_plane
                    nursery.cancel_scope.cancel()
            finally:
                await _stop(server)


@asynccontextmanager
async def _asyncio_loop() -> AsyncIterator[None]:
    """Use the caller's trio-asyncio loop, or open one for the block."""
    loop = trio_asyncio.current_loop.get()
    if loop is not None and not loop.is_closed():
        yield
    else:
        async with trio_asyncio.open_loop():
            yield


async def _start(server: TrackingServer, host: str, port: int) -> None:
    try:
        await aio_as_trio(server.start)(host, port)
    except OSError as error:
        raise PortInUse(host, port, _why_unbindable(error, host)) from None


def _why_unbindable(error: OSError, host: str) -> str:
    if isinstance(error, socket.gaierror):
        return f"cannot resolve host {host!r} ({error.strerror})"
    if error.errno == errno.EADDRINUSE:
        return "address already in use"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"address {host!r} is not available on this machine"
    return error.strerror or str(error)


async def _stop(server: TrackingServer) -> None:
    server.close()  # stop listening, cancel in-flight calls
    server.close_connections()  # idle connections would otherwise keep serving
    with trio.CancelScope(shield=True):
        with trio.move_on_after(_SHUTDOWN_GRACE):
            await aio_as_trio(server.wait_closed)()
